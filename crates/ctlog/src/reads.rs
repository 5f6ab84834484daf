//! The read path of a CT log: entries from data tiles with their chains; proofs come
//! from the shared tile cache in `store::log_reads`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use merkle::tiles::TILE_WIDTH;
use pki::ct::{CertificateChain, PrecertChainEntry, TileLeaf, merkle_tree_leaf};
use pki::tls::Codec;
pub use store::log_reads::ReadError;
use store::log_reads::{CachedHashes, hash_tile_prefix};

use crate::LogCore;

/// Issuer certificates by fingerprint; few and small, bounded all the same.
#[derive(Default)]
pub(crate) struct IssuerCache {
    map: Mutex<HashMap<[u8; 32], Arc<Vec<u8>>>>,
}

const ISSUER_CACHE_LIMIT: usize = 4096;

impl IssuerCache {
    fn get(&self, core: &LogCore, fingerprint: &[u8; 32]) -> Result<Arc<Vec<u8>>, ReadError> {
        if let Some(der) = self.map.lock().expect("issuer lock").get(fingerprint) {
            return Ok(der.clone());
        }
        let der = Arc::new(core.store.issuer(fingerprint)?.ok_or_else(|| {
            ReadError::Corrupt(format!("issuer {} is missing", hex::encode(fingerprint)))
        })?);
        let mut map = self.map.lock().expect("issuer lock");
        if map.len() >= ISSUER_CACHE_LIMIT {
            map.clear();
        }
        map.insert(*fingerprint, der.clone());
        Ok(der)
    }
}

/// Byte length of the first `count` `TileLeaf`s of a data tile.
fn leaves_prefix_len(tile: &[u8], count: usize) -> Option<usize> {
    let mut offset = 0;
    for _ in 0..count {
        let (_, used) = TileLeaf::read_prefix(tile.get(offset..)?).ok()?;
        offset += used;
    }
    Some(offset)
}

/// A logged entry with what `get-entries` serves for it.
#[derive(Debug, Clone)]
pub struct EntryWithChain {
    /// The `MerkleTreeLeaf` encoding.
    pub leaf_input: Vec<u8>,
    /// RFC 6962 §4.6 `extra_data`: the chain (x509) or `PrecertChainEntry` (precert).
    pub extra_data: Vec<u8>,
}

impl LogCore {
    /// Entries `start..=end`, which the caller checked against the published head.
    pub(crate) fn entries(&self, start: u64, end: u64) -> Result<Vec<EntryWithChain>, ReadError> {
        let mut out = Vec::with_capacity((end - start + 1) as usize);
        let mut tile_index = start / TILE_WIDTH;
        while tile_index * TILE_WIDTH <= end {
            let stored = self
                .store
                .data_tile(tile_index)?
                .ok_or_else(|| ReadError::Corrupt(format!("data tile {tile_index} is missing")))?;
            let leaves = TileLeaf::decode_tile(&stored.bytes)
                .map_err(|e| ReadError::Corrupt(e.to_string()))?;
            let first = tile_index * TILE_WIDTH;
            for (i, leaf) in leaves.into_iter().enumerate() {
                let index = first + i as u64;
                if index < start {
                    continue;
                }
                if index > end {
                    break;
                }
                out.push(self.entry_with_chain(leaf)?);
            }
            tile_index += 1;
        }
        if out.len() as u64 != end - start + 1 {
            return Err(ReadError::Corrupt(format!(
                "data tiles hold {} of entries {start}..={end}",
                out.len()
            )));
        }
        Ok(out)
    }

    fn entry_with_chain(&self, leaf: TileLeaf) -> Result<EntryWithChain, ReadError> {
        let mut chain = Vec::with_capacity(leaf.chain_fingerprints.len());
        for fingerprint in &leaf.chain_fingerprints {
            chain.push(self.issuers.get(self, fingerprint)?.as_ref().clone());
        }
        let corrupt = |e: pki::ct::CtError| ReadError::Corrupt(e.to_string());
        let extra_data = match leaf.pre_certificate {
            Some(pre_certificate) => PrecertChainEntry {
                pre_certificate,
                precertificate_chain: chain,
            }
            .to_bytes()
            .map_err(corrupt)?,
            None => CertificateChain {
                certificates: chain,
            }
            .to_bytes()
            .map_err(corrupt)?,
        };
        Ok(EntryWithChain {
            leaf_input: merkle_tree_leaf(&leaf.entry),
            extra_data,
        })
    }

    /// The index of the leaf with this hash, recent entries from memory.
    pub(crate) fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>, ReadError> {
        Ok(self.recent.lookup(self.store.as_ref(), leaf_hash)?)
    }

    /// Subtree hashes of the tree of `size` leaves, for proofs.
    pub(crate) fn hashes(&self, size: u64) -> CachedHashes<'_> {
        CachedHashes {
            store: self.store.as_ref(),
            cache: &self.tiles,
            size,
        }
    }

    /// The first `width` hashes of a stored hash tile (see `store::log_reads`).
    pub(crate) fn hash_tile_prefix(
        &self,
        level: u8,
        index: u64,
        width: u16,
    ) -> Result<Vec<u8>, ReadError> {
        hash_tile_prefix(self.store.as_ref(), level, index, width)
    }

    /// The first `count` entries of a stored data tile, likewise from any wider version.
    pub(crate) fn data_tile_prefix(&self, index: u64, count: u16) -> Result<Vec<u8>, ReadError> {
        let mut bytes = self
            .store
            .data_tile(index)?
            .ok_or_else(|| ReadError::Corrupt(format!("data tile {index} is missing")))?
            .bytes;
        let len = leaves_prefix_len(&bytes, usize::from(count)).ok_or_else(|| {
            ReadError::Corrupt(format!("data tile {index} has fewer than {count} entries"))
        })?;
        bytes.truncate(len);
        Ok(bytes)
    }

    /// An issuer certificate for the static-ct-api `issuer/` endpoint.
    pub(crate) fn issuer(&self, fingerprint: &[u8; 32]) -> Result<Option<Vec<u8>>, ReadError> {
        Ok(self.store.issuer(fingerprint)?)
    }
}
