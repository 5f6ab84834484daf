#![no_main]
//! RFC 6962 TLS structures from submissions, log responses, data tiles and
//! static-ct-api checkpoint signatures.
use libfuzzer_sys::fuzz_target;
use pki::ct;
use pki::rfc6962_note::Rfc6962NoteSignature;
use pki::tls::Codec;

fuzz_target!(|data: &[u8]| {
    let _ = ct::MerkleTreeLeaf::read_bytes(data);
    let _ = ct::TimestampedEntry::read_prefix(data);
    let _ = ct::SignedCertificateTimestamp::read_bytes(data);
    let _ = ct::SignedCertificateTimestampList::read_bytes(data);
    let _ = ct::SignedCertificateTimestampList::from_extension_value(data);
    let _ = ct::parse_leaf_index_extension(data);
    let _ = ct::TileLeaf::decode_tile(data);
    let _ = ct::CertificateChain::read_bytes(data);
    let _ = ct::PrecertChainEntry::read_bytes(data);
    let _ = ct::DigitallySigned::read_prefix(data);
    let _ = ct::TreeHeadSignature::read_bytes(data);
    let _ = ct::CertificateTimestamp::read_bytes(data);
    let _ = Rfc6962NoteSignature::read_bytes(data);
});
