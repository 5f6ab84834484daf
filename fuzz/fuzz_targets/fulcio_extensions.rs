#![no_main]
//! Fulcio certificate extensions as the monitor and the verifier read them from any
//! certificate: a DER `Extensions` list in, `FulcioExtensions` or an error out.
use der::Decode;
use libfuzzer_sys::fuzz_target;
use pki::fulcio::FulcioExtensions;
use x509_cert::ext::Extensions;

fuzz_target!(|data: &[u8]| {
    if let Ok(extensions) = Extensions::from_der(data) {
        let _ = FulcioExtensions::parse(&extensions);
        let _ = FulcioExtensions::parse_best_effort(&extensions);
    }
});
