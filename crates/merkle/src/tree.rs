//! An append-only Merkle tree that keeps only its right edge in memory.
//!
//! A tree of `n` leaves is the fold of at most `popcount(n)` perfect subtrees (its
//! "peaks", the compact range `[0, n)`). Appending a leaf merges equal-sized peaks,
//! exactly like incrementing a binary counter, so memory is `O(log n)` and each append
//! costs one leaf hash plus, amortised, one node hash. Every node that becomes final is
//! handed to the caller, which decides what to persist (see [`crate::tiles`]).

use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

/// Names the perfect subtree of `2^level` leaves starting at leaf `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The first leaf covered by this node.
    pub fn first_leaf(&self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered by this node (saturating for absurd ids).
    pub fn end_leaf(&self) -> u64 {
        (self.index + 1)
            .checked_shl(self.level.into())
            .unwrap_or(u64::MAX)
    }
}

/// Errors when rebuilding a tree from stored state.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    #[error("a tree of size {size} has {expected} peaks, got {got}")]
    PeakCount {
        size: u64,
        expected: u32,
        got: usize,
    },
    #[error("the tree is full: 2^64 - 1 leaves")]
    Full,
}

/// The append-only tree: its size and the hashes of its peaks, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a tree from stored peak hashes (as listed by [`peak_ids`]).
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, TreeError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(TreeError::PeakCount {
                size,
                expected: size.count_ones(),
                got: peaks.len(),
            });
        }
        Ok(Self { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peak hashes, largest subtree first, matching [`peak_ids`] of [`Self::size`].
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends raw leaf data (hashed as an RFC 6962 leaf).
    pub fn append_data(
        &mut self,
        data: &[u8],
        on_final: impl FnMut(NodeId, &Hash),
    ) -> Result<u64, TreeError> {
        self.append_hash(leaf_hash(data), on_final)
    }

    /// Appends a leaf by its hash and returns its index. `on_final` is called for the
    /// leaf itself and for every interior node this append completes, bottom-up.
    pub fn append_hash(
        &mut self,
        leaf: Hash,
        mut on_final: impl FnMut(NodeId, &Hash),
    ) -> Result<u64, TreeError> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(TreeError::Full)?;
        on_final(NodeId::new(0, index), &leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        let mut position = index;
        // Each trailing one bit of the old size is a peak of the same size as the
        // subtree being carried, so the two merge.
        while position & 1 == 1 {
            let left = self.peaks.pop().expect("popcount(size) peaks are kept");
            hash = node_hash(&left, &hash);
            level += 1;
            position >>= 1;
            on_final(NodeId::new(level, position), &hash);
        }
        self.peaks.push(hash);
        self.size = new_size;
        Ok(index)
    }

    /// The tree head hash `MTH(D[0:size])`.
    pub fn root(&self) -> Hash {
        fold_peaks(&self.peaks)
    }
}

/// Folds peaks (largest first) into a root: `MTH = node(p1, node(p2, … pk))`, the
/// shape RFC 6962's recursive definition produces for any tree size.
pub fn fold_peaks(peaks: &[Hash]) -> Hash {
    let mut iter = peaks.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |right, left| node_hash(left, &right))
}

/// The perfect subtrees whose hashes make up a tree of `size` leaves, largest first.
pub fn peak_ids(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Decomposes the leaf range `[start, end)` into maximal aligned perfect subtrees, left
/// to right. For the ranges RFC 6962's recursion produces (start aligned to the next
/// power of two above the length), folding them gives `MTH(D[start:end])`.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut at = start;
    while at < end {
        let align = if at == 0 { 63 } else { at.trailing_zeros() };
        let fit = 63 - (end - at).leading_zeros();
        let level = align.min(fit);
        nodes.push(NodeId::new(level as u8, at >> level));
        at += 1u64 << level;
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_reports_each_final_node_once() {
        let mut tree = CompactTree::new();
        let mut seen = Vec::new();
        for i in 0..8u8 {
            tree.append_data(&[i], |id, _| seen.push(id)).unwrap();
        }
        // 8 leaves + 4 + 2 + 1 interior nodes.
        assert_eq!(seen.len(), 15);
        assert!(seen.contains(&NodeId::new(3, 0)));
        assert_eq!(tree.peaks().len(), 1);
    }

    #[test]
    fn from_peaks_checks_the_count() {
        assert_eq!(
            CompactTree::from_peaks(5, vec![[0; 32]]),
            Err(TreeError::PeakCount {
                size: 5,
                expected: 2,
                got: 1
            })
        );
    }

    #[test]
    fn range_decomposition_matches_binary_digits() {
        assert_eq!(
            peak_ids(13),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        assert_eq!(
            range_nodes(8, 13),
            vec![NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        assert!(peak_ids(0).is_empty());
        assert_eq!(peak_ids(u64::MAX).len(), 64);
    }
}
