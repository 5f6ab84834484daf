//! The read side every tiled log shares (CT logs and artifact logs): proofs from a
//! bounded cache of expanded hash tiles, the leaf-hash look-up with its in-memory
//! front for fresh entries, and stored tiles cut to the width a tree size needs.
//! Tiles only ever widen and never change their prefix, so a cached or stored tile at
//! least as wide as a request needs answers it, whatever tree size is asked about.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use merkle::tiles::{TILE_HEIGHT, TILE_WIDTH};
use merkle::{ExpandedTile, Hash, HashSource, NodeId, TileId, TileSource};

use crate::{LogStore, StoreError};

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
pub struct TileCache {
    shards: Vec<TileShard>,
    per_shard: usize,
}

impl TileCache {
    /// A cache of at most about `capacity` expanded tiles (~16 KiB each).
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
        store: &dyn LogStore,
        level: u8,
        index: u64,
        min_width: usize,
    ) -> Result<Arc<ExpandedTile>, ReadError> {
        let shard = self.shard(level, index);
        if let Some(tile) = lock(shard).get(&(level, index))
            && usize::from(tile.width()) >= min_width
        {
            return Ok(tile.clone());
        }
        let stored = store
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
        let mut map = lock(shard);
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

/// A poisoned cache lock only means a reader panicked mid-insert of a whole `Arc`;
/// the map is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Leaf hash → index for the most recently sequenced entries. Proof requests
/// cluster on fresh entries (auditing happens soon after a promise), and these
/// answers then skip a random read of the on-disk index. Bounded; older entries are
/// looked up in storage.
pub struct RecentLeaves {
    inner: RwLock<RecentInner>,
    capacity: usize,
}

#[derive(Default)]
struct RecentInner {
    index: HashMap<[u8; 32], u64>,
    order: VecDeque<[u8; 32]>,
}

impl RecentLeaves {
    /// Remembers at most `capacity` leaves (about 60 bytes each).
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
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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

    /// The index of a recently committed leaf.
    pub fn get(&self, hash: &[u8; 32]) -> Option<u64> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .index
            .get(hash)
            .copied()
    }

    /// The index of the leaf with this hash: recent entries from memory, older ones
    /// from `store`.
    pub fn lookup(&self, store: &dyn LogStore, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        match self.get(hash) {
            Some(index) => Ok(Some(index)),
            None => store.leaf_index(hash),
        }
    }
}

/// Subtree hashes of the tree of `size` leaves, from the tile cache.
pub struct CachedHashes<'a> {
    pub store: &'a dyn LogStore,
    pub cache: &'a TileCache,
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
            let tile = self.cache.get(self.store, tile_level, tile_index, needed)?;
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

/// The first `width` hashes of a stored hash tile. Tiles only widen and never change
/// their prefix, so any stored version at least that wide serves any tree size.
pub fn hash_tile_prefix(
    store: &dyn LogStore,
    level: u8,
    index: u64,
    width: u16,
) -> Result<Vec<u8>, ReadError> {
    let mut bytes = store
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

/// Reads hash tiles straight from storage, cut to the width asked for: what
/// [`merkle::LogEdge::resume`] needs to rebuild a log's right edge.
pub struct StoredHashTiles<'a>(pub &'a dyn LogStore);

impl TileSource for StoredHashTiles<'_> {
    type Error = ReadError;

    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, ReadError> {
        hash_tile_prefix(self.0, tile.level, tile.index, tile.width)
    }
}
