//! Sequencer and read-path tests over a real SQLite store.

use std::sync::Arc;
use std::time::Duration;

use merkle::{HashSource, inclusion_proof, verify_consistency, verify_inclusion};
use pki::chain::{RootStore, SubmissionKind};
use pki::ct::{TimestampedEntry, merkle_tree_leaf, parse_leaf_index_extension};
use pki::keys::EcdsaP256Signer;
use rcgen::CertificateParams;
use store::SqliteLogStore;

use super::*;

/// A test root with what the log needs of it.
struct Pki {
    root_der: Vec<u8>,
    root: testkit::Ca,
}

fn pki() -> Pki {
    let root = testkit::root("test root", 2020, 2045);
    Pki {
        root_der: root.der().to_vec(),
        root,
    }
}

fn leaf(pki: &Pki, name: &str) -> Vec<Vec<u8>> {
    let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    let cert = params.signed_by(&testkit::new_key(), &pki.root).unwrap();
    vec![cert.der().to_vec(), pki.root_der.clone()]
}

fn open(dir: &std::path::Path, pki: &Pki, signer_pem: &str) -> Log {
    let mut roots = RootStore::new();
    roots.add_der(&pki.root_der).unwrap();
    let signer = EcdsaP256Signer::from_pkcs8_pem(signer_pem).unwrap();
    let mut config = LogConfig::new("t", "example.test/logs/t", signer, roots);
    config.sequence_interval = Duration::from_millis(5);
    let store = Arc::new(SqliteLogStore::open(&dir.join("log.db")).unwrap());
    Log::open(config, store).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_are_sequenced_proven_deduplicated_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let key_pem = EcdsaP256Signer::generate().unwrap().to_pkcs8_pem().unwrap();
    let log = Arc::new(open(dir.path(), &pki, &key_pem));
    assert_eq!(log.tree_head().tree_size, 0);

    let chains: Vec<_> = (0..300)
        .map(|i| leaf(&pki, &format!("h{i}.test")))
        .collect();
    let mut tasks = Vec::new();
    for chain in chains.clone() {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.submit(chain, SubmissionKind::Certificate).await
        }));
    }
    let mut scts = Vec::new();
    for t in tasks {
        scts.push(t.await.unwrap().unwrap());
    }
    // Every index is handed out exactly once.
    let mut indexes: Vec<u64> = scts
        .iter()
        .map(|s| parse_leaf_index_extension(&s.extensions).unwrap())
        .collect();
    indexes.sort();
    assert_eq!(indexes, (0..300).collect::<Vec<_>>());

    let head = log.tree_head();
    assert_eq!(head.tree_size, 300);
    for (chain, sct) in chains.iter().zip(&scts) {
        pki::verify::verify_digitally_signed(
            log.public_key_der(),
            &pki::ct::sct_signed_data(&TimestampedEntry {
                timestamp: sct.timestamp,
                entry: pki::ct::SignedEntry::X509(chain[0].clone()),
                extensions: sct.extensions.clone(),
            }),
            &sct.signature,
        )
        .unwrap();
        let index = parse_leaf_index_extension(&sct.extensions).unwrap();
        let leaf_hash = merkle::leaf_hash(&merkle_tree_leaf(&TimestampedEntry {
            timestamp: sct.timestamp,
            entry: pki::ct::SignedEntry::X509(chain[0].clone()),
            extensions: sct.extensions.clone(),
        }));
        let mut source = log.core.hashes(head.tree_size);
        let proof = inclusion_proof(index, head.tree_size, &mut source).unwrap();
        verify_inclusion(&leaf_hash, index, head.tree_size, &proof, &head.root).unwrap();
    }
    // Entries come back as submitted.
    let entries = log.core.entries(0, 255).unwrap();
    assert_eq!(entries.len(), 256);

    // Resubmission returns the very same SCT.
    let again = log
        .submit(chains[7].clone(), SubmissionKind::Certificate)
        .await
        .unwrap();
    assert_eq!(again, scts[7]);

    let old_head = head;
    drop(log);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let log = Arc::new(open(dir.path(), &pki, &key_pem));
    assert_eq!(log.tree_head(), old_head);
    let again = log
        .submit(chains[123].clone(), SubmissionKind::Certificate)
        .await
        .unwrap();
    assert_eq!(again, scts[123], "dedup holds across a restart");
    let fresh = log
        .submit(leaf(&pki, "new.test"), SubmissionKind::Certificate)
        .await
        .unwrap();
    assert_eq!(parse_leaf_index_extension(&fresh.extensions).unwrap(), 300);
    let new_head = log.tree_head();
    let mut source = log.core.hashes(new_head.tree_size);
    let proof =
        merkle::consistency_proof(old_head.tree_size, new_head.tree_size, &mut source).unwrap();
    verify_consistency(
        old_head.tree_size,
        new_head.tree_size,
        &old_head.root,
        &new_head.root,
        &proof,
    )
    .unwrap();
    // Every peak the sequencer resumed from matches what the cache serves.
    let peaks = source
        .hashes(&merkle::tree::peak_ids(new_head.tree_size))
        .unwrap();
    assert_eq!(merkle::tree::fold_peaks(&peaks), new_head.root);
}

#[tokio::test]
async fn invalid_chains_get_no_sct_and_leave_the_log_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let other = self::pki();
    let key_pem = EcdsaP256Signer::generate().unwrap().to_pkcs8_pem().unwrap();
    let log = open(dir.path(), &pki, &key_pem);
    let foreign = leaf(&other, "x.test");
    assert!(matches!(
        log.submit(foreign, SubmissionKind::Certificate).await,
        Err(SubmitError::Chain(_))
    ));
    assert!(matches!(
        log.submit(vec![b"not der".to_vec()], SubmissionKind::Certificate)
            .await,
        Err(SubmitError::Chain(_))
    ));
    assert!(matches!(
        log.submit(leaf(&pki, "y.test"), SubmissionKind::Precertificate)
            .await,
        Err(SubmitError::Chain(_))
    ));
    assert_eq!(log.tree_head().tree_size, 0);
}

#[test]
fn dedup_key_covers_entry_type_and_content() {
    let a = dedup_key(&pki::ct::SignedEntry::X509(vec![1, 2, 3])).unwrap();
    let b = dedup_key(&pki::ct::SignedEntry::X509(vec![1, 2, 4])).unwrap();
    let c = dedup_key(&pki::ct::SignedEntry::Precert {
        issuer_key_hash: [0; 32],
        tbs_certificate: vec![1, 2, 3],
    })
    .unwrap();
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        a,
        dedup_key(&pki::ct::SignedEntry::X509(vec![1, 2, 3])).unwrap()
    );
}

/// A store whose next commit fails, to exercise the sequencer's rollback.
struct FlakyStore {
    inner: SqliteLogStore,
    fail_next_commit: std::sync::atomic::AtomicBool,
}

impl store::LogStore for FlakyStore {
    fn tree_head(&self) -> store::Result<Option<store::StoredTreeHead>> {
        self.inner.tree_head()
    }
    fn commit_batch(&self, batch: &store::Batch) -> store::Result<()> {
        if self
            .fail_next_commit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(store::StoreError::Io(std::io::Error::other("disk full")));
        }
        self.inner.commit_batch(batch)
    }
    fn hash_tile(&self, level: u8, index: u64) -> store::Result<Option<store::StoredTile>> {
        self.inner.hash_tile(level, index)
    }
    fn data_tile(&self, index: u64) -> store::Result<Option<store::StoredTile>> {
        self.inner.data_tile(index)
    }
    fn dedup(&self, key: &[u8; 32]) -> store::Result<Option<store::DedupRecord>> {
        self.inner.dedup(key)
    }
    fn leaf_index(&self, leaf_hash: &[u8; 32]) -> store::Result<Option<u64>> {
        self.inner.leaf_index(leaf_hash)
    }
    fn issuer(&self, fingerprint: &[u8; 32]) -> store::Result<Option<Vec<u8>>> {
        self.inner.issuer(fingerprint)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_hands_out_no_sct_and_leaves_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let mut roots = RootStore::new();
    roots.add_der(&pki.root_der).unwrap();
    let mut config = LogConfig::new(
        "t",
        "example.test/logs/t",
        EcdsaP256Signer::generate().unwrap(),
        roots,
    );
    config.sequence_interval = Duration::from_millis(5);
    let store = Arc::new(FlakyStore {
        inner: SqliteLogStore::open(&dir.path().join("log.db")).unwrap(),
        fail_next_commit: false.into(),
    });
    let log = Log::open(config, store.clone()).unwrap();
    log.submit(leaf(&pki, "first.test"), SubmissionKind::Certificate)
        .await
        .unwrap();
    let before = log.tree_head();

    store
        .fail_next_commit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = log
        .submit(leaf(&pki, "lost.test"), SubmissionKind::Certificate)
        .await;
    assert!(matches!(failed, Err(SubmitError::Storage)), "{failed:?}");
    assert_eq!(
        log.tree_head(),
        before,
        "nothing of the failed batch is visible"
    );

    // The next batch reuses the index the failed one would have taken.
    let sct = log
        .submit(leaf(&pki, "next.test"), SubmissionKind::Certificate)
        .await
        .unwrap();
    assert_eq!(parse_leaf_index_extension(&sct.extensions).unwrap(), 1);
    let head = log.tree_head();
    assert_eq!(head.tree_size, 2);
    let mut source = log.core.hashes(2);
    let peaks = source.hashes(&merkle::tree::peak_ids(2)).unwrap();
    assert_eq!(merkle::tree::fold_peaks(&peaks), head.root);
}

/// `open` with a sequence interval no test waits for.
fn open_slow(dir: &std::path::Path, pki: &Pki) -> Log {
    let mut roots = RootStore::new();
    roots.add_der(&pki.root_der).unwrap();
    let signer = EcdsaP256Signer::generate().unwrap();
    let mut config = LogConfig::new("t", "example.test/logs/t", signer, roots);
    config.sequence_interval = Duration::from_secs(60);
    let store = Arc::new(SqliteLogStore::open(&dir.join("log.db")).unwrap());
    Log::open(config, store).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_integrates_the_waiting_pool_at_once_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let log = Arc::new(open_slow(dir.path(), &pki));
    assert_eq!(log.readiness(), Ok(()));
    let mut waiting = Vec::new();
    for i in 0..20 {
        let (log, chain) = (log.clone(), leaf(&pki, &format!("c{i}.test")));
        waiting.push(tokio::spawn(async move {
            log.submit(chain, SubmissionKind::Certificate).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let thread = log.close().expect("the sequencer thread");
    // Not after the 60 s interval: at once.
    for w in waiting {
        let sct = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("answered within the shutdown, not the interval")
            .unwrap()
            .unwrap();
        assert!(parse_leaf_index_extension(&sct.extensions).unwrap() < 20);
    }
    assert_eq!(log.tree_head().tree_size, 20);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert!(log.close().is_none(), "closed once");
    assert_eq!(log.readiness(), Err("shutting down".into()));
    let late = log
        .submit(leaf(&pki, "late.test"), SubmissionKind::Certificate)
        .await;
    assert!(matches!(late, Err(SubmitError::ShuttingDown)), "{late:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_waiters_are_told_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let log = Arc::new(open_slow(dir.path(), &pki));
    let waiter = {
        let (log, chain) = (log.clone(), leaf(&pki, "w.test"));
        tokio::spawn(async move { log.submit(chain, SubmissionKind::Certificate).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    log.abandon_waiters();
    let answer = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(answer, Err(SubmitError::ShuttingDown)),
        "{answer:?}"
    );
    assert_eq!(
        log.tree_head().tree_size,
        0,
        "nothing sequenced, nothing promised"
    );
}
