#![no_main]
//! Rekor v2 wire formats: the CreateEntryRequest (parse, verify, canonical entry, and
//! the request written back reads as itself) and sigstore's TransparencyLogEntry (read,
//! and written back reads as itself).
use libfuzzer_sys::fuzz_target;
use pki::rekor::tle::TransparencyLogEntry;
use pki::rekor::v2::CreateEntryRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = CreateEntryRequest::from_json(data) {
        let _ = request.canonical_body();
        let written = request.to_json().expect("a parsed request has JSON");
        let again = CreateEntryRequest::from_json(&written).expect("written request reads");
        assert_eq!(again, request);
    }
    if let Ok(entry) = TransparencyLogEntry::from_json(data) {
        let written = entry.to_json().expect("a parsed entry has JSON");
        let again = TransparencyLogEntry::from_json(&written).expect("written entry reads");
        assert_eq!(again, entry);
    }
});
