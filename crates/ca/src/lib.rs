//! The code-signing CA (issue 4): who may get a certificate (OIDC identity tokens),
//! proof that they hold the key (signed challenge or PKCS#10 CSR), and the
//! certificates themselves (precertificate, embedded SCTs, final certificate).
//!
//! [`issue::CertificateAuthority`] runs the pipeline; [`http::router`] serves it as
//! Fulcio API v2; [`remote`] holds the HTTP clients (OIDC discovery/JWKS, remote CT
//! logs); [`dev_oidc`] is the `--dev`-only token issuer.

pub mod cert;
pub mod dev_oidc;
pub mod http;
pub mod issue;
pub mod oidc;
pub mod pop;
pub mod remote;
pub mod signer;
