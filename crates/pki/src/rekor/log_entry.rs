//! The Rekor v1 log entry answer, the entry UUID and the Signed Entry Timestamp.
//!
//! ```text
//! {"<uuid>": {"body": <b64 canonical body>, "integratedTime": <unix seconds>,
//!             "logID": <hex SHA-256 of the log key's SPKI DER>, "logIndex": <n>,
//!             "verification": {"inclusionProof": {"checkpoint": <signed note>,
//!                                                 "hashes": [<hex>...], "logIndex": <n>,
//!                                                 "rootHash": <hex>, "treeSize": <n>},
//!                              "signedEntryTimestamp": <b64 signature>}}}
//! ```
//!
//! The SET is the log's signature over the RFC 8785 canonical JSON of
//! `{"body","integratedTime","logID","logIndex"}` (the values as in the answer): a
//! promise to include the entry that a client checks with the log key alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::RekorError;
use crate::ct_api::b64;
use crate::keys::EcdsaP256Signer;
use crate::verify::{HashAlgorithm, verify_by_key};

/// The largest integer a JSON number carries exactly (2^53 − 1): the SET's integers are
/// canonicalized as IEEE 754 doubles (RFC 8785 §3.2.2.3), so larger ones would be signed
/// rounded.
pub const MAX_JSON_INTEGER: u64 = (1 << 53) - 1;

/// The v1 answer to an entry request or submission: entries by UUID.
pub type LogEntryAnswer = BTreeMap<String, LogEntry>;

/// One log entry of a v1 answer. Fields are declared in name order, the order Rekor
/// writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogEntry {
    /// The canonical body.
    #[serde(with = "b64")]
    pub body: Vec<u8>,
    /// When the log integrated the entry, in seconds since the Unix epoch.
    pub integrated_time: u64,
    /// SHA-256 of the log key's SubjectPublicKeyInfo DER.
    #[serde(rename = "logID", with = "hex32")]
    pub log_id: [u8; 32],
    /// The entry's index in the log.
    pub log_index: u64,
    /// The SET and the inclusion proof.
    pub verification: Verification,
}

/// `verification` of a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Verification {
    /// The proof of inclusion against a signed checkpoint.
    pub inclusion_proof: InclusionProof,
    /// The SET: the log key's signature over [`set_payload`].
    #[serde(with = "b64")]
    pub signed_entry_timestamp: Vec<u8>,
}

/// `inclusionProof` of a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionProof {
    /// The signed checkpoint (a signed note) the proof leads to.
    pub checkpoint: String,
    /// The audit path, leaf to root.
    #[serde(with = "hex32::list")]
    pub hashes: Vec<[u8; 32]>,
    /// The entry's index in the tree.
    pub log_index: u64,
    /// The root of the tree of `tree_size` leaves.
    #[serde(with = "hex32")]
    pub root_hash: [u8; 32],
    /// The size of the tree.
    pub tree_size: u64,
}

/// The entry UUID: the RFC 6962 leaf hash of the canonical body, in lower-case hex.
pub fn entry_uuid(canonical_body: &[u8]) -> String {
    hex::encode(merkle::leaf_hash(canonical_body))
}

fn exact(what: &str, value: u64) -> Result<u64, RekorError> {
    if value > MAX_JSON_INTEGER {
        return Err(RekorError::Invalid(format!(
            "{what} {value} is beyond 2^53 - 1, which canonical JSON cannot carry"
        )));
    }
    Ok(value)
}

/// The bytes the SET signs: the canonical JSON of
/// `{"body": b64(body), "integratedTime", "logID": hex, "logIndex"}`.
///
/// Written directly rather than through [`jcs::canonicalize`] (a SET is signed for every
/// entry, and the general path costs as much as the signature): the keys are already in
/// RFC 8785 order, base64 and hex need no escaping, and integers up to 2^53 − 1 print
/// as themselves. A test holds it equal to the general path.
pub fn set_payload(
    body: &[u8],
    integrated_time: u64,
    log_id: &[u8; 32],
    log_index: u64,
) -> Result<Vec<u8>, RekorError> {
    let integrated_time = exact("integratedTime", integrated_time)?;
    let log_index = exact("logIndex", log_index)?;
    Ok(format!(
        r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{}","logIndex":{log_index}}}"#,
        b64::encode(body),
        hex::encode(log_id)
    )
    .into_bytes())
}

/// [`set_payload`] through the general canonicalizer, for the test that keeps the two equal.
#[cfg(test)]
pub(crate) fn set_payload_via_jcs(
    body: &[u8],
    integrated_time: u64,
    log_id: &[u8; 32],
    log_index: u64,
) -> Result<Vec<u8>, RekorError> {
    use super::jcs;
    let value = serde_json::json!({
        "body": b64::encode(body),
        "integratedTime": exact("integratedTime", integrated_time)?,
        "logID": hex::encode(log_id),
        "logIndex": exact("logIndex", log_index)?,
    });
    Ok(jcs::canonicalize(&value)?)
}

/// Signs the SET for an entry with the log key (ECDSA P-256, SHA-256).
pub fn sign_set(
    signer: &EcdsaP256Signer,
    body: &[u8],
    integrated_time: u64,
    log_index: u64,
) -> Result<Vec<u8>, RekorError> {
    let payload = set_payload(body, integrated_time, &signer.log_id(), log_index)?;
    signer
        .sign(&payload)
        .map_err(|e| RekorError::Sign(e.to_string()))
}

/// Verifies an entry's SET with the log key in `log_spki_der`, as sigstore clients do:
/// the entry's `logID` must be the key's, and the signature is ECDSA with SHA-256
/// (P-256) or SHA-384 (P-384), RSA PKCS#1 v1.5 with SHA-256, or Ed25519.
pub fn verify_set(log_spki_der: &[u8], entry: &LogEntry) -> Result<(), RekorError> {
    if crate::ct::log_id(log_spki_der) != entry.log_id {
        return Err(RekorError::Invalid(
            "the entry's logID is not the log key's".into(),
        ));
    }
    let payload = set_payload(
        &entry.body,
        entry.integrated_time,
        &entry.log_id,
        entry.log_index,
    )?;
    let hash = if is_p384(log_spki_der) {
        HashAlgorithm::Sha384
    } else {
        HashAlgorithm::Sha256
    };
    verify_by_key(
        log_spki_der,
        hash,
        &payload,
        &entry.verification.signed_entry_timestamp,
    )?;
    Ok(())
}

fn is_p384(spki_der: &[u8]) -> bool {
    use der::Decode;
    spki::SubjectPublicKeyInfoRef::from_der(spki_der).is_ok_and(|spki| {
        spki.algorithm
            .parameters
            .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
            == Some(const_oid::db::rfc5912::SECP_384_R_1)
    })
}

/// serde adapters for 32-byte values written as lower-case hex.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    fn decode<E: serde::de::Error>(text: &str) -> Result<[u8; 32], E> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|e| E::custom(format_args!("hex field: {e}")))?;
        Ok(out)
    }

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        decode(&String::deserialize(d)?)
    }

    pub mod list {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(items: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(items.len()))?;
            for item in items {
                seq.serialize_element(&hex::encode(item))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
            <Vec<String>>::deserialize(d)?
                .iter()
                .map(|text| super::decode(text))
                .collect()
        }
    }
}
