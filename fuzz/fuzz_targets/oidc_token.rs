#![no_main]
//! Identity tokens: the verifier parses header and claims before any key fetch, so
//! arbitrary text must come back as an `OidcError`, never a panic.
use std::sync::Arc;
use std::task::{Context, Waker};

use libfuzzer_sys::fuzz_target;
use oidc::{Destinations, Fetch, FetchError, FetchFuture, IdentityKind, IssuerConfig, Verifier};

struct NoNetwork;

impl Fetch for NoNetwork {
    fn get<'a>(&'a self, _url: &'a str, _: Destinations) -> FetchFuture<'a> {
        Box::pin(std::future::ready(Err(FetchError::Provider("offline".into()))))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let issuers = vec![IssuerConfig::new(
        "https://issuer.example",
        "sigstore",
        IdentityKind::Email,
    )];
    let clock = clock::ManualClock::new(1_800_000_000_000);
    if let Ok(verifier) = Verifier::new(issuers, Arc::new(NoNetwork), Arc::new(clock)) {
        // Nothing here waits (the fetch answers at once): one poll runs it to the end.
        let mut verify = std::pin::pin!(verifier.verify(token));
        let _ = verify
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
    }
});
