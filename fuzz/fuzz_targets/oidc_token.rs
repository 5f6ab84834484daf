#![no_main]
//! Identity tokens: the verifier parses header and claims before any key fetch, so
//! arbitrary text must come back as an `OidcError`, never a panic.
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use oidc::{Fetch, FetchError, IdentityKind, IssuerConfig, Verifier};

struct NoNetwork;

impl Fetch for NoNetwork {
    fn get(&self, _url: &str) -> Result<Vec<u8>, FetchError> {
        Err(FetchError("offline".into()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let issuers = vec![IssuerConfig {
        issuer_url: "https://issuer.example".into(),
        client_id: "sigstore".into(),
        kind: IdentityKind::Email,
    }];
    let clock = clock::ManualClock::new(1_800_000_000_000);
    if let Ok(verifier) = Verifier::new(issuers, Arc::new(NoNetwork), Arc::new(clock)) {
        let _ = verifier.verify(token);
    }
});
