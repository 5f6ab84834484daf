#![no_main]
//! sigstore's trust documents as `pki::sigstore_trust` decodes them (what a client
//! given `--trust-config` or a downloaded trusted root reads): arbitrary bytes must be
//! an error, never a panic, and what decodes must encode and decode to itself.
use libfuzzer_sys::fuzz_target;
use pki::sigstore_trust::{ClientTrustConfig, PublicKeyDetails, SigningConfig, TrustedRoot};

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustedRoot::from_json(data) {
        let again = TrustedRoot::from_json(&root.to_json().expect("decoded times encode"));
        assert_eq!(again.expect("re-decodes"), root);
        for log in root.tlogs.iter().chain(&root.ctlogs) {
            let _ = PublicKeyDetails::of_spki(&log.public_key.raw_bytes);
        }
    }
    if let Ok(config) = SigningConfig::from_json(data) {
        let again = SigningConfig::from_json(&config.to_json().expect("decoded times encode"));
        assert_eq!(again.expect("re-decodes"), config);
    }
    let _ = ClientTrustConfig::from_json(data);
    let _ = PublicKeyDetails::of_spki(data);
});
