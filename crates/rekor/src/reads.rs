//! The read path: entries from entry bundles with their integration record, proofs
//! from the shared tile cache (`store::log_reads`).

use merkle::proof::GenerateError;
use merkle::tiles::{TILE_WIDTH, TileId};
use merkle::{consistency_proof, inclusion_proof, root_from_source};
use pki::entry_bundle::EntryBundle;
use pki::tls::Codec;
use store::log_reads::{CachedHashes, ReadError, hash_tile_prefix};

use crate::LogCore;

/// A logged entry as storage keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// The canonical body (the leaf).
    pub body: Vec<u8>,
    /// When the log integrated it, milliseconds since the Unix epoch.
    pub integrated_ms: u64,
    /// The v1 Signed Entry Timestamp (empty for v2 logs).
    pub set: Vec<u8>,
}

fn generate_error(e: GenerateError<ReadError>) -> ReadError {
    match e {
        GenerateError::Source(e) => e,
        GenerateError::Invalid(e) => ReadError::Corrupt(e.to_string()),
    }
}

impl LogCore {
    fn hashes(&self, size: u64) -> CachedHashes<'_> {
        CachedHashes {
            store: self.store.as_ref(),
            cache: &self.tiles,
            size,
        }
    }

    pub(crate) fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<[u8; 32]>, ReadError> {
        inclusion_proof(index, size, &mut self.hashes(size)).map_err(generate_error)
    }

    pub(crate) fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<[u8; 32]>, ReadError> {
        consistency_proof(first, second, &mut self.hashes(second)).map_err(generate_error)
    }

    pub(crate) fn root_at(&self, size: u64) -> Result<[u8; 32], ReadError> {
        root_from_source(size, &mut self.hashes(size)).map_err(generate_error)
    }

    /// The entry at `index`: its body from the entry bundle, its time and SET from the
    /// index row keyed by its leaf hash.
    pub(crate) fn entry_at(&self, index: u64) -> Result<super::StoredEntry, ReadError> {
        let tile = index / TILE_WIDTH;
        let stored = self
            .store
            .data_tile(tile)?
            .ok_or_else(|| ReadError::Corrupt(format!("entry bundle {tile} is missing")))?;
        let bundle = EntryBundle::read_bytes(&stored.bytes)
            .map_err(|e| ReadError::Corrupt(format!("entry bundle {tile}: {e}")))?;
        let body = bundle
            .entries
            .into_iter()
            .nth((index % TILE_WIDTH) as usize)
            .ok_or_else(|| ReadError::Corrupt(format!("entry {index} is missing")))?;
        let leaf_hash = merkle::leaf_hash(&body);
        let record = self.store.dedup(&leaf_hash)?.ok_or_else(|| {
            ReadError::Corrupt(format!("entry {index} has no integration record"))
        })?;
        if record.leaf_index != index {
            return Err(ReadError::Corrupt(format!(
                "entry {index} is recorded at index {}",
                record.leaf_index
            )));
        }
        Ok(super::StoredEntry {
            body,
            integrated_ms: record.timestamp_ms,
            set: record.sct_signature,
        })
    }

    /// A tlog-tiles tile as the published tree has it: `None` when the tree does not
    /// reach that wide yet.
    pub(crate) fn tile(
        &self,
        level: u8,
        index: u64,
        width: u16,
        data: bool,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        let size = self.published().tree_size;
        let available = TileId::in_tree(level, index, size).map_or(0, |t| t.width);
        if width > available || width == 0 {
            return Ok(None);
        }
        if !data {
            return hash_tile_prefix(self.store.as_ref(), level, index, width).map(Some);
        }
        let stored = self
            .store
            .data_tile(index)?
            .ok_or_else(|| ReadError::Corrupt(format!("entry bundle {index} is missing")))?;
        let len = EntryBundle::prefix_len(&stored.bytes, usize::from(width)).ok_or_else(|| {
            ReadError::Corrupt(format!(
                "entry bundle {index} holds fewer than {width} entries"
            ))
        })?;
        let mut bytes = stored.bytes;
        bytes.truncate(len);
        Ok(Some(bytes))
    }
}
