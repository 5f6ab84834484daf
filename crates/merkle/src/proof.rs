//! Inclusion and consistency proofs: generation from stored subtree hashes and
//! verification with exactly the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! Generation follows the recursive definitions (RFC 9162 §2.1.3.1 `PATH` and
//! §2.1.4.1 `SUBPROOF`) iteratively: each proof element is the hash of a leaf range,
//! and each range is the fold of a few perfect subtrees that storage keeps.

use crate::hash::{Hash, node_hash};
use crate::tree::{NodeId, fold_peaks, peak_ids, range_nodes};

/// Why a proof cannot be made or does not verify. Never a panic.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder { old: u64, new: u64 },
    #[error("a consistency proof needs a non-empty old tree")]
    EmptyOldTree,
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength { expected: usize, got: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
}

/// Failure to generate a proof: bad arguments, or storage could not supply a hash.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError<E> {
    #[error(transparent)]
    Invalid(#[from] ProofError),
    #[error("reading stored hashes: {0}")]
    Source(E),
}

/// Storage of perfect-subtree hashes, as the tree emits them (see
/// [`crate::CompactTree::append_hash`]).
pub trait HashSource {
    type Error;
    /// Returns the hashes of `nodes`, in the same order. Each requested node is a
    /// complete subtree of the tree the proof is for.
    fn hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// Largest power of two strictly below `n` (`n >= 2`): RFC 6962's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The leaf ranges whose hashes form `PATH(index, D[0:size])`, leaf-most first.
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    let mut ranges = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The leaf ranges whose hashes form `PROOF(old, D[0:new])`, in proof order.
fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    if old == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    let (mut lo, mut hi, mut m, mut whole_old_tree) = (0u64, new, old, true);
    let mut ranges = Vec::with_capacity(64);
    loop {
        if m == hi - lo {
            // SUBPROOF(m, D[m], true) is empty: the verifier already knows that root.
            if !whole_old_tree {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// Fetches the perfect subtrees behind `ranges` in one batch and folds each range.
fn hash_ranges<S: HashSource>(
    ranges: &[(u64, u64)],
    source: &mut S,
) -> Result<Vec<Hash>, GenerateError<S::Error>> {
    let per_range: Vec<Vec<NodeId>> = ranges.iter().map(|&(a, b)| range_nodes(a, b)).collect();
    let all: Vec<NodeId> = per_range.iter().flatten().copied().collect();
    let hashes = source.hashes(&all).map_err(GenerateError::Source)?;
    let mut at = 0;
    Ok(per_range
        .iter()
        .map(|nodes| {
            let folded = fold_peaks(&hashes[at..at + nodes.len()]);
            at += nodes.len();
            folded
        })
        .collect())
}

/// The inclusion proof (audit path) for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<S: HashSource>(
    index: u64,
    size: u64,
    source: &mut S,
) -> Result<Vec<Hash>, GenerateError<S::Error>> {
    let ranges = inclusion_ranges(index, size)?;
    hash_ranges(&ranges, source)
}

/// The consistency proof between the trees of `old` and `new` leaves.
/// Empty when `old == new`.
pub fn consistency_proof<S: HashSource>(
    old: u64,
    new: u64,
    source: &mut S,
) -> Result<Vec<Hash>, GenerateError<S::Error>> {
    let ranges = consistency_ranges(old, new)?;
    hash_ranges(&ranges, source)
}

/// `MTH(D[0:size])` from stored subtree hashes.
pub fn root_from_source<S: HashSource>(
    size: u64,
    source: &mut S,
) -> Result<Hash, GenerateError<S::Error>> {
    let hashes = source
        .hashes(&peak_ids(size))
        .map_err(GenerateError::Source)?;
    Ok(fold_peaks(&hashes))
}

/// The peak hashes of a tree of `size` leaves, to resume a [`crate::CompactTree`].
pub fn peaks_from_source<S: HashSource>(
    size: u64,
    source: &mut S,
) -> Result<Vec<Hash>, GenerateError<S::Error>> {
    source
        .hashes(&peak_ids(size))
        .map_err(GenerateError::Source)
}

/// Number of hashes in an inclusion proof, without building it.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    Ok((inner + border) as usize)
}

/// Verifies an inclusion proof: RFC 9162 §2.1.3.2, step by step.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // 1. leaf_index must be below tree_size.
    let expected = inclusion_proof_len(index, size)?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // 2–3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    // 4.
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    if sn == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies a consistency proof: RFC 9162 §2.1.4.2, step by step. Equal sizes need an
/// empty proof and equal roots.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let expected = consistency_ranges(old_size, new_size)?.len();
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // 2. If first is an exact power of 2, prepend first_hash to the path.
    let path: Vec<&Hash> = if old_size.is_power_of_two() {
        std::iter::once(old_root).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    // 1. An empty path cannot prove anything for old < new.
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongProofLength { expected, got: 0 });
    };
    // 3–4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (**first, **first);
    // 6.
    for c in rest {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn == 0 && fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// A [`HashSource`] over an in-memory map, for tests and small tools.
#[derive(Default, Debug, Clone)]
pub struct MemoryHashes {
    pub nodes: std::collections::HashMap<NodeId, Hash>,
}

impl MemoryHashes {
    pub fn insert(&mut self, id: NodeId, hash: &Hash) {
        self.nodes.insert(id, *hash);
    }
}

/// A requested node that storage does not have.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no stored hash for node level {} index {}", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl HashSource for MemoryHashes {
    type Error = MissingNode;
    fn hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        nodes
            .iter()
            .map(|id| self.nodes.get(id).copied().ok_or(MissingNode(*id)))
            .collect()
    }
}
