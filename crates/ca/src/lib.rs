//! The code-signing CA (issue 4): who may get a certificate (OIDC identity tokens),
//! proof that they hold the key (signed challenge or PKCS#10 CSR), and the
//! certificates themselves (precertificate, embedded SCTs, final certificate).
//!
//! [`issue::CertificateAuthority`] runs the pipeline; [`http::router`] serves it as
//! Fulcio API v2; [`remote`] reaches CT logs in other processes. Identity tokens are
//! verified by the `oidc` crate.

pub mod cert;
pub mod http;
pub mod issue;
pub mod pop;
pub mod remote;
pub mod signer;
