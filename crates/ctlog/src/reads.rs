//! The read path: proofs from a bounded cache of expanded hash tiles, entries from
//! data tiles. Tiles only ever widen and never change their prefix, so a cached tile
//! at least as wide as a request needs answers it, whatever tree size is asked about.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use merkle::tiles::{TILE_HEIGHT, TILE_WIDTH};
use merkle::{ExpandedTile, Hash, HashSource, NodeId};
use pki::ct::{CertificateChain, PrecertChainEntry, TileLeaf, merkle_tree_leaf};
use pki::tls::Codec;
use store::StoreError;

use crate::LogCore;

/// A read that storage could not serve. Requests are checked against the published
/// tree head first, so this always means a server-side problem (5xx).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

const SHARDS: usize = 16;

/// One shard of the tile cache: expanded tiles by (tile level, index).
type TileShard = Mutex<HashMap<(u8, u64), Arc<ExpandedTile>>>;

/// Expanded hash tiles by (tile level, index), sharded to keep lock hold times short
/// under many concurrent proof requests. Bounded: when a shard is full an arbitrary
/// entry makes room, which is good enough because the hot set (upper levels, recent
/// tiles) is re-read constantly.
pub(crate) struct TileCache {
    shards: Vec<TileShard>,
    per_shard: usize,
}

impl TileCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, level: u8, index: u64) -> &TileShard {
        let mix = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(level);
        &self.shards[(mix >> 32) as usize % SHARDS]
    }

    /// The tile at (`level`, `index`) with at least `min_width` hashes.
    fn get(
        &self,
        core: &LogCore,
        level: u8,
        index: u64,
        min_width: usize,
    ) -> Result<Arc<ExpandedTile>, ReadError> {
        let shard = self.shard(level, index);
        if let Some(tile) = shard.lock().expect("tile cache lock").get(&(level, index))
            && usize::from(tile.width()) >= min_width
        {
            return Ok(tile.clone());
        }
        let stored = core
            .store
            .hash_tile(level, index)?
            .ok_or_else(|| ReadError::Corrupt(format!("hash tile {level}/{index} is missing")))?;
        if usize::from(stored.width) < min_width {
            return Err(ReadError::Corrupt(format!(
                "hash tile {level}/{index} has {} hashes, the tree head needs {min_width}",
                stored.width
            )));
        }
        let tile = Arc::new(
            ExpandedTile::new(&stored.bytes).map_err(|e| ReadError::Corrupt(e.to_string()))?,
        );
        let mut map = shard.lock().expect("tile cache lock");
        if map.len() >= self.per_shard
            && !map.contains_key(&(level, index))
            && let Some(victim) = map.keys().next().copied()
        {
            map.remove(&victim);
        }
        map.insert((level, index), tile.clone());
        Ok(tile)
    }
}

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

/// Leaf hash → index for the most recently sequenced entries. Proof requests
/// cluster on fresh entries (SCT auditing happens soon after issuance), and these
/// answers then skip a random read of the on-disk index. Bounded; older entries are
/// looked up in storage.
pub(crate) struct RecentLeaves {
    inner: RwLock<RecentInner>,
    capacity: usize,
}

#[derive(Default)]
struct RecentInner {
    index: HashMap<[u8; 32], u64>,
    order: VecDeque<[u8; 32]>,
}

impl RecentLeaves {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(RecentInner::default()),
            capacity,
        }
    }

    /// Remembers committed entries, forgetting the oldest beyond the capacity.
    pub fn insert(&self, leaves: impl Iterator<Item = ([u8; 32], u64)>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.write().expect("recent leaves lock");
        for (hash, index) in leaves {
            if inner.order.len() == self.capacity
                && let Some(old) = inner.order.pop_front()
            {
                inner.index.remove(&old);
            }
            inner.index.insert(hash, index);
            inner.order.push_back(hash);
        }
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<u64> {
        self.inner
            .read()
            .expect("recent leaves lock")
            .index
            .get(hash)
            .copied()
    }
}

/// Subtree hashes of the tree of `size` leaves, from the tile cache.
pub(crate) struct CachedHashes<'a> {
    pub core: &'a LogCore,
    pub size: u64,
}

impl HashSource for CachedHashes<'_> {
    type Error = ReadError;

    fn hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<Hash>, ReadError> {
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            if node.level >= 64 || node.end_leaf() > self.size {
                return Err(ReadError::Corrupt(format!(
                    "node {}/{} is outside the tree of size {}",
                    node.level, node.index, self.size
                )));
            }
            let tile_level = node.level / TILE_HEIGHT;
            let sub_level = node.level % TILE_HEIGHT;
            // Position of the node's leftmost descendant in its tile's bottom row.
            let base = node.index << sub_level;
            let tile_index = base / TILE_WIDTH;
            let offset = (base % TILE_WIDTH) as usize;
            let needed = offset + (1usize << sub_level);
            let tile = self
                .core
                .tiles
                .get(self.core, tile_level, tile_index, needed)?;
            let hash = tile.node(sub_level, offset >> sub_level).ok_or_else(|| {
                ReadError::Corrupt(format!(
                    "node {}/{} missing from its tile",
                    node.level, node.index
                ))
            })?;
            out.push(hash);
        }
        Ok(out)
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
        if let Some(index) = self.recent.get(leaf_hash) {
            return Ok(Some(index));
        }
        Ok(self.store.leaf_index(leaf_hash)?)
    }

    /// The first `width` hashes of a stored hash tile. Tiles only widen and never change
    /// their prefix, so any stored version at least that wide serves any tree size.
    pub(crate) fn hash_tile_prefix(
        &self,
        level: u8,
        index: u64,
        width: u16,
    ) -> Result<Vec<u8>, ReadError> {
        let mut bytes = self
            .store
            .hash_tile(level, index)?
            .ok_or_else(|| ReadError::Corrupt(format!("hash tile {level}/{index} is missing")))?
            .bytes;
        let len = usize::from(width) * 32;
        if bytes.len() < len {
            return Err(ReadError::Corrupt(format!(
                "hash tile {level}/{index} has fewer than the {width} hashes the tree needs"
            )));
        }
        bytes.truncate(len);
        Ok(bytes)
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
