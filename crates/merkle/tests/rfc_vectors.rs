//! The RFC 6962 reference vectors (eight leaves, as published with the CT reference
//! implementation): roots, audit paths and consistency proofs.

use merkle::proof::{MemoryHashes, ProofError};
use merkle::{
    CompactTree, Hash, consistency_proof, inclusion_proof, leaf_hash, verify_consistency,
    verify_inclusion,
};

const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn build() -> (Vec<Hash>, MemoryHashes) {
    let mut tree = CompactTree::new();
    let mut store = MemoryHashes::default();
    let mut roots = Vec::new();
    for leaf in LEAVES {
        tree.append_data(leaf, |id, hash| store.insert(id, hash))
            .unwrap();
        roots.push(tree.root());
    }
    (roots, store)
}

#[test]
fn roots_of_every_prefix_match_the_reference() {
    let (roots, _) = build();
    for (size, (got, want)) in roots.iter().zip(ROOTS).enumerate() {
        assert_eq!(*got, h(want), "root of {} leaves", size + 1);
    }
}

#[test]
fn audit_paths_match_the_reference() {
    let cases: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let (roots, mut store) = build();
    for (index, size, want) in cases {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        let got = inclusion_proof(index, size, &mut store).unwrap();
        assert_eq!(got, want, "PATH({index}, D[{size}])");
        let leaf = leaf_hash(LEAVES[index as usize]);
        verify_inclusion(&leaf, index, size, &got, &roots[size as usize - 1]).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_reference() {
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    let (roots, mut store) = build();
    for (old, new, want) in cases {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        let got = consistency_proof(old, new, &mut store).unwrap();
        assert_eq!(got, want, "PROOF({old}, D[{new}])");
        let (old_root, new_root) = (roots[old as usize - 1], roots[new as usize - 1]);
        verify_consistency(old, new, &old_root, &new_root, &got).unwrap();
    }
}

#[test]
fn the_empty_tree_hashes_to_sha256_of_nothing() {
    assert_eq!(
        CompactTree::new().root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

#[test]
fn out_of_range_arguments_are_errors_not_panics() {
    let (roots, mut store) = build();
    let leaf = leaf_hash(LEAVES[0]);
    assert!(matches!(
        inclusion_proof(8, 8, &mut store),
        Err(merkle::proof::GenerateError::Invalid(
            ProofError::IndexOutOfRange { .. }
        ))
    ));
    assert_eq!(
        verify_inclusion(&leaf, 8, 8, &[], &roots[7]),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert_eq!(
        verify_inclusion(&leaf, 0, 0, &[], &roots[7]),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert!(matches!(
        consistency_proof(5, 4, &mut store),
        Err(merkle::proof::GenerateError::Invalid(
            ProofError::SizeOrder { old: 5, new: 4 }
        ))
    ));
    assert_eq!(
        verify_consistency(5, 4, &roots[4], &roots[3], &[]),
        Err(ProofError::SizeOrder { old: 5, new: 4 })
    );
    assert_eq!(
        verify_consistency(0, 4, &roots[0], &roots[3], &[]),
        Err(ProofError::EmptyOldTree)
    );
    // Wrong lengths: one hash too few and one too many.
    let proof = inclusion_proof(0, 8, &mut store).unwrap();
    assert!(matches!(
        verify_inclusion(&leaf, 0, 8, &proof[..2], &roots[7]),
        Err(ProofError::WrongProofLength {
            expected: 3,
            got: 2
        })
    ));
    let mut long = proof.clone();
    long.push([0; 32]);
    assert!(matches!(
        verify_inclusion(&leaf, 0, 8, &long, &roots[7]),
        Err(ProofError::WrongProofLength { .. })
    ));
    let proof = consistency_proof(6, 8, &mut store).unwrap();
    assert!(matches!(
        verify_consistency(6, 8, &roots[5], &roots[7], &proof[1..]),
        Err(ProofError::WrongProofLength { .. })
    ));
    assert!(matches!(
        verify_consistency(6, 8, &roots[5], &roots[6], &proof),
        Err(ProofError::RootMismatch)
    ));
    assert!(matches!(
        verify_consistency(3, 3, &roots[2], &roots[3], &[]),
        Err(ProofError::RootMismatch)
    ));
}
