//! The code-signing CA (issue 4): who may get a certificate (OIDC identity tokens),
//! proof that they hold the key (signed challenge or PKCS#10 CSR), and the
//! certificates themselves (precertificate, embedded SCTs, final certificate).
//! No I/O here beyond what callers inject; HTTP routes come with the server wiring.

pub mod cert;
pub mod oidc;
pub mod pop;
