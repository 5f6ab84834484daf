//! OpenID Connect identity tokens: verification against configured issuers
//! ([`Verifier`]: discovery + JWKS, cached; signature, issuer, audience, time and
//! identity claims), the HTTP fetcher it uses in production ([`fetch::HttpFetch`]), and
//! the `--dev`-only development issuer ([`dev`]). Shared by the CA and the registry,
//! which authenticate people the same way.
//!
//! One module per job: `jws` parses the token, `jwk` the issuer's keys, `discovery`
//! finds them, `cache` keeps them, `claims` checks times and audience, `identity`
//! derives the certificate identity, and `verifier` puts those steps in order.

mod cache;
mod claims;
pub mod dev;
mod discovery;
mod error;
pub mod fetch;
mod identity;
mod jwk;
mod jws;
mod verifier;

pub use cache::{DEFAULT_JWKS_REFRESH_SECS, DEFAULT_NEW_ISSUER_FETCHES, MAX_CACHED_ISSUERS};
pub use claims::CLOCK_SKEW_SECS;
pub use discovery::{Fetch, FetchError, FetchFuture, MAX_DOCUMENT_BYTES};
pub use egress::Destinations;
pub use error::OidcError;
pub use identity::{IdentityKind, VerifiedIdentity};
pub use jwk::MIN_RSA_BITS;
pub use jws::MAX_TOKEN_BYTES;
pub use verifier::{IssuerConfig, Verifier};
