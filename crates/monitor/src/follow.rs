//! Following one log: verify the new tree head, prove it consistent with the last
//! verified one, download the new entries, hash them back to the signed root, and
//! match them against the watch rules.
//!
//! Nothing a log says is used before it is verified: matches found in a batch of
//! entries are handed out only after the whole batch hashed to the signed root, and
//! the returned state is written by the caller only after that. Memory is the compact
//! range of the tree (`O(log n)` hashes), a window of pages or tiles in flight, and the
//! matches of one batch.

use std::collections::VecDeque;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use merkle::tiles::{TILE_HEIGHT, TILE_WIDTH, data_tile_path};
use merkle::{CompactTree, Hash, TileId, TileSource};
use pki::ct::MerkleTreeLeaf;
use pki::ct_api::{GetEntriesResponse, GetSthConsistencyResponse, GetSthResponse};
use pki::rfc6962_note::{Rfc6962NoteSignature, Rfc6962NoteVerifier};
use pki::tls::Codec;
use pki::{SignedEntry, TileLeaf, TimestampedEntry};
use serde::Serialize;

use crate::client::{Client, HttpError, MAX_CHECKPOINT_BYTES, MAX_TILE_BYTES, log_base};
use crate::identity::{Identity, identity_of_cert_der, identity_of_tbs_der};
use crate::loglist::LogKey;
use crate::rules::WatchRule;
use crate::state::{LogState, StateError};

/// get-entries pages requested (RFC 6962 logs may answer with fewer).
pub const ENTRIES_PAGE: u64 = 256;
/// Pages or tiles fetched ahead of the one being hashed.
pub const PREFETCH: usize = 4;

/// How a log is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogApi {
    /// RFC 6962 §4: get-sth, get-sth-consistency, get-entries.
    Rfc6962,
    /// c2sp.org/static-ct-api: `checkpoint` and `tile/data/…`.
    Tiles,
}

/// The kinds of misbehaviour a monitor exists to catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// A tree head whose signature does not verify with the pinned key.
    BadSignature,
    /// A tree smaller than one the log already signed.
    SizeDecreased,
    /// Two signed heads that cannot both be views of one append-only tree.
    Fork,
    /// Entries that do not hash to the signed root, or that cannot be decoded.
    BadEntries,
}

/// Evidence that a log broke its promises.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub log: String,
    pub kind: AlertKind,
    pub detail: String,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "log {} misbehaved ({:?}): {}",
            self.log, self.kind, self.detail
        )
    }
}

/// Why following a log stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The log misbehaved: alert and exit with [`crate::EXIT_MISBEHAVIOUR`].
    #[error("{0}")]
    Misbehaviour(Alert),
    /// The log could not be read (network, status, malformed answer): try again later.
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    State(#[from] StateError),
    /// The configuration disagrees with the state (e.g. a different key for the log).
    #[error("{0}")]
    Config(String),
}

/// One certificate that matched a rule.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub log: String,
    pub leaf_index: u64,
    /// The entry's timestamp (the SCT's), ms since the epoch.
    pub timestamp: u64,
    pub entry_type: &'static str,
    pub rule: String,
    pub matched: String,
    pub identity: Identity,
}

/// A log to follow and the key its heads must verify with.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The log's URL prefix, with a trailing slash.
    pub url: String,
    pub key: LogKey,
    pub api: LogApi,
}

impl LogTarget {
    pub fn new(url: &str, key: LogKey, api: LogApi) -> Self {
        Self {
            url: log_base(url),
            key,
            api,
        }
    }

    fn alert(&self, kind: AlertKind, detail: impl Into<String>) -> FollowError {
        FollowError::Misbehaviour(Alert {
            log: self.url.clone(),
            kind,
            detail: detail.into(),
        })
    }
}

/// The result of one pass over a log.
#[derive(Debug)]
pub struct Scan {
    /// The newly verified state, to persist.
    pub state: LogState,
    /// Matches in the new entries, in log order.
    pub matches: Vec<Match>,
    /// Entries downloaded and verified.
    pub entries: u64,
    /// Entries whose certificate did not parse (hashed and verified, but not matched).
    pub unparsed: u64,
}

/// Picks the API: a log that serves a `checkpoint` is read through its tiles (cheaper
/// for the log, cacheable), otherwise through RFC 6962 `get-entries`.
pub async fn detect_api(client: &Client, url: &str) -> LogApi {
    let url = format!("{}checkpoint", log_base(url));
    match client.get_bytes(&url, MAX_CHECKPOINT_BYTES).await {
        Ok(_) => LogApi::Tiles,
        Err(_) => LogApi::Rfc6962,
    }
}

/// A tree head whose signature verified.
struct VerifiedHead {
    size: u64,
    root: Hash,
    timestamp: u64,
    origin: Option<String>,
}

async fn fetch_head(client: &Client, t: &LogTarget) -> Result<VerifiedHead, FollowError> {
    match t.api {
        LogApi::Rfc6962 => {
            let malformed = || {
                t.alert(
                    AlertKind::BadSignature,
                    "get-sth answer has a malformed root or signature",
                )
            };
            let head = client
                .get_ct_json::<GetSthResponse>(&format!("{}ct/v1/get-sth", t.url))
                .await?
                .map_err(|_| malformed())?
                .into_tree_head()
                .map_err(|_| malformed())?;
            head.verify(&t.key.spki_der).map_err(|e| {
                t.alert(
                    AlertKind::BadSignature,
                    format!("tree head of size {} does not verify: {e}", head.tree_size),
                )
            })?;
            Ok(VerifiedHead {
                size: head.tree_size,
                root: head.root_hash,
                timestamp: head.timestamp,
                origin: None,
            })
        }
        LogApi::Tiles => {
            let url = format!("{}checkpoint", t.url);
            let bytes = client.get_bytes(&url, MAX_CHECKPOINT_BYTES).await?;
            let malformed = |reason: String| HttpError::Malformed {
                url: url.clone(),
                reason,
            };
            let text = std::str::from_utf8(&bytes).map_err(|e| malformed(e.to_string()))?;
            let note = SignedNote::parse(text).map_err(|e| malformed(e.to_string()))?;
            let checkpoint = Checkpoint::parse(&note.text).map_err(|e| malformed(e.to_string()))?;
            let verifier = Rfc6962NoteVerifier::new(&checkpoint.origin, &t.key.spki_der)
                .map_err(|e| malformed(e.to_string()))?;
            note.verify(&[&verifier]).map_err(|e| {
                t.alert(
                    AlertKind::BadSignature,
                    format!(
                        "checkpoint of size {} does not verify: {e}",
                        checkpoint.size
                    ),
                )
            })?;
            // The timestamp of the (verified) signature by the pinned key.
            let timestamp = note
                .signatures
                .iter()
                .filter(|s| s.key_id == merkle::note::NoteVerifier::key_id(&verifier))
                .find_map(|s| Rfc6962NoteSignature::decode_ecdsa(&s.signature))
                .map(|s| s.timestamp)
                .unwrap_or(0);
            Ok(VerifiedHead {
                size: checkpoint.size,
                root: checkpoint.root,
                timestamp,
                origin: Some(checkpoint.origin),
            })
        }
    }
}

/// The state of a log at its current head, for a monitor that starts there instead of
/// reading every entry since the log began (a real log holds billions). The head's
/// signature is verified and its compact range is read from the log's hash tiles and
/// must fold to the signed root; the entries before the head are taken on trust, not
/// checked. Later passes from this state verify everything as usual. Only logs that
/// serve tiles publish the hashes this needs.
pub async fn state_at_head(client: &Client, t: &LogTarget) -> Result<LogState, FollowError> {
    if t.api != LogApi::Tiles {
        return Err(FollowError::Config(format!(
            "{}: starting at the head needs a log that serves tiles (static-ct-api)",
            t.url
        )));
    }
    let head = fetch_head(client, t).await?;
    let peak_ids = merkle::tree::peak_ids(head.size);
    // Each peak is a complete subtree; its bottom row lies in exactly one hash tile.
    let mut tiles: Vec<TileId> = peak_ids
        .iter()
        .filter_map(|node| {
            let base = node.index << (node.level % TILE_HEIGHT);
            TileId::in_tree(node.level / TILE_HEIGHT, base / TILE_WIDTH, head.size)
        })
        .collect();
    tiles.dedup();
    let mut fetched = FetchedTiles(Vec::with_capacity(tiles.len()));
    for tile in tiles {
        let url = format!("{}{}", t.url, tile.path());
        fetched
            .0
            .push((tile, client.get_bytes(&url, MAX_TILE_BYTES).await?));
    }
    let bad = |e: String| {
        t.alert(
            AlertKind::BadEntries,
            format!("hash tiles at size {}: {e}", head.size),
        )
    };
    let tree =
        merkle::resume_tree(head.size, &head.root, fetched).map_err(|e| bad(e.to_string()))?;
    Ok(LogState::new(
        &t.key.log_id,
        head.origin,
        &tree,
        head.timestamp,
    ))
}

/// Hash tiles fetched ahead, served to [`TileHashSource`] (which is synchronous).
struct FetchedTiles(Vec<(TileId, Vec<u8>)>);

impl TileSource for FetchedTiles {
    type Error = String;

    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, String> {
        self.0
            .iter()
            .find(|(id, _)| *id == tile)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| format!("tile {} was not fetched", tile.path()))
    }
}

/// One pass: from the last verified state (`prev`, `None` on the first run) to the
/// log's current head. `progress(done, total)` is called as entries are verified.
pub async fn follow_once(
    client: &Client,
    t: &LogTarget,
    prev: Option<&LogState>,
    rules: &[WatchRule],
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Scan, FollowError> {
    let log_id_b64 = B64.encode(t.key.log_id);
    let (mut tree, prev_root, prev_ts) = match prev {
        Some(p) => {
            if p.log_id != log_id_b64 {
                return Err(FollowError::Config(format!(
                    "the state file pinned another key for {} (log id {}, now {}); refusing to re-trust: remove the log from the state file to start over",
                    t.url, p.log_id, log_id_b64
                )));
            }
            (p.tree()?, p.root()?, p.timestamp)
        }
        None => (CompactTree::new(), merkle::EMPTY_ROOT, 0),
    };
    let head = fetch_head(client, t).await?;
    if let (Some(p), Some(origin)) = (prev.and_then(|p| p.origin.as_ref()), &head.origin)
        && p != origin
    {
        return Err(t.alert(
            AlertKind::Fork,
            format!("checkpoint origin changed from {p:?} to {origin:?}"),
        ));
    }
    // Keep the pinned origin when this pass read the RFC 6962 API, which has none.
    let origin = head
        .origin
        .clone()
        .or_else(|| prev.and_then(|p| p.origin.clone()));
    let old_size = tree.size();
    if head.size < old_size {
        return Err(t.alert(
            AlertKind::SizeDecreased,
            format!(
                "signed tree size {} is smaller than the verified size {old_size}",
                head.size
            ),
        ));
    }
    if head.size == old_size {
        if head.root != prev_root {
            return Err(t.alert(
                AlertKind::Fork,
                format!(
                    "two different roots signed for tree size {old_size}: {} (verified) and {}",
                    B64.encode(prev_root),
                    B64.encode(head.root)
                ),
            ));
        }
        return Ok(Scan {
            state: LogState::new(&t.key.log_id, origin, &tree, head.timestamp.max(prev_ts)),
            matches: Vec::new(),
            entries: 0,
            unparsed: 0,
        });
    }
    if t.api == LogApi::Rfc6962 && old_size > 0 {
        // RFC 6962 §4.4 / RFC 9162 §2.1.4.2. Cheap, and it catches a fork before any
        // entry is downloaded. (Tiled logs have no proof endpoint: there, rebuilding
        // the new root from the old compact range plus the new entries is the proof.)
        let url = format!(
            "{}ct/v1/get-sth-consistency?first={old_size}&second={}",
            t.url, head.size
        );
        let proof: Vec<Hash> = client
            .get_ct_json::<GetSthConsistencyResponse>(&url)
            .await?
            .map_err(|_| t.alert(AlertKind::Fork, "consistency proof is not base64 hashes"))?
            .consistency;
        merkle::verify_consistency(old_size, head.size, &prev_root, &head.root, &proof).map_err(
            |e| {
                t.alert(
                    AlertKind::Fork,
                    format!(
                        "tree head of size {} is not consistent with the verified head of size {old_size}: {e}",
                        head.size
                    ),
                )
            },
        )?;
    }
    let mut scan = Scan {
        state: LogState::new(&t.key.log_id, None, &tree, prev_ts),
        matches: Vec::new(),
        entries: 0,
        unparsed: 0,
    };
    let total = head.size - old_size;
    progress(0, total);
    {
        let mut sink = EntrySink {
            target: t,
            tree: &mut tree,
            rules,
            scan: &mut scan,
        };
        match t.api {
            LogApi::Rfc6962 => {
                fetch_entries(client, t, old_size, head.size, &mut sink, progress).await?
            }
            LogApi::Tiles => {
                fetch_tiles(client, t, old_size, head.size, &mut sink, progress).await?
            }
        }
    }
    if tree.size() != head.size || tree.root() != head.root {
        return Err(t.alert(
            AlertKind::BadEntries,
            format!(
                "entries {old_size}..{} do not hash to the signed root {} (got {})",
                head.size,
                B64.encode(head.root),
                B64.encode(tree.root())
            ),
        ));
    }
    scan.state = LogState::new(&t.key.log_id, origin, &tree, head.timestamp);
    Ok(scan)
}

/// Where downloaded entries go: hashed onto the tree, parsed, matched.
struct EntrySink<'a> {
    target: &'a LogTarget,
    tree: &'a mut CompactTree,
    rules: &'a [WatchRule],
    scan: &'a mut Scan,
}

impl EntrySink<'_> {
    fn push(
        &mut self,
        leaf_hash: Hash,
        entry: Option<&TimestampedEntry>,
    ) -> Result<(), FollowError> {
        let index = self
            .tree
            .append_hash(leaf_hash, |_, _| {})
            .map_err(|e| self.target.alert(AlertKind::BadEntries, e.to_string()))?;
        self.scan.entries += 1;
        let parsed = entry.map(|e| {
            let id = match &e.entry {
                SignedEntry::X509(der) => identity_of_cert_der(der),
                SignedEntry::Precert {
                    tbs_certificate, ..
                } => identity_of_tbs_der(tbs_certificate),
            };
            (e, id)
        });
        let Some((entry, Ok(identity))) = parsed else {
            self.scan.unparsed += 1;
            return Ok(());
        };
        for rule in self.rules {
            if let Some(value) = rule.matches(&identity) {
                self.scan.matches.push(Match {
                    log: self.target.url.clone(),
                    leaf_index: index,
                    timestamp: entry.timestamp,
                    entry_type: match entry.entry {
                        SignedEntry::X509(_) => "x509",
                        SignedEntry::Precert { .. } => "precert",
                    },
                    rule: rule.to_string(),
                    matched: value.to_owned(),
                    identity: identity.clone(),
                });
            }
        }
        Ok(())
    }
}

async fn fetch_entries(
    client: &Client,
    t: &LogTarget,
    from: u64,
    to: u64,
    sink: &mut EntrySink<'_>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(), FollowError> {
    let mut next = from;
    while next < to {
        let end = next.saturating_add(ENTRIES_PAGE).min(to) - 1;
        let url = format!("{}ct/v1/get-entries?start={next}&end={end}", t.url);
        let page = client
            .get_ct_json::<GetEntriesResponse>(&url)
            .await?
            .map_err(|reason| {
                t.alert(
                    AlertKind::BadEntries,
                    format!("entries from {next} are not base64 ({reason})"),
                )
            })?;
        let want = end - next + 1;
        if page.entries.is_empty() || page.entries.len() as u64 > want {
            return Err(HttpError::Malformed {
                url,
                reason: format!("{} entries for a request of {want}", page.entries.len()),
            }
            .into());
        }
        for e in &page.entries {
            let leaf = &e.leaf_input;
            let parsed = MerkleTreeLeaf::read_bytes(leaf).ok();
            sink.push(
                merkle::leaf_hash(leaf),
                parsed.as_ref().map(|l| &l.timestamped_entry),
            )?;
            next += 1;
        }
        progress(next - from, to - from);
    }
    Ok(())
}

/// Tile downloads running ahead of the hashing; aborted if the scan stops early (an
/// alert or an error), so a misbehaving log does not keep being read.
struct InFlight(VecDeque<(u16, TileDownload)>);

/// One data tile being downloaded: its width and the task fetching its bytes.
type TileDownload = tokio::task::JoinHandle<Result<Vec<u8>, HttpError>>;

impl Drop for InFlight {
    fn drop(&mut self) {
        for (_, handle) in &self.0 {
            handle.abort();
        }
    }
}

async fn fetch_tiles(
    client: &Client,
    t: &LogTarget,
    from: u64,
    to: u64,
    sink: &mut EntrySink<'_>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(), FollowError> {
    let first = from / TILE_WIDTH;
    let last = (to - 1) / TILE_WIDTH;
    let mut pending = InFlight(VecDeque::new());
    let mut next_fetch = first;
    let mut leaf_buf = Vec::with_capacity(4096);
    for tile in first..=last {
        while next_fetch <= last && pending.0.len() < PREFETCH {
            let width = (to - next_fetch * TILE_WIDTH).min(TILE_WIDTH) as u16;
            let url = format!("{}{}", t.url, data_tile_path("data", next_fetch, width));
            let client = client.clone();
            pending.0.push_back((
                width,
                tokio::spawn(async move { client.get_bytes(&url, MAX_TILE_BYTES).await }),
            ));
            next_fetch += 1;
        }
        let Some((width, handle)) = pending.0.pop_front() else {
            break;
        };
        let bytes = handle
            .await
            .map_err(|e| FollowError::Config(format!("tile fetch task failed: {e}")))??;
        let start = tile * TILE_WIDTH;
        let mut rest = bytes.as_slice();
        for i in 0..u64::from(width) {
            let (leaf, used) = TileLeaf::read_prefix(rest).map_err(|e| {
                t.alert(
                    AlertKind::BadEntries,
                    format!("data tile {tile} entry {i}: {e}"),
                )
            })?;
            rest = rest.get(used..).unwrap_or_default();
            if start + i < from {
                continue;
            }
            let merkle_leaf = MerkleTreeLeaf {
                timestamped_entry: leaf.entry,
            };
            leaf_buf.clear();
            merkle_leaf.encode(&mut leaf_buf).map_err(|e| {
                t.alert(
                    AlertKind::BadEntries,
                    format!("data tile {tile} entry {i}: {e}"),
                )
            })?;
            sink.push(
                merkle::leaf_hash(&leaf_buf),
                Some(&merkle_leaf.timestamped_entry),
            )?;
        }
        if !rest.is_empty() {
            return Err(t.alert(
                AlertKind::BadEntries,
                format!("data tile {tile} has bytes after its {width} entries"),
            ));
        }
        progress(
            (tile + 1).saturating_mul(TILE_WIDTH).min(to) - from,
            to - from,
        );
    }
    Ok(())
}
