//! C2SP tlog-tiles: the tree stored as immutable 256-hash tiles.
//!
//! A tile at tile-level `L` and index `N` holds the hashes of the perfect subtrees at
//! tree level `8·L`, indices `256·N .. 256·N + width`. Levels between multiples of 8
//! are not stored: they are recomputed from the tile below, at most 127 hashes each.
//! Full tiles (width 256) never change; the right edge of each level is a partial tile
//! published as `….p/<width>`.

use crate::hash::Hash;
use crate::proof::HashSource;
use crate::tree::NodeId;

/// Tile height: every tile spans 8 tree levels and holds up to 2^8 hashes.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// A hash tile: tile-level, index within the level, and width (1..=256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
    pub width: u16,
}

/// A parsed `tile/…` path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`
    Hashes(TileId),
    /// `tile/data/<N>[.p/<W>]` (static-ct-api) or `tile/entries/<N>[.p/<W>]` (tlog-tiles).
    Data { index: u64, width: u16 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TileError {
    #[error("malformed tile path: {0}")]
    BadPath(&'static str),
    #[error("node level {level} index {index} is not a complete subtree of a tree of size {size}")]
    NodeBeyondTree { level: u8, index: u64, size: u64 },
    #[error("tile level {level} index {index} has {got} bytes, expected {expected}")]
    CorruptTile {
        level: u8,
        index: u64,
        expected: usize,
        got: usize,
    },
    #[error("partial tiles do not match a tree of size {0}")]
    EdgeMismatch(u64),
}

impl TileId {
    /// The tile holding tree-level `8·level` hashes `256·index ..` in a tree of `size`
    /// leaves, with the width that tree has; `None` if the tree has no such hashes.
    pub fn in_tree(level: u8, index: u64, size: u64) -> Option<TileId> {
        let count = level_count(level, size);
        let start = index.checked_mul(TILE_WIDTH)?;
        if start >= count {
            return None;
        }
        let width = (count - start).min(TILE_WIDTH) as u16;
        Some(TileId {
            level,
            index,
            width,
        })
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// `tile/<L>/<N>[.p/<W>]`
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            encode_index(self.index),
            partial_suffix(self.width)
        )
    }
}

/// Number of complete nodes at tree level `8·tile_level` in a tree of `size` leaves.
fn level_count(tile_level: u8, size: u64) -> u64 {
    size.checked_shr(u32::from(tile_level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

fn partial_suffix(width: u16) -> String {
    if u64::from(width) == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// The path of a data tile: `tile/<kind>/<N>[.p/<W>]`, `kind` being `data`
/// (static-ct-api) or `entries` (tlog-tiles).
pub fn data_tile_path(kind: &str, index: u64, width: u16) -> String {
    format!(
        "tile/{kind}/{}{}",
        encode_index(index),
        partial_suffix(width)
    )
}

/// Encodes a tile index as 3-digit path elements, all but the last prefixed with `x`:
/// `1234067` → `x001/x234/067`.
pub fn encode_index(mut index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        groups.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Parses a path relative to the log prefix, e.g. `tile/0/x001/234.p/17`. Only the
/// canonical form is accepted, so each tile has exactly one URL.
pub fn parse_tile_path(path: &str) -> Result<TilePath, TileError> {
    let rest = path
        .strip_prefix("tile/")
        .ok_or(TileError::BadPath("must start with tile/"))?;
    let (kind, rest) = rest
        .split_once('/')
        .ok_or(TileError::BadPath("missing tile index"))?;
    let (index_part, width) = match rest.split_once(".p/") {
        Some((index, width)) => {
            let width = parse_decimal(width).ok_or(TileError::BadPath("bad partial width"))?;
            if width == 0 || width >= TILE_WIDTH {
                return Err(TileError::BadPath("partial width must be 1..=255"));
            }
            (index, width as u16)
        }
        None => (rest, TILE_WIDTH as u16),
    };
    let index = parse_index(index_part)?;
    match kind {
        "data" | "entries" => Ok(TilePath::Data { index, width }),
        level => {
            let level = parse_decimal(level).ok_or(TileError::BadPath("bad tile level"))?;
            if level > 63 / u64::from(TILE_HEIGHT) {
                return Err(TileError::BadPath("tile level out of range"));
            }
            Ok(TilePath::Hashes(TileId {
                level: level as u8,
                index,
                width,
            }))
        }
    }
}

/// Canonical decimal (no sign, no leading zeros except "0"), at most 20 digits.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn parse_index(s: &str) -> Result<u64, TileError> {
    let groups: Vec<&str> = s.split('/').collect();
    if groups.len() > 7 {
        return Err(TileError::BadPath("tile index too long"));
    }
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let last = i + 1 == groups.len();
        let digits = if last {
            *group
        } else {
            group
                .strip_prefix('x')
                .ok_or(TileError::BadPath("index element needs an x prefix"))?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TileError::BadPath("index elements are 3 digits"));
        }
        if i == 0 && !last && digits == "000" {
            return Err(TileError::BadPath("non-canonical tile index"));
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| TileError::BadPath("bad index"))?;
        index = index
            .checked_mul(1000)
            .and_then(|v| v.checked_add(value))
            .ok_or(TileError::BadPath("tile index overflows"))?;
    }
    Ok(index)
}

/// Reads stored tiles. An implementation returns exactly `width · 32` bytes.
pub trait TileSource {
    type Error;
    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, Self::Error>;
}

/// Either the tile store failed or the tiles are inconsistent with the request.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError<E> {
    #[error("reading tile: {0}")]
    Source(E),
    #[error(transparent)]
    Tile(#[from] TileError),
}

/// Serves any perfect-subtree hash of a tree of `size` leaves from its tiles.
pub struct TileHashSource<S> {
    source: S,
    size: u64,
}

impl<S: TileSource> TileHashSource<S> {
    pub fn new(source: S, size: u64) -> Self {
        Self { source, size }
    }

    pub fn into_inner(self) -> S {
        self.source
    }

    fn tile_hashes(
        &mut self,
        cache: &mut Vec<(TileId, Vec<u8>)>,
        tile: TileId,
    ) -> Result<usize, TileReadError<S::Error>> {
        if let Some(pos) = cache.iter().position(|(id, _)| *id == tile) {
            return Ok(pos);
        }
        let bytes = self.source.read_tile(tile).map_err(TileReadError::Source)?;
        let expected = usize::from(tile.width) * 32;
        if bytes.len() != expected {
            return Err(TileError::CorruptTile {
                level: tile.level,
                index: tile.index,
                expected,
                got: bytes.len(),
            }
            .into());
        }
        cache.push((tile, bytes));
        Ok(cache.len() - 1)
    }
}

/// Folds `2^k` consecutive hashes (a perfect subtree's bottom row) into its root.
pub fn subtree_root(row: &[u8]) -> Hash {
    let mut level: Vec<Hash> = row
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunk"))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| crate::hash::node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied().unwrap_or(crate::hash::EMPTY_ROOT)
}

impl<S: TileSource> HashSource for TileHashSource<S> {
    type Error = TileReadError<S::Error>;

    fn hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        let mut cache: Vec<(TileId, Vec<u8>)> = Vec::new();
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            if node.level > 63 || node.end_leaf() > self.size || node.end_leaf() == u64::MAX {
                return Err(TileError::NodeBeyondTree {
                    level: node.level,
                    index: node.index,
                    size: self.size,
                }
                .into());
            }
            let tile_level = node.level / TILE_HEIGHT;
            let sub_level = node.level % TILE_HEIGHT;
            let base = node.index << sub_level;
            let tile = TileId::in_tree(tile_level, base / TILE_WIDTH, self.size)
                .expect("a complete node lies inside the tree's tiles");
            let slot = self.tile_hashes(&mut cache, tile)?;
            let offset = (base % TILE_WIDTH) as usize * 32;
            let len = (1usize << sub_level) * 32;
            out.push(subtree_root(&cache[slot].1[offset..offset + len]));
        }
        Ok(out)
    }
}

/// A tile with every level it spans computed once: the hashes of all complete
/// subtrees whose bottom row lies in the tile. Proof generation then costs look-ups
/// instead of up to 127 hashes per node; full tiles never change, so an expanded tile
/// can be cached for the life of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpandedTile {
    /// `levels[r]` holds the `width >> r` complete nodes `r` levels above the row.
    levels: Vec<Vec<Hash>>,
}

impl ExpandedTile {
    /// Expands a tile's bytes (`width · 32`, width 1..=256).
    pub fn new(bytes: &[u8]) -> Result<Self, TileError> {
        let width = bytes.len() / 32;
        if !bytes.len().is_multiple_of(32) || width == 0 || width as u64 > TILE_WIDTH {
            return Err(TileError::CorruptTile {
                level: 0,
                index: 0,
                expected: width.clamp(1, TILE_WIDTH as usize) * 32,
                got: bytes.len(),
            });
        }
        let row: Vec<Hash> = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunk"))
            .collect();
        let mut levels = vec![row];
        for _ in 1..TILE_HEIGHT {
            let below = levels.last().expect("row present");
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| crate::hash::node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Ok(Self { levels })
    }

    /// Number of hashes in the tile's bottom row.
    pub fn width(&self) -> u16 {
        self.levels[0].len() as u16
    }

    /// The node `sub_level` levels above the row, at `offset` within the tile;
    /// `None` if that subtree is not complete in this tile.
    pub fn node(&self, sub_level: u8, offset: usize) -> Option<Hash> {
        self.levels
            .get(usize::from(sub_level))?
            .get(offset)
            .copied()
    }
}

/// The right edge of every tile level while a tree grows: `O(log n)` memory.
///
/// Feed it every node the tree finalises ([`EdgeTiles::observe`]); after a batch,
/// [`EdgeTiles::flush`] returns the tiles to write: tiles that became full, and the
/// current partial tile of each level that changed.
#[derive(Debug, Default, Clone)]
pub struct EdgeTiles {
    /// `edges[L]` holds the hashes of the incomplete tile at tile-level `L`.
    edges: Vec<Vec<u8>>,
    /// Index of the incomplete tile at each level.
    edge_index: Vec<u64>,
    dirty: Vec<bool>,
    completed: Vec<(TileId, Vec<u8>)>,
}

impl EdgeTiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// The partial tiles that must be loaded to resume a tree of `size` leaves.
    pub fn partial_tiles(size: u64) -> Vec<TileId> {
        (0..=63 / TILE_HEIGHT)
            .filter_map(|level| {
                let count = level_count(level, size);
                (!count.is_multiple_of(TILE_WIDTH)).then_some(TileId {
                    level,
                    index: count / TILE_WIDTH,
                    width: (count % TILE_WIDTH) as u16,
                })
            })
            .collect()
    }

    /// Resumes from the partial tiles listed by [`EdgeTiles::partial_tiles`].
    pub fn resume(size: u64, partials: Vec<(TileId, Vec<u8>)>) -> Result<Self, TileError> {
        let wanted = Self::partial_tiles(size);
        if wanted.len() != partials.len() {
            return Err(TileError::EdgeMismatch(size));
        }
        let mut edges = Self::new();
        for level in 0..=63 / TILE_HEIGHT {
            let count = level_count(level, size);
            edges.ensure_level(level as usize, count / TILE_WIDTH);
        }
        for (want, (id, bytes)) in wanted.iter().zip(partials) {
            if *want != id || bytes.len() != usize::from(id.width) * 32 {
                return Err(TileError::EdgeMismatch(size));
            }
            edges.edges[usize::from(id.level)] = bytes;
        }
        Ok(edges)
    }

    fn ensure_level(&mut self, level: usize, index: u64) {
        while self.edges.len() <= level {
            self.edges
                .push(Vec::with_capacity(TILE_WIDTH as usize * 32));
            self.edge_index.push(0);
            self.dirty.push(false);
        }
        if self.edges[level].is_empty() {
            self.edge_index[level] = index;
        }
    }

    /// Records a finalised node; nodes off the tile levels are ignored. Nodes of a
    /// level must arrive in index order, which [`crate::CompactTree`] guarantees.
    pub fn observe(&mut self, node: NodeId, hash: &Hash) {
        if !node.level.is_multiple_of(TILE_HEIGHT) {
            return;
        }
        let level = usize::from(node.level / TILE_HEIGHT);
        self.ensure_level(level, node.index / TILE_WIDTH);
        let edge = &mut self.edges[level];
        debug_assert_eq!(
            self.edge_index[level] * TILE_WIDTH + (edge.len() / 32) as u64,
            node.index
        );
        edge.extend_from_slice(hash);
        self.dirty[level] = true;
        if edge.len() == TILE_WIDTH as usize * 32 {
            let full = std::mem::replace(edge, Vec::with_capacity(TILE_WIDTH as usize * 32));
            let id = TileId {
                level: level as u8,
                index: self.edge_index[level],
                width: TILE_WIDTH as u16,
            };
            self.edge_index[level] += 1;
            self.completed.push((id, full));
        }
    }

    /// Tiles changed since the last flush: full tiles first, then each changed
    /// level's partial tile.
    pub fn flush(&mut self) -> Vec<(TileId, Vec<u8>)> {
        let mut out = std::mem::take(&mut self.completed);
        for (level, dirty) in self.dirty.iter_mut().enumerate() {
            if *dirty && !self.edges[level].is_empty() {
                out.push((
                    TileId {
                        level: level as u8,
                        index: self.edge_index[level],
                        width: (self.edges[level].len() / 32) as u16,
                    },
                    self.edges[level].clone(),
                ));
            }
            *dirty = false;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec_examples() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(
            TileId {
                level: 1,
                index: 1234067,
                width: 8
            }
            .path(),
            "tile/1/x001/x234/067.p/8"
        );
        assert_eq!(data_tile_path("data", 5, 256), "tile/data/005");
    }

    #[test]
    fn paths_round_trip_and_reject_non_canonical_forms() {
        for index in [0u64, 7, 999, 1000, 1234067, u64::MAX / 256] {
            for width in [1u16, 255, 256] {
                let id = TileId {
                    level: 2,
                    index,
                    width,
                };
                assert_eq!(parse_tile_path(&id.path()), Ok(TilePath::Hashes(id)));
            }
        }
        assert_eq!(
            parse_tile_path("tile/data/x001/002.p/3"),
            Ok(TilePath::Data {
                index: 1002,
                width: 3
            })
        );
        for bad in [
            "tile/0/1",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/01",
            "tile/00/001",
            "tile/8/001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/xx01/002",
            "tile/-1/000",
            "tiles/0/000",
            "tile/0/x999/x999/x999/x999/x999/x999/999",
            "tile/0/",
            "tile/",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn expanded_tiles_match_direct_subtree_roots() {
        let row: Vec<u8> = (0..200u32)
            .flat_map(|i| crate::hash::leaf_hash(&i.to_be_bytes()))
            .collect();
        let tile = ExpandedTile::new(&row).unwrap();
        assert_eq!(tile.width(), 200);
        for sub_level in 0..8u8 {
            let span = 1usize << sub_level;
            for offset in 0..(200 / span) {
                let bytes = &row[offset * span * 32..(offset + 1) * span * 32];
                assert_eq!(tile.node(sub_level, offset), Some(subtree_root(bytes)));
            }
            assert_eq!(tile.node(sub_level, 200 / span), None);
        }
        assert!(ExpandedTile::new(&[0u8; 33]).is_err());
        assert!(ExpandedTile::new(&[]).is_err());
        assert!(ExpandedTile::new(&vec![0u8; 257 * 32]).is_err());
    }

    #[test]
    fn partial_tiles_for_a_size() {
        assert!(EdgeTiles::partial_tiles(0).is_empty());
        assert!(EdgeTiles::partial_tiles(256).contains(&TileId {
            level: 1,
            index: 0,
            width: 1
        }));
        assert_eq!(
            EdgeTiles::partial_tiles(70000),
            vec![
                TileId {
                    level: 0,
                    index: 273,
                    width: 112
                },
                TileId {
                    level: 1,
                    index: 1,
                    width: 17
                },
                TileId {
                    level: 2,
                    index: 0,
                    width: 1
                }
            ]
        );
    }
}
