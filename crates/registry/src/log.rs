//! The registry transparency log: every push and revocation is a leaf of an RFC 6962
//! Merkle tree, published as C2SP tlog-tiles with a signed-note checkpoint (Ed25519),
//! so the operator cannot swap or delete a certificate without the change showing in
//! a consistency proof.
//!
//! The leaf (`RegistryLogEntry`) and the entry-bundle framing are
//! `pki::registry_log`, shared with `ccc`, which verifies them.

use std::sync::{Mutex, MutexGuard};

use merkle::checkpoint::Checkpoint;
use merkle::note::{Ed25519NoteSigner, SignedNote};
use merkle::proof::GenerateError;
use merkle::tiles::{TILE_WIDTH, TileReadError};
use merkle::{Hash, LogEdge, TileHashSource, TileId, TileSource};
use pki::entry_bundle::EntryBundle;
pub use pki::registry_log::{RegistryAction, RegistryLogEntry};
use pki::tls::{Codec, TlsError};
use store::registry::{LogAppend, RegistryStore, StoredCheckpoint};
use store::{StoreError, TileWrite};

/// Errors of the registry log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("registry log entry is malformed: {0}")]
    Malformed(#[from] TlsError),
    #[error("stored registry log is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Proof(#[from] merkle::ProofError),
    #[error("signing the checkpoint failed: {0}")]
    Sign(#[from] merkle::note::NoteError),
}

/// A prepared append: the store writes it, then [`AppendGuard::adopt`] adopts it.
pub struct PreparedAppend {
    pub append: LogAppend,
    next: LogEdge,
}

/// The registry log's signing key and right edge. Appends are serialised through
/// [`RegistryLog::begin`]: two appends built on the same edge would both claim the
/// same index (the store would refuse the second, but only after the work was done).
pub struct RegistryLog {
    origin: String,
    signer: Ed25519NoteSigner,
    edge: Mutex<LogEdge>,
}

/// Reads hash tiles from the store, cut to the width a tree of a given size has
/// (stored tiles may be wider, and a narrower tile is a prefix of a wider one).
pub struct StoreTiles<'a, S: ?Sized>(pub &'a S);

impl<S: RegistryStore + ?Sized> TileSource for StoreTiles<'_, S> {
    type Error = String;
    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, String> {
        let stored = self
            .0
            .log_hash_tile(tile.level, tile.index)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("hash tile {} is missing", tile.path()))?;
        let want = usize::from(tile.width) * 32;
        stored
            .bytes
            .get(..want)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("hash tile {} is narrower than needed", tile.path()))
    }
}

fn generate_error(e: GenerateError<TileReadError<String>>) -> LogError {
    match e {
        GenerateError::Invalid(p) => LogError::Proof(p),
        GenerateError::Source(s) => LogError::Corrupt(s.to_string()),
    }
}

impl RegistryLog {
    /// Resumes the log from the store: the right-edge tiles and the tree's peaks.
    pub fn open<S: RegistryStore + ?Sized>(
        origin: &str,
        seed: &[u8; 32],
        store: &S,
    ) -> Result<Self, LogError> {
        let signer = Ed25519NoteSigner::from_seed(origin, seed)?;
        Ok(Self {
            origin: origin.to_owned(),
            signer,
            edge: Mutex::new(load_edge(store)?),
        })
    }
}

/// The right edge of the stored tree, checked against the stored checkpoint. The
/// registry keeps its leaves in rows and frames entry bundles when they are read, so
/// the edge builds no bundles.
fn load_edge<S: RegistryStore + ?Sized>(store: &S) -> Result<LogEdge, LogError> {
    let Some(head) = store.log_checkpoint()? else {
        return Ok(LogEdge::empty(false));
    };
    LogEdge::resume(head.size, &head.root, StoreTiles(store), None)
        .map_err(|e| LogError::Corrupt(e.to_string()))
}

impl RegistryLog {
    /// The checkpoint origin (also the note key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The note verifier key `<name>+<id>+<key>` clients pin.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    /// Starts an append: the guard serialises appends until it is dropped.
    pub fn begin(&self) -> AppendGuard<'_> {
        AppendGuard {
            log: self,
            edge: self
                .edge
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    fn signed_checkpoint(&self, size: u64, root: Hash) -> Result<String, LogError> {
        let mut note = SignedNote::new(Checkpoint::new(self.origin.clone(), size, root).to_text())?;
        note.sign(&self.signer)?;
        Ok(note.encode())
    }

    /// The signed checkpoint of the empty tree, served before the first push.
    pub fn empty_checkpoint(&self) -> Result<StoredCheckpoint, LogError> {
        let root = merkle::EMPTY_ROOT;
        Ok(StoredCheckpoint {
            size: 0,
            root,
            note: self.signed_checkpoint(0, root)?,
        })
    }
}

/// Exclusive access to the log's right edge while one append is built and stored.
pub struct AppendGuard<'a> {
    log: &'a RegistryLog,
    edge: MutexGuard<'a, LogEdge>,
}

impl AppendGuard<'_> {
    /// Builds the append of `entry` on the current edge without changing it, so a
    /// store failure leaves the in-memory edge matching the stored tree.
    pub fn prepare(&self, entry: &RegistryLogEntry) -> Result<PreparedAppend, LogError> {
        let leaf = entry.to_bytes()?;
        let mut next = self.edge.clone();
        let index = next
            .append(merkle::leaf_hash(&leaf), &[])
            .map_err(|e| LogError::Corrupt(e.to_string()))?;
        let size = next.size();
        let root = next.root();
        let hash_tiles = next
            .take_writes()
            .hash_tiles
            .into_iter()
            .map(TileWrite::from)
            .collect();
        let note = self.log.signed_checkpoint(size, root)?;
        Ok(PreparedAppend {
            append: LogAppend {
                index,
                leaf,
                hash_tiles,
                checkpoint: StoredCheckpoint { size, root, note },
            },
            next,
        })
    }

    /// Adopts a prepared append once the store committed it.
    pub fn adopt(&mut self, prepared: PreparedAppend) {
        *self.edge = prepared.next;
    }

    /// Re-reads the edge from the store after another process sharing the database
    /// appended (the store answered `LogConflict`): the stored log is authoritative.
    pub fn reload<S: RegistryStore + ?Sized>(&mut self, store: &S) -> Result<(), LogError> {
        *self.edge = load_edge(store)?;
        Ok(())
    }
}

/// An inclusion proof for leaf `index` in the tree of `size` leaves, from stored tiles.
pub fn inclusion_proof<S: RegistryStore + ?Sized>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LogError> {
    merkle::inclusion_proof(
        index,
        size,
        &mut TileHashSource::new(StoreTiles(store), size),
    )
    .map_err(generate_error)
}

/// A consistency proof between sizes `old` and `new`, from stored tiles.
pub fn consistency_proof<S: RegistryStore + ?Sized>(
    store: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, LogError> {
    merkle::consistency_proof(old, new, &mut TileHashSource::new(StoreTiles(store), new))
        .map_err(generate_error)
}

/// The root of the tree of `size` leaves, from stored tiles.
pub fn root_at<S: RegistryStore + ?Sized>(store: &S, size: u64) -> Result<Hash, LogError> {
    if size == 0 {
        return Ok(merkle::EMPTY_ROOT);
    }
    merkle::root_from_source(size, &mut TileHashSource::new(StoreTiles(store), size))
        .map_err(generate_error)
}

/// The tlog-tiles entry bundle `index` at `width`: each leaf framed by a `uint16`
/// length.
pub fn entry_bundle<S: RegistryStore + ?Sized>(
    store: &S,
    index: u64,
    width: u16,
) -> Result<Option<Vec<u8>>, LogError> {
    let start = index.saturating_mul(TILE_WIDTH);
    let end = start.saturating_add(u64::from(width));
    let leaves = store.log_leaves(start, end)?;
    if leaves.len() != usize::from(width) {
        return Ok(None);
    }
    let bundle = EntryBundle { entries: leaves }
        .to_bytes()
        .map_err(|_| LogError::Corrupt("stored leaf longer than 65535 bytes".into()))?;
    Ok(Some(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::SqliteRegistryStore;
    use store::registry::{CommitOutcome, Push};
    use store::registry_conformance::{sample_account, sample_cert};

    fn entry(n: u64) -> RegistryLogEntry {
        RegistryLogEntry {
            timestamp_ms: 1_700_000_000_000 + n,
            username: format!("user-{n}"),
            action: if n.is_multiple_of(3) {
                RegistryAction::Revoke
            } else {
                RegistryAction::Push
            },
            certificate: vec![0x30; 100 + n as usize],
        }
    }

    /// 300 appends cross a full tile; after reopening, the edge, roots and proofs all
    /// agree with what was signed.
    #[test]
    fn the_log_resumes_from_the_store_and_proves_every_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.db");
        let seed = [7u8; 32];
        let mut leaves = Vec::new();
        {
            let store = SqliteRegistryStore::open(&path).unwrap();
            let account = sample_account(&store, 1);
            let log = RegistryLog::open("example.com/registry", &seed, &store).unwrap();
            for n in 0..300u64 {
                let challenge = store::registry::Challenge {
                    id: format!("c{n}"),
                    account_id: account.id,
                    nonce: [1; 32],
                    expires_ms: u64::MAX / 2,
                    used: false,
                };
                store
                    .create_challenge(&challenge, 1_700_000_000_000, 1)
                    .unwrap();
                let mut cert = sample_cert(&account, n);
                cert.sha256 = format!("{n:064x}");
                let mut guard = log.begin();
                let prepared = guard.prepare(&entry(n)).unwrap();
                leaves.push(prepared.append.leaf.clone());
                let outcome = store
                    .commit_push(&Push {
                        cert,
                        challenge_id: challenge.id,
                        now_ms: 1_700_000_000_000,
                        log: prepared.append.clone(),
                    })
                    .unwrap();
                assert_eq!(outcome, CommitOutcome::Committed, "push {n}");
                guard.adopt(prepared);
            }
        }
        let store = SqliteRegistryStore::open(&path).unwrap();
        let log = RegistryLog::open("example.com/registry", &seed, &store).unwrap();
        let head = store.log_checkpoint().unwrap().unwrap();
        assert_eq!(head.size, 300);
        let note = SignedNote::parse(&head.note).unwrap();
        let verifier =
            merkle::note::Ed25519NoteVerifier::from_verifier_key(&log.verifier_key()).unwrap();
        note.verify(&[&verifier]).unwrap();
        for index in [0u64, 1, 255, 256, 299] {
            let proof = inclusion_proof(&store, index, 300).unwrap();
            merkle::verify_inclusion(
                &merkle::leaf_hash(&leaves[index as usize]),
                index,
                300,
                &proof,
                &head.root,
            )
            .unwrap();
        }
        let old_root = root_at(&store, 100).unwrap();
        let proof = consistency_proof(&store, 100, 300).unwrap();
        merkle::verify_consistency(100, 300, &old_root, &head.root, &proof).unwrap();
        let bundle = entry_bundle(&store, 1, 44).unwrap().unwrap();
        assert_eq!(&bundle[2..2 + leaves[256].len()], &leaves[256][..]);
        assert!(entry_bundle(&store, 1, 45).unwrap().is_none());
        // The resumed edge appends where the old one stopped.
        let guard = log.begin();
        assert_eq!(guard.prepare(&entry(300)).unwrap().append.index, 300);
    }
}
