#![no_main]
//! RFC 6962 TLS structures from submissions, log responses and data tiles.
use libfuzzer_sys::fuzz_target;
use pki::ct;

fuzz_target!(|data: &[u8]| {
    let _ = ct::parse_merkle_tree_leaf(data);
    let _ = ct::TimestampedEntry::decode(data);
    let _ = ct::SignedCertificateTimestamp::decode(data);
    let _ = ct::decode_sct_list(data);
    let _ = ct::decode_sct_list_extension_value(data);
    let _ = ct::parse_leaf_index_extension(data);
    let _ = ct::TileLeaf::decode_tile(data);
    let _ = ct::decode_certificate_chain(data);
    let _ = ct::PrecertChainEntry::decode(data);
    let _ = ct::DigitallySigned::decode(data);
});
