//! sigstore's `TransparencyLogEntry`: how a bundle carries a log entry, and what a
//! Rekor v2 log answers to a submission. Protobuf JSON, both directions.
//!
//! ```text
//! message TransparencyLogEntry {                    // protobuf-specs sigstore_rekor.proto
//!     int64 log_index = 1;
//!     dev.sigstore.common.v1.LogId log_id = 2;      // { bytes key_id = 1; }
//!     KindVersion kind_version = 3;                 // { string kind = 1; string version = 2; }
//!     int64 integrated_time = 4;
//!     InclusionPromise inclusion_promise = 5;       // { bytes signed_entry_timestamp = 1; }
//!     InclusionProof inclusion_proof = 6;
//!     bytes canonicalized_body = 7;
//! }
//! message InclusionProof {
//!     int64 log_index = 1; bytes root_hash = 2; int64 tree_size = 3;
//!     repeated bytes hashes = 4; Checkpoint checkpoint = 5;   // { string envelope = 1; }
//! }
//! ```
//!
//! Written as protobuf JSON is written — lowerCamel names in field-number order, 64-bit
//! integers as decimal strings, `bytes` as standard base64 — with two choices for
//! readers that are stricter than protobuf: `logIndex` (and the proof's) and `hashes`
//! are written even when zero or empty (sigstore-python requires them), and
//! `integratedTime` and `inclusionPromise` are left out when the log gives none (a v2
//! entry, integrated before the answer). Read as a protobuf JSON parser reads: either
//! field name, integers as strings or numbers, `null` or an absent scalar as its zero
//! value; unknown fields are refused.

use serde::{Deserialize, Serialize};

use super::RekorError;
use super::entry::v1_kind_version;
use super::log_entry::LogEntry;
use crate::ct_api::b64;

/// The largest entry read, in bytes of JSON.
pub const MAX_TLE_BYTES: usize = 4 << 20;
/// The most hashes in an inclusion proof: a tree of fewer than 2^63 leaves has at most
/// 63 levels above them.
pub const MAX_PROOF_HASHES: usize = 63;

/// A `dev.sigstore.rekor.v1.TransparencyLogEntry`. Fields are declared in field-number
/// order, the order protobuf JSON writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TransparencyLogEntry {
    /// The entry's index in the log (for a sharded v1 log, across its shards).
    #[serde(alias = "log_index", default, with = "proto_int64")]
    pub log_index: u64,
    /// The log's identity.
    #[serde(alias = "log_id")]
    pub log_id: LogId,
    /// The entry's kind and version, to read the body with.
    #[serde(alias = "kind_version")]
    pub kind_version: KindVersion,
    /// When a v1 log integrated the entry, in seconds since the Unix epoch; `None` for
    /// a v2 log (proto3 has no presence for scalars, so `0` reads as `None`).
    #[serde(
        alias = "integrated_time",
        default,
        skip_serializing_if = "Option::is_none",
        with = "proto_int64::option"
    )]
    pub integrated_time: Option<u64>,
    /// A v1 log's Signed Entry Timestamp.
    #[serde(
        alias = "inclusion_promise",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inclusion_promise: Option<InclusionPromise>,
    /// The proof of inclusion against a signed checkpoint.
    #[serde(alias = "inclusion_proof")]
    pub inclusion_proof: InclusionProof,
    /// The entry's canonical body (the leaf bytes).
    #[serde(alias = "canonicalized_body", with = "b64")]
    pub canonicalized_body: Vec<u8>,
}

/// `dev.sigstore.common.v1.LogId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogId {
    /// SHA-256 of the log key's SubjectPublicKeyInfo (v1), or of the checkpoint key's
    /// signed-note key name and key (v2).
    #[serde(alias = "key_id", with = "b64")]
    pub key_id: [u8; 32],
}

/// `dev.sigstore.rekor.v1.KindVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindVersion {
    /// `hashedrekord`, `dsse`, ….
    pub kind: String,
    /// The kind's `apiVersion`.
    pub version: String,
}

/// `dev.sigstore.rekor.v1.InclusionPromise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionPromise {
    /// The SET (see [`super::log_entry::set_payload`]).
    #[serde(alias = "signed_entry_timestamp", with = "b64")]
    pub signed_entry_timestamp: Vec<u8>,
}

/// `dev.sigstore.rekor.v1.InclusionProof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionProof {
    /// The entry's index in the tree the proof is for.
    #[serde(alias = "log_index", default, with = "proto_int64")]
    pub log_index: u64,
    /// The root of that tree.
    #[serde(alias = "root_hash", with = "b64")]
    pub root_hash: [u8; 32],
    /// The size of that tree.
    #[serde(alias = "tree_size", default, with = "proto_int64")]
    pub tree_size: u64,
    /// The audit path, leaf to root.
    #[serde(default, with = "b64::list")]
    pub hashes: Vec<[u8; 32]>,
    /// The signed checkpoint of that tree.
    pub checkpoint: Checkpoint,
}

/// `dev.sigstore.rekor.v1.Checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The signed note.
    pub envelope: String,
}

impl TransparencyLogEntry {
    /// Reads an entry, then checks what makes it usable: a body, a kind, a checkpoint,
    /// an index inside its tree and a proof no longer than a tree can need.
    pub fn from_json(json: &[u8]) -> Result<Self, RekorError> {
        const WHAT: &str = "transparency log entry";
        if json.len() > MAX_TLE_BYTES {
            return Err(RekorError::TooLarge {
                what: WHAT,
                len: json.len(),
                max: MAX_TLE_BYTES,
            });
        }
        let mut entry: Self = serde_json::from_slice(json).map_err(|e| RekorError::Malformed {
            what: WHAT,
            detail: e.to_string(),
        })?;
        if entry.integrated_time == Some(0) {
            entry.integrated_time = None;
        }
        entry.check()?;
        Ok(entry)
    }

    /// An entry decoded by serde inside a larger document (a bundle), given the checks
    /// [`Self::from_json`] makes.
    pub(crate) fn checked(mut self) -> Result<Self, RekorError> {
        if self.integrated_time == Some(0) {
            self.integrated_time = None;
        }
        self.check()?;
        Ok(self)
    }

    /// The protobuf JSON of the entry.
    pub fn to_json(&self) -> Result<Vec<u8>, RekorError> {
        serde_json::to_vec(self).map_err(|e| RekorError::Invalid(e.to_string()))
    }

    /// The entry a bundle holds for a Rekor v1 answer, as sigstore-python's
    /// `TransparencyLogEntry._from_v1_response` builds it: the kind and version read
    /// from the body (`hashedrekord` or `dsse` 0.0.1), the hex `logID` and root hash as
    /// bytes, the SET as the inclusion promise.
    pub fn from_v1(entry: &LogEntry) -> Result<Self, RekorError> {
        let (kind, version) = v1_kind_version(&entry.body)?;
        let proof = &entry.verification.inclusion_proof;
        let tle = Self {
            log_index: entry.log_index,
            log_id: LogId {
                key_id: entry.log_id,
            },
            kind_version: KindVersion {
                kind: kind.to_string(),
                version: version.to_string(),
            },
            // Zero is "no time" in proto3, as in from_json.
            integrated_time: Some(entry.integrated_time).filter(|t| *t != 0),
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: entry.verification.signed_entry_timestamp.clone(),
            }),
            inclusion_proof: InclusionProof {
                log_index: proof.log_index,
                root_hash: proof.root_hash,
                tree_size: proof.tree_size,
                hashes: proof.hashes.clone(),
                checkpoint: Checkpoint {
                    envelope: proof.checkpoint.clone(),
                },
            },
            canonicalized_body: entry.body.clone(),
        };
        tle.check()?;
        Ok(tle)
    }

    fn check(&self) -> Result<(), RekorError> {
        let invalid = |m: String| Err(RekorError::Invalid(m));
        let proof = &self.inclusion_proof;
        if self.canonicalized_body.is_empty() {
            return invalid("entry without a canonicalized body".into());
        }
        if self.kind_version.kind.is_empty() || self.kind_version.version.is_empty() {
            return invalid("entry without a kind and version".into());
        }
        if proof.checkpoint.envelope.is_empty() {
            return invalid("inclusion proof without a checkpoint".into());
        }
        if proof.log_index >= proof.tree_size {
            return invalid(format!(
                "inclusion proof for index {} in a tree of {} entries",
                proof.log_index, proof.tree_size
            ));
        }
        if proof.hashes.len() > MAX_PROOF_HASHES {
            return invalid(format!(
                "inclusion proof of {} hashes, more than any tree needs",
                proof.hashes.len()
            ));
        }
        for (what, value) in [
            ("logIndex", Some(self.log_index)),
            ("integratedTime", self.integrated_time),
            ("inclusionProof.logIndex", Some(proof.log_index)),
            ("inclusionProof.treeSize", Some(proof.tree_size)),
        ] {
            if let Some(value) = value {
                proto_int64::in_range(value)
                    .map_err(|e| RekorError::Invalid(format!("{what}: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Protobuf JSON `int64` fields holding values that are never negative (indexes,
/// sizes, seconds): written as decimal strings (proto3 JSON mapping: "JSON value will
/// be a decimal string"), read from a string of decimal digits or a JSON integer
/// ("Either numbers or strings are accepted"). Negative values and values beyond
/// 2^63 − 1, which the `int64` cannot hold, are refused.
mod proto_int64 {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn in_range(value: u64) -> Result<u64, String> {
        if value > i64::MAX as u64 {
            return Err(format!("{value} is beyond the int64 maximum"));
        }
        Ok(value)
    }

    struct Int64;

    impl<'de> Visitor<'de> for Int64 {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative int64, as a decimal string or an integer")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            in_range(value).map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
            u64::try_from(value)
                .map_err(|_| format!("{value} is negative"))
                .and_then(in_range)
                .map_err(E::custom)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
            // u64's parser would take a leading '+'; protobuf JSON writes digits only.
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::custom(format_args!("{text:?} is not a decimal integer")));
            }
            text.parse::<u64>()
                .map_err(|_| format!("{text} is beyond the int64 maximum"))
                .and_then(in_range)
                .map_err(E::custom)
        }
    }

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(Int64)
    }

    /// An optional field: `null` or absent is `None`.
    pub mod option {
        use std::fmt;

        use serde::de::{self, Visitor};
        use serde::{Deserializer, Serializer};

        struct OptionalInt64;

        impl<'de> Visitor<'de> for OptionalInt64 {
            type Value = Option<u64>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative int64 or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
                super::deserialize(d).map(Some)
            }
        }

        pub fn serialize<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => super::serialize(value, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            d.deserialize_option(OptionalInt64)
        }
    }
}

#[cfg(test)]
mod tests;
