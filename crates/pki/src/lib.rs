//! certcentral PKI engine: RFC 6962 TLS structures, X.509 submission-chain
//! validation, precertificate TBS reconstruction, signature verification,
//! the log signing key, Rekor's entries, canonical JSON and SET (`rekor`), and
//! sigstore's trusted root and signing config (`sigstore_trust`).
//!
//! The crate is pure: it performs no I/O, reads no clock and draws no
//! randomness (except [`keys::EcdsaP256Signer::generate`], which is
//! documented as such). Time comes in as a parameter.

pub mod chain;
pub mod ct;
pub mod ct_api;
pub mod entry_bundle;
pub mod fulcio;
pub mod keys;
pub mod loglist;
pub mod registry_api;
pub mod rekor;
pub mod sigstore_trust;
pub mod tls;
pub mod tsp;
pub mod verify;

mod der_util;
pub mod oids;
pub mod registry_log;
pub mod rfc6962_note;

pub use chain::{
    ChainError, RootStore, SubmissionKind, ValidatedChain, embedded_scts, pem_certificates,
    precert_tbs_from_certificate, validate_chain,
};
pub use ct::{
    CtError, DigitallySigned, LogEntryType, SignedCertificateTimestamp, SignedEntry, TileLeaf,
    TimestampedEntry,
};
pub use fulcio::{FulcioError, FulcioExtensions};
pub use keys::{EcdsaP256Signer, KeyError};
pub use verify::{
    HashAlgorithm, PublicKeyKind, VerifyError, public_key_kind, verify_by_key,
    verify_digitally_signed, verify_prehashed, verify_signature,
};
