//! The one log engine: the right edge of a tiled Merkle log and what appending a
//! batch to it produces.
//!
//! Every certcentral log (CT, registry, artifact) is a C2SP tlog-tiles tree. What
//! they share is here: the compact range (`O(log n)` peaks), the right-edge hash
//! tiles, the partial entry bundle, resuming all three from stored tiles with the
//! root checked against the stored tree head, and a batch's output — new size, new
//! root, the hash tiles and entry bundles to write. What a leaf is, how the checkpoint
//! is signed and how the writes are made durable stay with each log.
//!
//! A batch is built on a copy of the edge ([`LogEdge`] is `Clone`): the caller adopts
//! the copy only after its storage committed the batch, so a failed commit leaves the
//! in-memory edge matching what is stored ("no gap, no fork").

use crate::TileSource;
use crate::hash::Hash;
use crate::proof::{GenerateError, peaks_from_source};
use crate::tiles::{EdgeTiles, TILE_WIDTH, TileError, TileHashSource, TileId, TileReadError};
use crate::tree::{CompactTree, TreeError};

/// Why a log's edge could not be resumed from storage. Each variant means the stored
/// log cannot be trusted as it is; a log must refuse to start rather than append to it.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError<E> {
    #[error("reading the tree's peaks from the hash tiles: {0}")]
    Peaks(GenerateError<TileReadError<E>>),
    #[error("reading the right-edge hash tile {path}: {source}")]
    EdgeTile { path: String, source: E },
    #[error(transparent)]
    Edge(#[from] TileError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("the hash tiles give another root than the signed tree head of size {size}")]
    RootMismatch { size: u64 },
    #[error(
        "the stored entry bundle {index} holds {got} entries, a tree of size {size} needs {want}"
    )]
    Bundle {
        index: u64,
        size: u64,
        want: u64,
        got: u64,
    },
}

/// The compact range `[0, size)` of a stored tree, read from its hash tiles and
/// checked against the root its signed tree head states.
///
/// This is the trust step shared by a log resuming after a restart and a monitor
/// starting at a log's current head: tiles are only believed once they fold to a
/// signed root.
pub fn resume_tree<S: TileSource>(
    size: u64,
    root: &Hash,
    tiles: S,
) -> Result<CompactTree, ResumeError<S::Error>> {
    let mut source = TileHashSource::new(tiles, size);
    let peaks = peaks_from_source(size, &mut source).map_err(ResumeError::Peaks)?;
    let tree = CompactTree::from_peaks(size, peaks)?;
    if tree.root() != *root {
        return Err(ResumeError::RootMismatch { size });
    }
    Ok(tree)
}

/// Hash tiles and entry bundles a batch changed, to be written in the same
/// transaction as the tree head that covers them. Full tiles come first; a partial
/// tile is always a prefix of its later, wider versions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TileWrites {
    pub hash_tiles: Vec<(TileId, Vec<u8>)>,
    /// Entry bundles (`tile/data/…` in static-ct-api, `tile/entries/…` in
    /// tlog-tiles), level 0, in the bytes the caller appended.
    pub entry_bundles: Vec<(TileId, Vec<u8>)>,
}

/// The right edge of a tiled log: all that appending needs.
#[derive(Debug, Clone, Default)]
pub struct LogEdge {
    tree: CompactTree,
    tiles: EdgeTiles,
    /// Encoded entries of the incomplete entry bundle; `None` for a log that keeps its
    /// entries elsewhere and builds bundles when they are read.
    bundle: Option<Vec<u8>>,
    /// Entries appended to `bundle` since the last [`LogEdge::take_writes`].
    bundle_dirty: bool,
    /// Full bundles completed since the last [`LogEdge::take_writes`].
    full_bundles: Vec<(TileId, Vec<u8>)>,
}

/// Which entry bundle holds the entries of a tree's incomplete last bundle, and how
/// many entries it has; `None` when the last bundle is full (or the tree is empty).
pub fn partial_bundle(size: u64) -> Option<TileId> {
    let width = (size % TILE_WIDTH) as u16;
    (width != 0).then_some(TileId {
        level: 0,
        index: size / TILE_WIDTH,
        width,
    })
}

impl LogEdge {
    /// The edge of an empty log. `bundles` says whether the edge builds entry bundles.
    pub fn empty(bundles: bool) -> Self {
        Self {
            bundle: bundles.then(Vec::new),
            ..Self::default()
        }
    }

    /// Resumes the edge of a stored tree of `size` leaves whose signed head states
    /// `root`: peaks and right-edge tiles are read through `tiles` (each read cut to
    /// the width the tree has), the root is checked, and — for a log with entry
    /// bundles — the stored prefix of the incomplete bundle is taken as it is:
    /// `bundle` is its bytes and the number of entries they hold, read by the caller
    /// at [`partial_bundle`] (`(empty, 0)` when the last bundle is full); a bundle of
    /// the wrong length is refused rather than extended.
    pub fn resume<S: TileSource>(
        size: u64,
        root: &Hash,
        mut tiles: S,
        bundle: Option<(Vec<u8>, u64)>,
    ) -> Result<Self, ResumeError<S::Error>> {
        let mut partials = Vec::new();
        for id in EdgeTiles::partial_tiles(size) {
            let bytes = tiles
                .read_tile(id)
                .map_err(|source| ResumeError::EdgeTile {
                    path: id.path(),
                    source,
                })?;
            partials.push((id, bytes));
        }
        let edge_tiles = EdgeTiles::resume(size, partials)?;
        let tree = resume_tree(size, root, tiles)?;
        let bundle = match bundle {
            None => None,
            Some((bytes, entries)) => {
                let want = size % TILE_WIDTH;
                if entries != want {
                    return Err(ResumeError::Bundle {
                        index: size / TILE_WIDTH,
                        size,
                        want,
                        got: entries,
                    });
                }
                Some(bytes)
            }
        };
        Ok(Self {
            tree,
            tiles: edge_tiles,
            bundle,
            bundle_dirty: false,
            full_bundles: Vec::new(),
        })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The index the next appended leaf gets.
    pub fn next_index(&self) -> u64 {
        self.tree.size()
    }

    /// `MTH(D[0:size])`.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The compact range itself (peaks), e.g. for a monitor's saved state.
    pub fn tree(&self) -> &CompactTree {
        &self.tree
    }

    /// Appends one leaf by its RFC 6962 leaf hash, with its encoded entry for the
    /// entry bundle (ignored by an edge without bundles). Returns the leaf's index.
    pub fn append(&mut self, leaf_hash: Hash, entry: &[u8]) -> Result<u64, TreeError> {
        let tiles = &mut self.tiles;
        let index = self
            .tree
            .append_hash(leaf_hash, |node, hash| tiles.observe(node, hash))?;
        if let Some(bundle) = &mut self.bundle {
            bundle.extend_from_slice(entry);
            self.bundle_dirty = true;
            if (index + 1).is_multiple_of(TILE_WIDTH) {
                self.full_bundles.push((
                    TileId {
                        level: 0,
                        index: index / TILE_WIDTH,
                        width: TILE_WIDTH as u16,
                    },
                    std::mem::take(bundle),
                ));
                self.bundle_dirty = false;
            }
        }
        Ok(index)
    }

    /// What the appends since the last call changed: the tiles to write with the
    /// next tree head. Afterwards the edge is clean.
    pub fn take_writes(&mut self) -> TileWrites {
        let mut entry_bundles = std::mem::take(&mut self.full_bundles);
        if let Some(bundle) = &self.bundle
            && self.bundle_dirty
            && !bundle.is_empty()
        {
            entry_bundles.push((
                TileId {
                    level: 0,
                    index: self.tree.size() / TILE_WIDTH,
                    width: (self.tree.size() % TILE_WIDTH) as u16,
                },
                bundle.clone(),
            ));
        }
        self.bundle_dirty = false;
        TileWrites {
            hash_tiles: self.tiles.flush(),
            entry_bundles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use std::collections::BTreeMap;

    /// A tile store that keeps every version written, as storage does: wider tiles
    /// replace narrower ones.
    #[derive(Default, Clone)]
    struct Store {
        hash_tiles: BTreeMap<(u8, u64), Vec<u8>>,
        bundles: BTreeMap<u64, Vec<u8>>,
    }

    impl Store {
        fn write(&mut self, writes: TileWrites) {
            for (id, bytes) in writes.hash_tiles {
                self.hash_tiles.insert((id.level, id.index), bytes);
            }
            for (id, bytes) in writes.entry_bundles {
                assert_eq!(bytes.len(), usize::from(id.width) * 4, "{id:?}");
                self.bundles.insert(id.index, bytes);
            }
        }
    }

    impl TileSource for &Store {
        type Error = String;
        fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, String> {
            let stored = self
                .hash_tiles
                .get(&(tile.level, tile.index))
                .ok_or_else(|| format!("missing {}", tile.path()))?;
            stored
                .get(..usize::from(tile.width) * 32)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("{} is narrower", tile.path()))
        }
    }

    fn entry(n: u64) -> [u8; 4] {
        (n as u32).to_be_bytes()
    }

    fn resume(store: &Store, size: u64, root: &Hash) -> LogEdge {
        let bundle = match partial_bundle(size) {
            None => (Vec::new(), 0),
            Some(id) => {
                let bytes = store.bundles[&id.index][..usize::from(id.width) * 4].to_vec();
                (bytes, u64::from(id.width))
            }
        };
        LogEdge::resume(size, root, store, Some(bundle)).unwrap()
    }

    /// Appending in batches with a restart (resume from the stored tiles) between
    /// every batch writes exactly the tiles and roots of one uninterrupted run.
    fn batches_with_restarts_match_one_run(sizes: &[u64]) {
        let total: u64 = sizes.iter().sum();
        let mut whole = LogEdge::empty(true);
        let mut whole_store = Store::default();
        for n in 0..total {
            whole.append(leaf_hash(&entry(n)), &entry(n)).unwrap();
        }
        whole_store.write(whole.take_writes());

        let mut store = Store::default();
        let mut edge = LogEdge::empty(true);
        let mut n = 0;
        for &batch in sizes {
            let mut next = edge.clone();
            for _ in 0..batch {
                assert_eq!(next.append(leaf_hash(&entry(n)), &entry(n)).unwrap(), n);
                n += 1;
            }
            store.write(next.take_writes());
            edge = resume(&store, next.size(), &next.root());
        }
        assert_eq!(edge.root(), whole.root());
        assert_eq!(store.hash_tiles, whole_store.hash_tiles);
        assert_eq!(store.bundles, whole_store.bundles);
    }

    #[test]
    fn batches_crossing_tile_boundaries_resume_byte_identically() {
        batches_with_restarts_match_one_run(&[1, 254, 1, 1, 300, 256, 65_536 - 813, 700]);
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        let mut edge = LogEdge::empty(true);
        edge.append(leaf_hash(b"a"), b"aaaa").unwrap();
        edge.take_writes();
        assert_eq!(edge.take_writes(), TileWrites::default());
    }

    #[test]
    fn resume_refuses_tiles_that_do_not_give_the_signed_root() {
        let mut edge = LogEdge::empty(true);
        let mut store = Store::default();
        for n in 0..300 {
            edge.append(leaf_hash(&entry(n)), &entry(n)).unwrap();
        }
        store.write(edge.take_writes());
        let err = LogEdge::resume(300, &[0u8; 32], &store, None).unwrap_err();
        assert!(
            matches!(err, ResumeError::RootMismatch { size: 300 }),
            "{err}"
        );
        let err = LogEdge::resume(300, &edge.root(), &store, Some((vec![0; 4], 1))).unwrap_err();
        assert!(
            matches!(
                err,
                ResumeError::Bundle {
                    want: 44,
                    got: 1,
                    ..
                }
            ),
            "{err}"
        );
        let err = LogEdge::resume(301, &edge.root(), &store, None).unwrap_err();
        assert!(
            matches!(err, ResumeError::EdgeTile { .. } | ResumeError::Peaks(_)),
            "{err}"
        );
    }

    #[test]
    fn an_edge_without_bundles_writes_only_hash_tiles() {
        let mut edge = LogEdge::empty(false);
        for n in 0..257 {
            edge.append(leaf_hash(&entry(n)), &entry(n)).unwrap();
        }
        let writes = edge.take_writes();
        assert!(writes.entry_bundles.is_empty());
        assert!(!writes.hash_tiles.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_batching_matches_one_run(
            sizes in proptest::collection::vec(0u64..600, 1..8)
        ) {
            batches_with_restarts_match_one_run(&sizes);
        }
    }
}
