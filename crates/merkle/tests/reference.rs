//! The engine against a naive transcription of RFC 6962 §2.1's recursive definitions:
//! exhaustively for every size up to 300, and by proptest for random sizes up to 10^6.
//! Proofs are generated both from the in-memory node store and from tiles alone.

use std::collections::HashMap;
use std::sync::OnceLock;

use merkle::proof::{MemoryHashes, inclusion_proof_len};
use merkle::tiles::{EdgeTiles, TileHashSource, TileId, TileSource};
use merkle::{
    CompactTree, Hash, consistency_proof, inclusion_proof, leaf_hash, node_hash, root_from_source,
    verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

/// `MTH(D[n])`, literally.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `PATH(m, D[n])`, literally.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// `SUBPROOF(m, D[n], b)`, literally.
fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { vec![] } else { vec![mth(leaves)] };
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

struct Built {
    leaves: Vec<Hash>,
    store: MemoryHashes,
    tiles: MemTiles,
    /// Tiles as of each flush, so tiles are also tested at sizes they were partial at.
    roots: Vec<Hash>,
}

#[derive(Default)]
struct MemTiles(HashMap<TileId, Vec<u8>>);

impl TileSource for &MemTiles {
    type Error = TileId;
    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, TileId> {
        self.0.get(&tile).cloned().ok_or(tile)
    }
}

/// Builds a tree of `n` leaves, flushing tiles after every leaf for small trees (so
/// every partial tile exists) and every 1000 leaves for large ones.
fn build(n: u64, keep_roots: bool) -> Built {
    let mut tree = CompactTree::new();
    let mut store = MemoryHashes::default();
    let mut edges = EdgeTiles::new();
    let mut tiles = MemTiles::default();
    let mut leaves = Vec::with_capacity(n as usize);
    let mut roots = Vec::new();
    for i in 0..n {
        let h = leaf(i);
        leaves.push(h);
        tree.append_hash(h, |id, hash| {
            store.insert(id, hash);
            edges.observe(id, hash);
        })
        .unwrap();
        if n <= 1000 || i % 1000 == 999 {
            tiles.0.extend(edges.flush());
        }
        if keep_roots {
            roots.push(tree.root());
        }
    }
    tiles.0.extend(edges.flush());
    Built {
        leaves,
        store,
        tiles,
        roots,
    }
}

fn small() -> &'static Built {
    static SMALL: OnceLock<Built> = OnceLock::new();
    SMALL.get_or_init(|| build(300, true))
}

fn large() -> &'static Built {
    static LARGE: OnceLock<Built> = OnceLock::new();
    LARGE.get_or_init(|| build(1_000_000, false))
}

#[test]
fn every_root_inclusion_and_consistency_proof_up_to_300() {
    let built = small();
    let mut store = built.store.clone();
    for n in 1..=300usize {
        let leaves = &built.leaves[..n];
        let root = mth(leaves);
        assert_eq!(built.roots[n - 1], root, "root of {n}");
        let mut tiles = TileHashSource::new(&built.tiles, n as u64);
        assert_eq!(root_from_source(n as u64, &mut tiles).unwrap(), root);
        for m in 0..n {
            let want = path(m, leaves);
            let got = inclusion_proof(m as u64, n as u64, &mut store).unwrap();
            assert_eq!(got, want, "PATH({m}, D[{n}])");
            assert_eq!(inclusion_proof_len(m as u64, n as u64).unwrap(), want.len());
            verify_inclusion(&leaves[m], m as u64, n as u64, &got, &root).unwrap();
            let from_tiles = inclusion_proof(m as u64, n as u64, &mut tiles).unwrap();
            assert_eq!(from_tiles, want, "PATH({m}, D[{n}]) from tiles");
        }
        for m in 1..=n {
            let want = subproof(m, leaves, true);
            let got = consistency_proof(m as u64, n as u64, &mut store).unwrap();
            assert_eq!(got, want, "PROOF({m}, D[{n}])");
            verify_consistency(m as u64, n as u64, &built.roots[m - 1], &root, &got).unwrap();
            let from_tiles = consistency_proof(m as u64, n as u64, &mut tiles).unwrap();
            assert_eq!(from_tiles, want, "PROOF({m}, D[{n}]) from tiles");
        }
    }
}

#[test]
fn tampered_proofs_fail_for_small_trees() {
    let built = small();
    let mut store = built.store.clone();
    for n in [1usize, 2, 3, 7, 8, 9, 255, 256, 257, 300] {
        let root = built.roots[n - 1];
        for m in 0..n {
            let proof = inclusion_proof(m as u64, n as u64, &mut store).unwrap();
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][0] ^= 1;
                assert!(
                    verify_inclusion(&built.leaves[m], m as u64, n as u64, &bad, &root).is_err()
                );
            }
            let wrong_leaf = leaf(10_000);
            assert!(verify_inclusion(&wrong_leaf, m as u64, n as u64, &proof, &root).is_err());
            if n > 1 {
                let other = (m + 1) % n;
                assert!(
                    verify_inclusion(&built.leaves[m], other as u64, n as u64, &proof, &root)
                        .is_err()
                );
            }
        }
        for m in 1..n {
            let proof = consistency_proof(m as u64, n as u64, &mut store).unwrap();
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][31] ^= 0x80;
                assert!(
                    verify_consistency(m as u64, n as u64, &built.roots[m - 1], &root, &bad)
                        .is_err()
                );
            }
            let wrong_old = built.roots[m];
            assert!(verify_consistency(m as u64, n as u64, &wrong_old, &root, &proof).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_large_trees_match_the_reference(n in 1u64..=1_000_000, seed in any::<u64>()) {
        let built = large();
        let leaves = &built.leaves[..n as usize];
        let root = mth(leaves);
        let mut tiles = TileHashSource::new(&built.tiles, n);
        // Tiles were flushed every 1000 leaves: sizes between flushes lack their
        // partial tiles, so tile-based reads are checked at flushed sizes only.
        let tiled = n % 1000 == 0 || n == 1_000_000;
        let mut store = built.store.clone();
        let stored_root = root_from_source(n, &mut store).unwrap();
        prop_assert_eq!(stored_root, root);

        let m = seed % n;
        let want = path(m as usize, leaves);
        let got = inclusion_proof(m, n, &mut store).unwrap();
        prop_assert_eq!(&got, &want);
        prop_assert!(verify_inclusion(&leaves[m as usize], m, n, &got, &root).is_ok());
        if tiled {
            prop_assert_eq!(inclusion_proof(m, n, &mut tiles).unwrap(), want);
        }

        let old = 1 + (seed >> 20) % n;
        let want = subproof(old as usize, leaves, true);
        let got = consistency_proof(old, n, &mut store).unwrap();
        prop_assert_eq!(&got, &want);
        let old_root = mth(&leaves[..old as usize]);
        prop_assert!(verify_consistency(old, n, &old_root, &root, &got).is_ok());
    }

    #[test]
    fn tile_reads_at_flushed_sizes_match(k in 1u64..=1000, seed in any::<u64>()) {
        let built = large();
        let n = k * 1000;
        let mut tiles = TileHashSource::new(&built.tiles, n);
        let leaves = &built.leaves[..n as usize];
        let m = seed % n;
        prop_assert_eq!(inclusion_proof(m, n, &mut tiles).unwrap(), path(m as usize, leaves));
        let old = 1 + (seed >> 32) % n;
        prop_assert_eq!(
            consistency_proof(old, n, &mut tiles).unwrap(),
            subproof(old as usize, leaves, true)
        );
    }

    #[test]
    fn verification_never_panics_on_arbitrary_input(
        index in any::<u64>(), size in any::<u64>(), old in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        a in any::<[u8; 32]>(), b in any::<[u8; 32]>(),
    ) {
        let _ = verify_inclusion(&a, index, size, &proof, &b);
        let _ = verify_consistency(old, size, &a, &b, &proof);
        let _ = verify_consistency(old % (size.max(1)), size, &a, &b, &proof);
    }
}

#[test]
fn resumed_tree_and_edges_continue_identically() {
    let built = large();
    let n = 70_123u64;
    // Resume at a flushed size from tiles alone, then append and compare.
    let resume_at = 70_000u64;
    let mut tiles = TileHashSource::new(&built.tiles, resume_at);
    let peaks = merkle::proof::peaks_from_source(resume_at, &mut tiles).unwrap();
    let mut tree = CompactTree::from_peaks(resume_at, peaks).unwrap();
    let partials = EdgeTiles::partial_tiles(resume_at)
        .into_iter()
        .map(|id| (id, built.tiles.0[&id].clone()))
        .collect();
    let mut edges = EdgeTiles::resume(resume_at, partials).unwrap();
    for i in resume_at..n {
        tree.append_hash(leaf(i), |id, h| edges.observe(id, h))
            .unwrap();
    }
    assert_eq!(tree.root(), mth(&built.leaves[..n as usize]));
    for (id, bytes) in edges.flush() {
        if let Some(existing) = built.tiles.0.get(&id) {
            assert_eq!(existing, &bytes, "{}", id.path());
        }
        let fresh = TileId::in_tree(id.level, id.index, n).unwrap();
        assert_eq!(fresh, id);
    }
}
