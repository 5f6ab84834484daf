//! Merkle tree engine for certcentral's transparency logs.
//!
//! Everything here is pure computation over bytes: the RFC 6962 / RFC 9162 hashing
//! rules, an append-only tree that keeps only `O(log n)` state, inclusion and
//! consistency proofs (generation from stored hashes and verification), C2SP
//! tlog-tiles addressing, and C2SP tlog-checkpoint signed notes. Storage, clocks and
//! networking belong to the callers.

pub mod appender;
pub mod checkpoint;
pub mod hash;
pub mod note;
pub mod proof;
pub mod tiles;
pub mod tree;

pub use appender::{LogEdge, ResumeError, TileWrites, resume_tree};
pub use hash::{EMPTY_ROOT, Hash, empty_root, leaf_hash, node_hash};
pub use proof::{
    HashSource, ProofError, consistency_proof, inclusion_proof, root_from_source,
    verify_consistency, verify_inclusion,
};
pub use tiles::{EdgeTiles, ExpandedTile, TileHashSource, TileId, TileSource};
pub use tree::{CompactTree, NodeId};
