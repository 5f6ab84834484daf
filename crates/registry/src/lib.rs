//! The developer-certificate registry (the Cert Central protocol).
//!
//! A developer registers with an OIDC identity token and gets an API key; to publish
//! a code-signing certificate they ask for a fresh challenge, sign it as CMS
//! SignedData with the certificate's key and push it. Only then is the certificate
//! stored under their username and appended to the registry's transparency log, so
//! anyone can download it and check it was published — and was never silently
//! replaced or deleted.
//!
//! Layout: [`cms`] verifies the proof of possession, [`cert`] the certificate policy,
//! [`log`] is the Merkle log, [`service`] ties them to the store, [`http`] is the edge.

pub mod cert;
pub mod cms;
pub mod downloads;
pub mod http;
pub mod log;
pub mod service;

pub use service::{Entropy, Registry, RegistryError, SystemEntropy};
