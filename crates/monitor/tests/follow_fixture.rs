//! The follower against a fixture RFC 6962 log that the test controls: it serves
//! honest trees, then forks, rolls back, signs with the wrong key and serves entries
//! that do not hash to its root. Each misbehaviour must be reported as such, and an
//! honest log must yield each watched certificate exactly once.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use merkle::CompactTree;
use merkle::proof::MemoryHashes;
use monitor::client::Client;
use monitor::follow::{AlertKind, FollowError, LogApi, LogTarget, follow_once};
use monitor::loglist::LogKey;
use monitor::{LogState, WatchRule};
use pki::ct::merkle_tree_leaf;
use pki::tls::Codec;
use pki::{EcdsaP256Signer, SignedEntry, TimestampedEntry};
use rcgen::{CertificateParams, KeyPair, SanType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the fixture log currently serves.
struct View {
    leaves: Vec<Vec<u8>>,
    /// Flip a byte of every hash tile served (hashes that do not fold to the root).
    corrupt_hash_tiles: bool,
    /// Signs the tree head (the pinned key, or another one).
    signer: Arc<EcdsaP256Signer>,
    /// Serve these leaves from get-entries instead (entries that do not match the root).
    served_leaves: Option<Vec<Vec<u8>>>,
}

fn tree_of(leaves: &[Vec<u8>]) -> (CompactTree, MemoryHashes) {
    let mut tree = CompactTree::new();
    let mut hashes = MemoryHashes::default();
    for l in leaves {
        tree.append_data(l, |id, h| hashes.insert(id, h)).unwrap();
    }
    (tree, hashes)
}

fn query(path: &str, name: &str) -> Option<u64> {
    let q = path.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

fn answer(view: &View, path: &str) -> (u16, String) {
    let (tree, mut hashes) = tree_of(&view.leaves);
    if path.ends_with("/ct/v1/get-sth") {
        let ts = 1_700_000_000_000 + tree.size();
        let msg = pki::ct::tree_head_signed_data(ts, tree.size(), &tree.root());
        let mut sig = Vec::new();
        view.signer
            .sign_digitally_signed(&msg)
            .unwrap()
            .encode(&mut sig)
            .unwrap();
        let body = serde_json::json!({
            "tree_size": tree.size(), "timestamp": ts,
            "sha256_root_hash": B64.encode(tree.root()),
            "tree_head_signature": B64.encode(sig),
        });
        return (200, body.to_string());
    }
    if path.contains("/ct/v1/get-sth-consistency") {
        let (Some(first), Some(second)) = (query(path, "first"), query(path, "second")) else {
            return (400, "{}".into());
        };
        return match merkle::consistency_proof(first, second, &mut hashes) {
            Ok(p) => (
                200,
                serde_json::json!({"consistency": p.iter().map(|h| B64.encode(h)).collect::<Vec<_>>()})
                    .to_string(),
            ),
            Err(_) => (400, "{}".into()),
        };
    }
    if path.contains("/ct/v1/get-entries") {
        let leaves = view.served_leaves.as_ref().unwrap_or(&view.leaves);
        let (Some(start), Some(end)) = (query(path, "start"), query(path, "end")) else {
            return (400, "{}".into());
        };
        let entries: Vec<_> = leaves
            .iter()
            .skip(start as usize)
            .take((end - start + 1) as usize)
            .map(|l| serde_json::json!({"leaf_input": B64.encode(l), "extra_data": ""}))
            .collect();
        return (200, serde_json::json!({ "entries": entries }).to_string());
    }
    if path.ends_with("/checkpoint") {
        return (200, checkpoint(view, &tree));
    }
    if let Some(tile) = path.split_once("/log/").map(|(_, t)| t)
        && let Ok(merkle::tiles::TilePath::Data { index, width }) =
            merkle::tiles::parse_tile_path(tile)
    {
        let leaves = view.served_leaves.as_ref().unwrap_or(&view.leaves);
        let start = (index * 256) as usize;
        let mut out = Vec::new();
        for l in leaves.iter().skip(start).take(usize::from(width)) {
            let entry = pki::ct::MerkleTreeLeaf::read_bytes(l)
                .unwrap()
                .timestamped_entry;
            pki::TileLeaf {
                entry,
                pre_certificate: None,
                chain_fingerprints: Vec::new(),
            }
            .encode(&mut out)
            .unwrap();
        }
        // Binary bodies travel base64-free: the fixture writes raw bytes (see serve).
        return (200, latin1(&out));
    }
    if let Some(tile) = path.split_once("/log/").map(|(_, t)| t)
        && let Ok(merkle::tiles::TilePath::Hashes(id)) = merkle::tiles::parse_tile_path(tile)
    {
        let mut out = Vec::new();
        for i in 0..u64::from(id.width) {
            let node = merkle::NodeId {
                level: id.level * merkle::tiles::TILE_HEIGHT,
                index: id.index * merkle::tiles::TILE_WIDTH + i,
            };
            let Some(hash) = hashes.nodes.get(&node) else {
                return (404, "{}".into());
            };
            out.extend_from_slice(hash);
        }
        if view.corrupt_hash_tiles {
            out[0] ^= 1;
        }
        return (200, latin1(&out));
    }
    (404, "{}".into())
}

/// Bytes carried in a `String` one char per byte (U+0000..U+00FF), turned back into
/// the same bytes by [`serve`]; keeps the fixture's plumbing text-only.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

const ORIGIN: &str = "fixture.example/log";

/// A static-ct-api checkpoint signed (RFC6962NoteSignature) by the view's signer.
fn checkpoint(view: &View, tree: &CompactTree) -> String {
    let ts = 1_700_000_000_000 + tree.size();
    let text = merkle::checkpoint::Checkpoint::new(ORIGIN, tree.size(), tree.root()).to_text();
    let msg = pki::ct::tree_head_signed_data(ts, tree.size(), &tree.root());
    let ds = view.signer.sign_digitally_signed(&msg).unwrap();
    let mut note = merkle::note::SignedNote::new(text).unwrap();
    note.signatures.push(
        pki::rfc6962_note::rfc6962_note_signature(ORIGIN, &view.signer.spki_der(), ts, &ds)
            .unwrap(),
    );
    note.encode()
}

/// A one-request-per-connection HTTP/1.1 server over the shared view.
async fn serve(view: Arc<Mutex<View>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let view = view.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, body) = answer(&view.lock().unwrap(), &path);
                // Tiles travel as latin-1 chars (see `latin1`), the rest as UTF-8.
                let body: Vec<u8> = if path.contains("/tile/") {
                    body.chars().map(|c| c as u32 as u8).collect()
                } else {
                    body.into_bytes()
                };
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                resp.extend_from_slice(&body);
                let _ = sock.write_all(&resp).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/log")
}

/// An x509 entry for a self-signed certificate naming `email`.
fn leaf(email: &str, ts: u64) -> Vec<u8> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::Rfc822Name(email.try_into().unwrap())];
    let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    merkle_tree_leaf(&TimestampedEntry {
        timestamp: ts,
        entry: SignedEntry::X509(cert.der().to_vec()),
        extensions: Vec::new(),
    })
}

struct Fixture {
    view: Arc<Mutex<View>>,
    target: LogTarget,
    client: Client,
    rules: Vec<WatchRule>,
}

impl Fixture {
    async fn new(leaves: Vec<Vec<u8>>) -> Self {
        Self::with_api(leaves, LogApi::Rfc6962).await
    }

    async fn with_api(leaves: Vec<Vec<u8>>, api: LogApi) -> Self {
        let signer = Arc::new(EcdsaP256Signer::generate().unwrap());
        let key = LogKey {
            description: "fixture".into(),
            spki_der: signer.spki_der(),
            log_id: signer.log_id(),
            url: String::new(),
        };
        let view = Arc::new(Mutex::new(View {
            leaves,
            corrupt_hash_tiles: false,
            signer,
            served_leaves: None,
        }));
        let url = serve(view.clone()).await;
        Self {
            view,
            target: LogTarget::new(&url, key, api),
            client: Client::new().unwrap(),
            rules: vec!["email:watched@example.com".parse().unwrap()],
        }
    }

    async fn follow(&self, prev: Option<&LogState>) -> Result<monitor::follow::Scan, FollowError> {
        follow_once(
            &self.client,
            &self.target,
            prev,
            &self.rules,
            &mut |_, _| {},
        )
        .await
    }
}

fn alert_kind(r: Result<monitor::follow::Scan, FollowError>) -> AlertKind {
    match r {
        Err(FollowError::Misbehaviour(a)) => a.kind,
        Err(e) => panic!("expected an alert, got error {e}"),
        Ok(s) => panic!(
            "expected an alert, got a scan to size {}",
            s.state.tree_size
        ),
    }
}

fn honest_leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let email = if i % 3 == 0 {
                "watched@example.com"
            } else {
                "other@example.com"
            };
            leaf(email, 1_000 + i as u64)
        })
        .collect()
}

#[tokio::test]
async fn honest_log_reports_each_watched_certificate_exactly_once() {
    let all = honest_leaves(7);
    let f = Fixture::new(all[..4].to_vec()).await;
    let first = f.follow(None).await.unwrap();
    assert_eq!(first.state.tree_size, 4);
    let indices: Vec<u64> = first.matches.iter().map(|m| m.leaf_index).collect();
    assert_eq!(indices, vec![0, 3]);
    assert_eq!(first.matches[0].entry_type, "x509");
    // Nothing new: nothing reported again.
    let again = f.follow(Some(&first.state)).await.unwrap();
    assert!(again.matches.is_empty());
    // The log grows: only the new match, after a verified consistency proof.
    f.view.lock().unwrap().leaves = all.clone();
    let grown = f.follow(Some(&again.state)).await.unwrap();
    assert_eq!(grown.state.tree_size, 7);
    let indices: Vec<u64> = grown.matches.iter().map(|m| m.leaf_index).collect();
    assert_eq!(indices, vec![6]);
}

#[tokio::test]
async fn a_forked_tree_head_is_detected() {
    let f = Fixture::new(honest_leaves(3)).await;
    let state = f.follow(None).await.unwrap().state;
    // A larger tree that does not extend the verified one, with a consistency proof
    // that is valid for that other tree.
    let mut forked = honest_leaves(5);
    forked[1] = leaf("someone@example.com", 5);
    f.view.lock().unwrap().leaves = forked;
    assert_eq!(alert_kind(f.follow(Some(&state)).await), AlertKind::Fork);
    // Same size, different root.
    f.view.lock().unwrap().leaves = honest_leaves(3);
    assert_eq!(alert_kind(f.follow(Some(&state)).await), AlertKind::Fork);
}

#[tokio::test]
async fn a_rolled_back_tree_size_is_detected() {
    let leaves = honest_leaves(4);
    let f = Fixture::new(leaves.clone()).await;
    let state = f.follow(None).await.unwrap().state;
    f.view.lock().unwrap().leaves = leaves[..2].to_vec();
    assert_eq!(
        alert_kind(f.follow(Some(&state)).await),
        AlertKind::SizeDecreased
    );
}

#[tokio::test]
async fn a_tree_head_signed_by_another_key_is_detected() {
    let f = Fixture::new(honest_leaves(2)).await;
    f.view.lock().unwrap().signer = Arc::new(EcdsaP256Signer::generate().unwrap());
    assert_eq!(alert_kind(f.follow(None).await), AlertKind::BadSignature);
}

#[tokio::test]
async fn entries_that_do_not_hash_to_the_signed_root_are_detected() {
    let leaves = honest_leaves(5);
    let f = Fixture::new(leaves[..2].to_vec()).await;
    let state = f.follow(None).await.unwrap().state;
    let mut served = leaves.clone();
    served[3] = leaf("watched@example.com", 9_999);
    {
        let mut v = f.view.lock().unwrap();
        v.leaves = leaves;
        v.served_leaves = Some(served);
    }
    let r = f.follow(Some(&state)).await;
    assert_eq!(alert_kind(r), AlertKind::BadEntries);
}

#[tokio::test]
async fn a_state_pinned_to_another_key_is_refused() {
    let f = Fixture::new(honest_leaves(2)).await;
    let mut state = f.follow(None).await.unwrap().state;
    state.log_id = B64.encode([9u8; 32]);
    assert!(matches!(
        f.follow(Some(&state)).await,
        Err(FollowError::Config(_))
    ));
}

#[tokio::test]
async fn tiles_resume_mid_tile_and_report_each_match_once() {
    let all = honest_leaves(520);
    let f = Fixture::with_api(all[..200].to_vec(), LogApi::Tiles).await;
    let first = f.follow(None).await.unwrap();
    assert_eq!(first.state.tree_size, 200);
    assert_eq!(first.state.origin.as_deref(), Some(ORIGIN));
    assert_eq!(first.matches.len(), 67);
    // Grows across two tile boundaries, starting inside the partial tile it read.
    f.view.lock().unwrap().leaves = all;
    let grown = f.follow(Some(&first.state)).await.unwrap();
    assert_eq!((grown.state.tree_size, grown.entries), (520, 320));
    let indices: Vec<u64> = grown.matches.iter().map(|m| m.leaf_index).collect();
    let expected: Vec<u64> = (200..520).filter(|i| i % 3 == 0).collect();
    assert_eq!(indices, expected);
}

#[tokio::test]
async fn tiles_with_a_bad_checkpoint_signature_or_wrong_data_are_detected() {
    let leaves = honest_leaves(5);
    let f = Fixture::with_api(leaves.clone(), LogApi::Tiles).await;
    let good = Arc::clone(&f.view.lock().unwrap().signer);
    f.view.lock().unwrap().signer = Arc::new(EcdsaP256Signer::generate().unwrap());
    assert_eq!(alert_kind(f.follow(None).await), AlertKind::BadSignature);
    let mut served = leaves;
    served[2] = leaf("x@example.com", 1);
    {
        let mut v = f.view.lock().unwrap();
        v.signer = good;
        v.served_leaves = Some(served);
    }
    assert_eq!(alert_kind(f.follow(None).await), AlertKind::BadEntries);
}

/// Starting at the head reads no entries: the compact range comes from the hash
/// tiles (a peak two tile levels up here) and must fold to the signed root. Later
/// passes verify and report only what came after; tiles that do not fold to the root
/// are misbehaviour; a log without tiles cannot be started at its head.
#[tokio::test]
async fn a_monitor_can_start_at_the_head_from_the_hash_tiles() {
    let all = honest_leaves(700);
    let f = Fixture::with_api(all[..520].to_vec(), LogApi::Tiles).await;
    let state = monitor::follow::state_at_head(&f.client, &f.target)
        .await
        .unwrap();
    let (tree, _) = tree_of(&all[..520]);
    assert_eq!(state.tree_size, 520);
    assert_eq!(state.root_hash, B64.encode(tree.root()));
    assert_eq!(state.origin.as_deref(), Some(ORIGIN));
    let same = f.follow(Some(&state)).await.unwrap();
    assert_eq!((same.entries, same.matches.len()), (0, 0));

    f.view.lock().unwrap().leaves = all;
    let grown = f.follow(Some(&state)).await.unwrap();
    assert_eq!((grown.state.tree_size, grown.entries), (700, 180));
    let indices: Vec<u64> = grown.matches.iter().map(|m| m.leaf_index).collect();
    let expected: Vec<u64> = (520..700).filter(|i| i % 3 == 0).collect();
    assert_eq!(indices, expected);

    f.view.lock().unwrap().corrupt_hash_tiles = true;
    let err = monitor::follow::state_at_head(&f.client, &f.target).await;
    match err {
        Err(FollowError::Misbehaviour(a)) => assert_eq!(a.kind, AlertKind::BadEntries, "{a}"),
        other => panic!("expected an alert, got {other:?}"),
    }
    let rfc = Fixture::new(honest_leaves(3)).await;
    let err = monitor::follow::state_at_head(&rfc.client, &rfc.target).await;
    assert!(matches!(err, Err(FollowError::Config(_))), "{err:?}");
}
