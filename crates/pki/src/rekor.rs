//! Rekor's wire formats, shared by the artifact log and `ccc`: RFC 8785 canonical JSON;
//! for API v1 the `hashedrekord` and `dsse` 0.0.1 proposed entries with the checks Rekor
//! makes before it logs one and the canonical body it stores, the entry UUID, the v1 log
//! entry answer and its Signed Entry Timestamp (SET); for API v2 (rekor-tiles) the
//! `CreateEntryRequest`, its checks and the 0.0.2 entries ([`v2`]); and sigstore's
//! `TransparencyLogEntry`, the form both answers take in a bundle ([`tle`]).
//!
//! No HTTP and no storage: bytes in, values or a typed [`RekorError`] out.

pub mod checkpoint;
pub mod entry;
pub mod jcs;
pub mod log_entry;
pub mod tle;
pub mod v2;

pub use entry::{
    ArtifactHash, DsseEntry, DsseSignature, HashedRekord, ProposedEntry, Verifier,
    parse_proposed_entry,
};
pub use jcs::{JcsError, canonicalize, to_canonical_json};
pub use log_entry::{
    InclusionProof, LogEntry, LogEntryAnswer, Verification, entry_uuid, set_payload, sign_set,
    verify_set,
};

use thiserror::Error;

use crate::verify::VerifyError;

/// Why a proposed entry, a log entry or a SET is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RekorError {
    /// The input is larger than the bound for what it is.
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not JSON, or not the expected shape (missing or unknown field, wrong type, bad
    /// base64 or hex in a field).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// A `kind` / `apiVersion` pair this log does not take.
    #[error("unsupported entry kind {kind} {api_version}")]
    UnsupportedKind {
        /// The entry's `kind`.
        kind: String,
        /// The entry's `apiVersion`.
        api_version: String,
    },
    /// A hash algorithm other than sha256, sha384 or sha512.
    #[error("unsupported hash algorithm {0:?}")]
    UnsupportedHash(String),
    /// The hash value is not hex of the algorithm's digest length.
    #[error("hash value is not {expected} hex digits of {algorithm}")]
    BadHashValue {
        /// The named algorithm.
        algorithm: &'static str,
        /// The number of hex digits it takes.
        expected: usize,
    },
    /// The verifier (public key or certificate, PEM) does not parse.
    #[error("bad public key: {0}")]
    BadPublicKey(String),
    /// A signature does not verify (or its key or algorithm is not supported).
    #[error("signature: {0}")]
    Signature(#[from] VerifyError),
    /// A DSSE envelope signature that no given verifier verifies.
    #[error("DSSE signature {0} is not verified by any verifier")]
    UnverifiedDsseSignature(usize),
    /// A DSSE verifier that verifies none of the envelope's signatures (v2).
    #[error("DSSE verifier {0} verifies none of the envelope's signatures")]
    UnusedDsseVerifier(usize),
    /// A `PublicKeyDetails` this log does not verify with (v2).
    #[error("key details {key_details} are not supported: {reason}")]
    UnsupportedKeyDetails {
        /// The value's name.
        key_details: String,
        /// Why.
        reason: &'static str,
    },
    /// The verifier's key is not the kind its `keyDetails` names (v2).
    #[error("key details {key_details} do not match the verifier's {key} key")]
    KeyDetailsMismatch {
        /// The value's name.
        key_details: &'static str,
        /// The key found.
        key: String,
    },
    /// A hashedrekord digest whose length is not that of the hash its key details name
    /// (v2).
    #[error("digest is {len} bytes, but {key_details} signs a {algorithm} digest of {expected}")]
    DigestLength {
        /// The verifier's key details.
        key_details: &'static str,
        /// The hash they name.
        algorithm: &'static str,
        /// Its digest length.
        expected: usize,
        /// The digest's length.
        len: usize,
    },
    /// A value has no canonical JSON.
    #[error("canonical JSON: {0}")]
    Canonical(#[from] JcsError),
    /// An integer field beyond what a JSON number carries exactly (2^53 − 1), or an
    /// inconsistent log entry.
    #[error("{0}")]
    Invalid(String),
    /// The log key could not sign.
    #[error("signing failed: {0}")]
    Sign(String),
}

#[cfg(test)]
mod tests;
