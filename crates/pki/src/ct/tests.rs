use super::*;
use crate::tls::{Codec, MAX_U16};
use proptest::prelude::*;

fn parse_merkle_tree_leaf(input: &[u8]) -> Result<TimestampedEntry, CtError> {
    MerkleTreeLeaf::read_bytes(input).map(|leaf| leaf.timestamped_entry)
}

fn sct_list(scts: &[SignedCertificateTimestamp]) -> SignedCertificateTimestampList {
    SignedCertificateTimestampList {
        sct_list: scts.to_vec(),
    }
}

fn encode_sct_list(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    sct_list(scts).to_bytes().unwrap()
}

fn decode_sct_list(input: &[u8]) -> Result<Vec<SignedCertificateTimestamp>, CtError> {
    SignedCertificateTimestampList::read_bytes(input).map(|l| l.sct_list)
}

fn decode_sct_list_extension_value(
    input: &[u8],
) -> Result<Vec<SignedCertificateTimestamp>, CtError> {
    SignedCertificateTimestampList::from_extension_value(input).map(|l| l.sct_list)
}

fn try_encode_certificate_chain(chain: &[Vec<u8>]) -> Result<Vec<u8>, CtError> {
    CertificateChain {
        certificates: chain.to_vec(),
    }
    .to_bytes()
}

fn decode_certificate_chain(input: &[u8]) -> Result<Vec<Vec<u8>>, CtError> {
    CertificateChain::read_bytes(input).map(|c| c.certificates)
}

fn x509_entry() -> TimestampedEntry {
    TimestampedEntry {
        timestamp: 0x0102_0304_0506_0708,
        entry: SignedEntry::X509(vec![0xaa, 0xbb]),
        extensions: vec![],
    }
}

fn precert_entry() -> TimestampedEntry {
    TimestampedEntry {
        timestamp: 1,
        entry: SignedEntry::Precert {
            issuer_key_hash: [0x11; 32],
            tbs_certificate: vec![0x30, 0x00],
        },
        extensions: vec![0, 0, 5, 0, 0, 0, 0, 9],
    }
}

#[test]
fn timestamped_entry_x509_exact_bytes() {
    let mut out = Vec::new();
    x509_entry().encode(&mut out).unwrap();
    assert_eq!(
        hex::encode(&out),
        "0102030405060708\
         0000\
         000002aabb\
         0000"
    );
    let (back, used) = TimestampedEntry::read_prefix(&out).unwrap();
    assert_eq!(used, out.len());
    assert_eq!(back, x509_entry());
}

#[test]
fn timestamped_entry_precert_exact_bytes() {
    let mut out = Vec::new();
    precert_entry().encode(&mut out).unwrap();
    let expected = format!(
        "{}{}{}{}{}",
        "0000000000000001",
        "0001",
        "11".repeat(32),
        "0000023000",
        "00080000050000000009"
    );
    assert_eq!(hex::encode(&out), expected);
    assert_eq!(
        TimestampedEntry::read_prefix(&out).unwrap().0,
        precert_entry()
    );
}

#[test]
fn timestamped_entry_rejects_truncation_at_every_length() {
    let mut out = Vec::new();
    precert_entry().encode(&mut out).unwrap();
    for n in 0..out.len() {
        assert!(
            TimestampedEntry::read_prefix(&out[..n]).is_err(),
            "prefix {n}"
        );
    }
}

#[test]
fn timestamped_entry_rejects_unknown_entry_type_and_empty_cert() {
    let bad_type = hex::decode("0000000000000001000200").unwrap();
    assert_eq!(
        TimestampedEntry::read_prefix(&bad_type).unwrap_err(),
        CtError::UnknownEntryType(2)
    );
    let empty_cert = hex::decode("000000000000000100000000000000").unwrap();
    assert_eq!(
        TimestampedEntry::read_prefix(&empty_cert).unwrap_err(),
        CtError::Empty("ASN.1Cert")
    );
}

#[test]
fn encode_rejects_oversized_extensions() {
    let mut e = x509_entry();
    e.extensions = vec![0; MAX_U16 + 1];
    let mut out = vec![9];
    assert!(matches!(e.encode(&mut out), Err(CtError::TooLong { .. })));
    assert_eq!(out, vec![9], "nothing written on error");
}

#[test]
fn merkle_tree_leaf_is_version_leaf_type_then_entry() {
    let leaf = merkle_tree_leaf(&x509_entry());
    assert_eq!(&leaf[..2], &[0, 0]);
    assert_eq!(parse_merkle_tree_leaf(&leaf).unwrap(), x509_entry());
    let mut trailing = leaf.clone();
    trailing.push(0);
    assert_eq!(
        parse_merkle_tree_leaf(&trailing).unwrap_err(),
        CtError::TrailingData(1)
    );
    let mut v2 = leaf.clone();
    v2[0] = 1;
    assert_eq!(
        parse_merkle_tree_leaf(&v2).unwrap_err(),
        CtError::UnsupportedVersion(1)
    );
    let mut lt = leaf;
    lt[1] = 1;
    assert_eq!(
        parse_merkle_tree_leaf(&lt).unwrap_err(),
        CtError::UnknownLeafType(1)
    );
}

#[test]
fn sct_signed_data_has_certificate_timestamp_signature_type() {
    let data = sct_signed_data(&precert_entry());
    let mut entry = Vec::new();
    precert_entry().encode(&mut entry).unwrap();
    assert_eq!(&data[..2], &[0, 0]);
    assert_eq!(&data[2..], &entry[..]);
}

#[test]
fn tree_head_signed_data_exact_bytes() {
    let data = tree_head_signed_data(0x10, 0x20, &[0xee; 32]);
    assert_eq!(
        hex::encode(&data),
        format!(
            "0001{}{}{}",
            "0000000000000010",
            "0000000000000020",
            "ee".repeat(32)
        )
    );
}

/// Moved from merkle's checkpoint tests with the encoder.
#[test]
fn tree_head_input_layout() {
    let input = tree_head_signed_data(0x0102, 7, &[0xaa; 32]);
    assert_eq!(&input[..2], &[0, 1]);
    assert_eq!(&input[2..10], &[0, 0, 0, 0, 0, 0, 1, 2]);
    assert_eq!(&input[10..18], &[0, 0, 0, 0, 0, 0, 0, 7]);
    assert_eq!(&input[18..], &[0xaa; 32]);
}

#[test]
fn signed_structures_decode_only_their_own_signature_type() {
    let head = TreeHeadSignature {
        timestamp: 1,
        tree_size: 2,
        sha256_root_hash: [3; 32],
    };
    let bytes = head.to_bytes().unwrap();
    assert_eq!(TreeHeadSignature::read_bytes(&bytes).unwrap(), head);
    assert_eq!(
        CertificateTimestamp::read_bytes(&bytes).unwrap_err(),
        CtError::UnexpectedSignatureType(1)
    );
    let signed = sct_signed_data(&x509_entry());
    assert_eq!(
        CertificateTimestamp::read_bytes(&signed).unwrap(),
        CertificateTimestamp {
            timestamped_entry: x509_entry()
        }
    );
    assert_eq!(
        TreeHeadSignature::read_bytes(&signed).unwrap_err(),
        CtError::UnexpectedSignatureType(0)
    );
}

fn sample_sct() -> SignedCertificateTimestamp {
    SignedCertificateTimestamp {
        log_id: [0x22; 32],
        timestamp: 0x0000_0180_0000_0000,
        extensions: leaf_index_extension(7).unwrap(),
        signature: DigitallySigned {
            hash: DigitallySigned::HASH_SHA256,
            signature_algorithm: DigitallySigned::SIG_ECDSA,
            signature: vec![0x30, 0x01, 0x02],
        },
    }
}

#[test]
fn digitally_signed_exact_bytes() {
    let mut out = Vec::new();
    sample_sct().signature.encode(&mut out).unwrap();
    assert_eq!(hex::encode(&out), "0403000330 0102".replace(' ', ""));
    let (ds, used) = DigitallySigned::read_prefix(&out).unwrap();
    assert_eq!(used, 7);
    assert_eq!(ds, sample_sct().signature);
    assert!(DigitallySigned::read_prefix(&out[..6]).is_err());
}

#[test]
fn sct_exact_bytes_and_round_trip() {
    let enc = sample_sct().to_bytes().unwrap();
    let expected = format!(
        "00{}{}{}{}",
        "22".repeat(32),
        "0000018000000000",
        "00080000050000000007",
        "04030003300102"
    );
    assert_eq!(hex::encode(&enc), expected);
    assert_eq!(
        SignedCertificateTimestamp::read_bytes(&enc).unwrap(),
        sample_sct()
    );
    let mut trailing = enc.clone();
    trailing.push(1);
    assert_eq!(
        SignedCertificateTimestamp::read_bytes(&trailing).unwrap_err(),
        CtError::TrailingData(1)
    );
    let mut v2 = enc;
    v2[0] = 1;
    assert_eq!(
        SignedCertificateTimestamp::read_bytes(&v2).unwrap_err(),
        CtError::UnsupportedVersion(1)
    );
}

#[test]
fn sct_list_exact_framing() {
    let sct = sample_sct().to_bytes().unwrap();
    let list = encode_sct_list(&[sample_sct(), sample_sct()]);
    let each = sct.len() + 2;
    assert_eq!(list.len(), 2 + 2 * each);
    assert_eq!(u16::from_be_bytes([list[0], list[1]]) as usize, 2 * each);
    assert_eq!(u16::from_be_bytes([list[2], list[3]]) as usize, sct.len());
    assert_eq!(
        decode_sct_list(&list).unwrap(),
        vec![sample_sct(), sample_sct()]
    );
    assert_eq!(
        decode_sct_list(&[0, 0]).unwrap_err(),
        CtError::Empty("sct_list")
    );
    assert_eq!(
        sct_list(&[]).to_bytes().unwrap_err(),
        CtError::Empty("sct_list")
    );
    assert!(decode_sct_list(&list[..list.len() - 1]).is_err());
    let mut trailing = list.clone();
    trailing.push(0);
    assert!(decode_sct_list(&trailing).is_err());
}

#[test]
fn sct_list_extension_value_is_octet_string_of_list() {
    let list = encode_sct_list(&[sample_sct()]);
    let value = sct_list(&[sample_sct()]).to_extension_value().unwrap();
    assert_eq!(value[0], 0x04);
    assert_eq!(&value[value.len() - list.len()..], &list[..]);
    assert_eq!(
        decode_sct_list_extension_value(&value).unwrap(),
        vec![sample_sct()]
    );
    assert!(matches!(
        decode_sct_list_extension_value(&list),
        Err(CtError::Der(_))
    ));
}

#[test]
fn leaf_index_extension_exact_bytes_and_bounds() {
    assert_eq!(
        hex::encode(leaf_index_extension(0x01_0203_0405).unwrap()),
        "0000050102030405"
    );
    assert_eq!(leaf_index_extension(MAX_LEAF_INDEX).unwrap().len(), 8);
    assert_eq!(
        leaf_index_extension(1 << 40).unwrap_err(),
        CtError::LeafIndexOutOfRange(1 << 40)
    );
    assert_eq!(
        parse_leaf_index_extension(&leaf_index_extension(MAX_LEAF_INDEX).unwrap()).unwrap(),
        MAX_LEAF_INDEX
    );
}

#[test]
fn leaf_index_extension_walks_list() {
    // unknown type 7 with 1 byte of data, then leaf_index
    let ext = hex::decode("07000199".to_owned() + "0000050000000010").unwrap();
    assert_eq!(parse_leaf_index_extension(&ext).unwrap(), 16);
    assert_eq!(
        parse_leaf_index_extension(&[]).unwrap_err(),
        CtError::MissingLeafIndex
    );
    let dup = hex::decode("00000500000000010000050000000002").unwrap();
    assert_eq!(
        parse_leaf_index_extension(&dup).unwrap_err(),
        CtError::DuplicateExtension(0)
    );
    let short = hex::decode("000005000000").unwrap();
    assert_eq!(
        parse_leaf_index_extension(&short).unwrap_err(),
        CtError::Truncated("extension_data")
    );
    let four = hex::decode("00000400000001").unwrap();
    assert_eq!(
        parse_leaf_index_extension(&four).unwrap_err(),
        CtError::BadLeafIndexLength(4)
    );
}

#[test]
fn tile_leaf_round_trip_and_tile_walk() {
    let a = TileLeaf {
        entry: x509_entry(),
        pre_certificate: None,
        chain_fingerprints: vec![[1; 32], [2; 32]],
    };
    let b = TileLeaf {
        entry: precert_entry(),
        pre_certificate: Some(vec![0x30, 0x03, 1, 2, 3]),
        chain_fingerprints: vec![],
    };
    let mut tile = Vec::new();
    a.encode(&mut tile).unwrap();
    let a_len = tile.len();
    // x509 entry (8+2+5+2) then chain (2 + 64)
    assert_eq!(a_len, 17 + 66);
    b.encode(&mut tile).unwrap();
    let (first, used) = TileLeaf::read_prefix(&tile).unwrap();
    assert_eq!((first, used), (a.clone(), a_len));
    assert_eq!(TileLeaf::decode_tile(&tile).unwrap(), vec![a, b]);
    assert!(TileLeaf::decode_tile(&tile[..tile.len() - 1]).is_err());
}

#[test]
fn tile_leaf_rejects_mismatch_and_misaligned_chain() {
    let bad = TileLeaf {
        entry: precert_entry(),
        pre_certificate: None,
        chain_fingerprints: vec![],
    };
    assert_eq!(
        bad.encode(&mut Vec::new()).unwrap_err(),
        CtError::PreCertificateMismatch
    );
    let mut enc = Vec::new();
    x509_entry().encode(&mut enc).unwrap();
    enc.extend_from_slice(&[0, 3, 1, 2, 3]);
    assert_eq!(
        TileLeaf::read_prefix(&enc).unwrap_err(),
        CtError::Misaligned("certificate_chain")
    );
}

#[test]
fn certificate_chain_exact_bytes() {
    let enc = try_encode_certificate_chain(&[vec![0xaa], vec![0xbb, 0xcc]]).unwrap();
    assert_eq!(hex::encode(&enc), "000009000001aa000002bbcc");
    assert_eq!(
        decode_certificate_chain(&enc).unwrap(),
        vec![vec![0xaa], vec![0xbb, 0xcc]]
    );
    assert_eq!(
        hex::encode(try_encode_certificate_chain(&[]).unwrap()),
        "000000"
    );
    assert!(decode_certificate_chain(&enc[..enc.len() - 1]).is_err());
    assert!(try_encode_certificate_chain(&[vec![]]).is_err());
}

#[test]
fn precert_chain_entry_exact_bytes() {
    let e = PrecertChainEntry {
        pre_certificate: vec![0x01],
        precertificate_chain: vec![vec![0x02]],
    };
    let enc = e.to_bytes().unwrap();
    assert_eq!(
        hex::encode(&enc),
        "00000101000004000001 02".replace(' ', "")
    );
    assert_eq!(PrecertChainEntry::read_bytes(&enc).unwrap(), e);
    let mut trailing = enc;
    trailing.push(0);
    assert_eq!(
        PrecertChainEntry::read_bytes(&trailing).unwrap_err(),
        CtError::TrailingData(1)
    );
}

#[test]
fn log_id_is_sha256_of_spki() {
    assert_eq!(
        hex::encode(log_id(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

// ----- property tests -----

fn arb_entry() -> impl Strategy<Value = TimestampedEntry> {
    let x509 = proptest::collection::vec(any::<u8>(), 1..300).prop_map(SignedEntry::X509);
    let pre = (
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 1..300),
    )
        .prop_map(|(issuer_key_hash, tbs_certificate)| SignedEntry::Precert {
            issuer_key_hash,
            tbs_certificate,
        });
    (
        any::<u64>(),
        prop_oneof![x509, pre],
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(timestamp, entry, extensions)| TimestampedEntry {
            timestamp,
            entry,
            extensions,
        })
}

fn arb_sct() -> impl Strategy<Value = SignedCertificateTimestamp> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..100),
    )
        .prop_map(|(log_id, timestamp, extensions, hash, sa, signature)| {
            SignedCertificateTimestamp {
                log_id,
                timestamp,
                extensions,
                signature: DigitallySigned {
                    hash,
                    signature_algorithm: sa,
                    signature,
                },
            }
        })
}

fn arb_tile_leaf() -> impl Strategy<Value = TileLeaf> {
    (
        arb_entry(),
        proptest::collection::vec(any::<u8>(), 1..100),
        proptest::collection::vec(any::<[u8; 32]>(), 0..5),
    )
        .prop_map(|(entry, pc, chain_fingerprints)| {
            let pre_certificate = match entry.entry {
                SignedEntry::X509(_) => None,
                SignedEntry::Precert { .. } => Some(pc),
            };
            TileLeaf {
                entry,
                pre_certificate,
                chain_fingerprints,
            }
        })
}

proptest! {
    #[test]
    fn prop_timestamped_entry_round_trip(e in arb_entry()) {
        let mut out = Vec::new();
        e.encode(&mut out).unwrap();
        prop_assert_eq!(TimestampedEntry::read_prefix(&out).unwrap(), (e.clone(), out.len()));
        prop_assert_eq!(parse_merkle_tree_leaf(&merkle_tree_leaf(&e)).unwrap(), e);
    }

    #[test]
    fn prop_sct_list_round_trip(scts in proptest::collection::vec(arb_sct(), 1..5)) {
        for s in &scts {
            prop_assert_eq!(&SignedCertificateTimestamp::read_bytes(&s.to_bytes().unwrap()).unwrap(), s);
        }
        prop_assert_eq!(&decode_sct_list(&encode_sct_list(&scts)).unwrap(), &scts);
        prop_assert_eq!(
            &decode_sct_list_extension_value(&sct_list(&scts).to_extension_value().unwrap()).unwrap(),
            &scts
        );
    }

    #[test]
    fn prop_tile_round_trip(leaves in proptest::collection::vec(arb_tile_leaf(), 0..5)) {
        let mut tile = Vec::new();
        for l in &leaves {
            l.encode(&mut tile).unwrap();
        }
        prop_assert_eq!(TileLeaf::decode_tile(&tile).unwrap(), leaves);
    }

    #[test]
    fn prop_chains_round_trip(
        chain in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..50), 0..5),
        pc in proptest::collection::vec(any::<u8>(), 1..50),
    ) {
        prop_assert_eq!(&decode_certificate_chain(&try_encode_certificate_chain(&chain).unwrap()).unwrap(), &chain);
        let e = PrecertChainEntry { pre_certificate: pc, precertificate_chain: chain };
        prop_assert_eq!(PrecertChainEntry::read_bytes(&e.to_bytes().unwrap()).unwrap(), e);
    }

    #[test]
    fn prop_leaf_index_round_trip(i in 0u64..=MAX_LEAF_INDEX) {
        prop_assert_eq!(parse_leaf_index_extension(&leaf_index_extension(i).unwrap()).unwrap(), i);
    }

    #[test]
    fn prop_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = TimestampedEntry::read_prefix(&bytes);
        let _ = parse_merkle_tree_leaf(&bytes);
        let _ = DigitallySigned::read_prefix(&bytes);
        let _ = SignedCertificateTimestamp::read_bytes(&bytes);
        let _ = decode_sct_list(&bytes);
        let _ = decode_sct_list_extension_value(&bytes);
        let _ = parse_leaf_index_extension(&bytes);
        let _ = TileLeaf::decode_tile(&bytes);
        let _ = decode_certificate_chain(&bytes);
        let _ = PrecertChainEntry::read_bytes(&bytes);
    }

    #[test]
    fn prop_decode_consumed_prefix_is_exact(e in arb_entry(), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut out = Vec::new();
        e.encode(&mut out).unwrap();
        let n = out.len();
        out.extend_from_slice(&tail);
        prop_assert_eq!(TimestampedEntry::read_prefix(&out).unwrap(), (e, n));
    }
}
