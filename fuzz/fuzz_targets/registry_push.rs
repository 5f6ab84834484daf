#![no_main]
//! What a registry push hands the server: a CMS SignedData over the nonce, the
//! certificate inside it, and (on the read side) the registry log's entries. Arbitrary
//! bytes must be refused with an error, never a panic; an entry that decodes must
//! encode back to the same bytes.
use libfuzzer_sys::fuzz_target;
use registry::cert::check_code_signing;
use registry::cms::verify_signed_nonce;
use pki::registry_log::RegistryLogEntry;
use pki::tls::Codec;

fuzz_target!(|data: &[u8]| {
    let _ = verify_signed_nonce(data, b"0123456789abcdef0123456789abcdef");
    let _ = check_code_signing(data, 1_700_000_000_000);
    if let Ok(entry) = RegistryLogEntry::read_bytes(data) {
        assert_eq!(entry.to_bytes().expect("a decoded entry encodes"), data);
    }
});
