#![no_main]
//! sigstore bundles: whatever `Bundle::from_json` accepts is written back and reads as
//! itself.
use libfuzzer_sys::fuzz_target;
use pki::bundle::Bundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::from_json(data) {
        let json = bundle.to_json().expect("a bundle that was read can be written");
        let again = Bundle::from_json(&json).expect("a written bundle reads back");
        assert_eq!(again, bundle);
    }
});
