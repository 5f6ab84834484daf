//! OpenID Connect identity tokens: verification against configured issuers
//! ([`Verifier`]: discovery + JWKS, cached; signature, issuer, audience, time and
//! identity claims), the HTTP fetcher it uses in production ([`fetch::HttpFetch`]), and
//! the `--dev`-only development issuer ([`dev`]). Shared by the CA and the registry,
//! which authenticate people the same way.

pub mod dev;
pub mod fetch;
mod verify;

pub use verify::*;
