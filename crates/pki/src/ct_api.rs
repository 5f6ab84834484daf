//! RFC 6962 §4 JSON messages: the log's HTTP API as the log answers it and as every
//! client (the CA's remote logs, the monitor, `ccc`, the load generator) reads it.
//!
//! One definition serves both directions, so a client never decodes more leniently
//! than the log encodes. Binary fields are base64 (RFC 4648 §4, with padding) and
//! decode into bytes as the JSON is parsed ([`b64`]); a TLS structure inside a field
//! (`DigitallySigned`) is decoded by a method, strictly, with no trailing bytes.
//! Unknown JSON fields are ignored, so a log adding fields does not break a client.
//!
//! <https://www.rfc-editor.org/rfc/rfc6962#section-4>

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::chain::MAX_CHAIN_LEN;
use crate::ct::{DigitallySigned, SignedCertificateTimestamp, tree_head_signed_data};
use crate::tls::Codec;
use crate::verify::{VerifyError, verify_digitally_signed};

/// Why a decoded answer's binary content is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CtApiError {
    /// `sct_version` other than v1(0).
    #[error("sct_version: unsupported version {0}")]
    SctVersion(u8),
    /// A field holds a malformed TLS structure.
    #[error("{field}: {reason}")]
    Malformed {
        /// JSON field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Decodes a `DigitallySigned` that must fill `raw` exactly.
fn digitally_signed(field: &'static str, raw: &[u8]) -> Result<DigitallySigned, CtApiError> {
    let malformed = |reason: String| CtApiError::Malformed { field, reason };
    let (signature, used) =
        DigitallySigned::read_prefix(raw).map_err(|e| malformed(e.to_string()))?;
    if used != raw.len() {
        return Err(malformed(format!(
            "{} trailing bytes after DigitallySigned",
            raw.len() - used
        )));
    }
    Ok(signature)
}

/// The signatures put in answers are the log's own: ECDSA P-256 (≤ 72 bytes) or
/// RSA, far below the `opaque<0..2^16-1>` bound.
fn encode_digitally_signed(signature: &DigitallySigned) -> Vec<u8> {
    signature
        .to_bytes()
        .expect("a log signature fits opaque<0..2^16-1>")
}

/// serde adapters for base64 fields: `#[serde(with = "b64")]` on a `Vec<u8>` or a
/// `[u8; 32]`, `#[serde(with = "b64::list")]` on a `Vec` of either.
///
/// A field that does not decode (bad base64, or the wrong length for an array) fails
/// the parse with a message starting with [`b64::FIELD_ERROR`], which [`from_json`]
/// tells apart from a JSON that is not the expected message at all.
pub mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Prefix of the parse error of a field that is not what it claims to be.
    pub const FIELD_ERROR: &str = "base64 field: ";

    /// Base64 text of `bytes`.
    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        STANDARD.encode(bytes)
    }

    fn decode<T: TryFrom<Vec<u8>>, E: serde::de::Error>(text: &str) -> Result<T, E> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| E::custom(format_args!("{FIELD_ERROR}invalid base64: {e}")))?;
        let len = bytes.len();
        T::try_from(bytes).map_err(|_| {
            E::custom(format_args!(
                "{FIELD_ERROR}{len} bytes is not the length of this field"
            ))
        })
    }

    /// Serializes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &impl AsRef<[u8]>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    /// Deserializes base64 into `Vec<u8>` or `[u8; N]`.
    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<Vec<u8>>,
    {
        let text = String::deserialize(d)?;
        decode(&text)
    }

    /// A list of base64 values.
    pub mod list {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes a list of byte strings as base64 strings.
        pub fn serialize<S, T>(items: &[T], s: S) -> Result<S::Ok, S::Error>
        where
            S: Serializer,
            T: AsRef<[u8]>,
        {
            let mut seq = s.serialize_seq(Some(items.len()))?;
            for item in items {
                seq.serialize_element(&super::encode(item))?;
            }
            seq.end()
        }

        /// Deserializes a list of base64 strings.
        pub fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
        where
            D: Deserializer<'de>,
            T: TryFrom<Vec<u8>>,
        {
            <Vec<String>>::deserialize(d)?
                .iter()
                .map(|text| super::decode(text))
                .collect()
        }
    }
}

/// Why a body could not be read as the expected message.
#[derive(Debug, Error)]
pub enum JsonError {
    /// Not JSON, or not the message's shape (missing field, wrong type).
    #[error("{0}")]
    Shape(serde_json::Error),
    /// The message's shape, but a binary field does not decode: the sender encoded
    /// something wrong, which a monitor holds against a log.
    #[error("{0}")]
    Field(serde_json::Error),
}

/// Parses one of this module's messages, telling a wrong shape from a bad field.
pub fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, JsonError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data
            && e.to_string().starts_with(b64::FIELD_ERROR)
        {
            JsonError::Field(e)
        } else {
            JsonError::Shape(e)
        }
    })
}

/// RFC 6962 §4.1 `add-chain` / §4.2 `add-pre-chain` input.
///
/// ```text
/// chain:  An array of base64-encoded certificates.  The first element is the
///    end-entity certificate; the second chains to the first and so on to the last,
///    which is either the root certificate or a certificate that chains to a known
///    root certificate.
/// ```
///
/// Parsing checks the length before decoding any element, so that an oversized
/// chain is refused as such (see [`AddChainRequest::from_json`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddChainRequest {
    /// DER certificates, leaf first.
    #[serde(serialize_with = "b64::list::serialize")]
    pub chain: Vec<Vec<u8>>,
}

impl<'de> Deserialize<'de> for AddChainRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let encoded = EncodedChain::deserialize(d)?;
        Self::decode(encoded).map_err(serde::de::Error::custom)
    }
}

/// The request before its certificates are decoded.
#[derive(Deserialize)]
struct EncodedChain {
    chain: Vec<String>,
}

/// Why an `add-chain` body is refused; the messages are the log's 400 answers.
#[derive(Debug, Error)]
pub enum AddChainError {
    /// Not JSON of the request's shape.
    #[error("malformed JSON body: {0}")]
    Json(serde_json::Error),
    /// No certificate.
    #[error("chain is empty")]
    Empty,
    /// More than [`MAX_CHAIN_LEN`] certificates.
    #[error("chain has {0} certificates, at most {MAX_CHAIN_LEN} are accepted")]
    TooLong(usize),
    /// An element is not base64.
    #[error("chain[{index}] is not valid base64: {error}")]
    Base64 {
        /// Position in the chain.
        index: usize,
        /// The decoder's complaint.
        error: base64::DecodeError,
    },
}

impl AddChainRequest {
    /// Parses a request body: the JSON, then the chain's length, then each element.
    pub fn from_json(body: &[u8]) -> Result<Self, AddChainError> {
        let encoded: EncodedChain = serde_json::from_slice(body).map_err(AddChainError::Json)?;
        Self::decode(encoded)
    }

    fn decode(encoded: EncodedChain) -> Result<Self, AddChainError> {
        use base64::Engine;
        if encoded.chain.is_empty() {
            return Err(AddChainError::Empty);
        }
        if encoded.chain.len() > MAX_CHAIN_LEN {
            return Err(AddChainError::TooLong(encoded.chain.len()));
        }
        let chain = encoded
            .chain
            .iter()
            .enumerate()
            .map(|(index, text)| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|error| AddChainError::Base64 { index, error })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { chain })
    }
}

/// RFC 6962 §4.1 `add-chain` / §4.2 `add-pre-chain` output.
///
/// ```text
/// sct_version:  The version of the SignedCertificateTimestamp structure, in decimal.
/// id:           The log ID, base64 encoded.
/// timestamp:    The SCT timestamp, in decimal.
/// extensions:   An opaque type for future expansion, base64 encoded.
/// signature:    The SCT signature, base64 encoded.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddChainResponse {
    /// `sct_version` (v1 = 0).
    pub sct_version: u8,
    /// `LogID`: SHA-256 of the log's SPKI DER.
    #[serde(with = "b64")]
    pub id: [u8; 32],
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// `CtExtensions` body (absent reads as empty, as other clients read it).
    #[serde(default, with = "b64")]
    pub extensions: Vec<u8>,
    /// TLS `DigitallySigned`.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

impl AddChainResponse {
    /// The answer for `sct`.
    pub fn from_sct(sct: &SignedCertificateTimestamp) -> Self {
        Self {
            sct_version: 0,
            id: sct.log_id,
            timestamp: sct.timestamp,
            extensions: sct.extensions.clone(),
            signature: encode_digitally_signed(&sct.signature),
        }
    }

    /// The SCT: a v1 version and a signature that is exactly one `DigitallySigned`.
    pub fn into_sct(self) -> Result<SignedCertificateTimestamp, CtApiError> {
        if self.sct_version != 0 {
            return Err(CtApiError::SctVersion(self.sct_version));
        }
        Ok(SignedCertificateTimestamp {
            log_id: self.id,
            timestamp: self.timestamp,
            signature: digitally_signed("signature", &self.signature)?,
            extensions: self.extensions,
        })
    }
}

/// RFC 6962 §4.3 `get-sth` output.
///
/// ```text
/// tree_size:  The size of the tree, in entries, in decimal.
/// timestamp:  The timestamp, in decimal.
/// sha256_root_hash:  The Merkle Tree Hash of the tree, in base64.
/// tree_head_signature:  A TreeHeadSignature for the above data.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSthResponse {
    /// Number of entries in the tree.
    pub tree_size: u64,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// Merkle tree root.
    #[serde(with = "b64")]
    pub sha256_root_hash: [u8; 32],
    /// TLS `DigitallySigned` over the RFC 6962 §3.5 `TreeHeadSignature`.
    #[serde(with = "b64")]
    pub tree_head_signature: Vec<u8>,
}

/// A tree head whose fields decoded; [`SignedTreeHead::verify`] checks its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// Number of entries in the tree.
    pub tree_size: u64,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// Merkle tree root.
    pub root_hash: [u8; 32],
    /// The log's signature over [`tree_head_signed_data`].
    pub signature: DigitallySigned,
}

impl GetSthResponse {
    /// Decodes the signature.
    pub fn into_tree_head(self) -> Result<SignedTreeHead, CtApiError> {
        Ok(SignedTreeHead {
            tree_size: self.tree_size,
            timestamp: self.timestamp,
            root_hash: self.sha256_root_hash,
            signature: digitally_signed("tree_head_signature", &self.tree_head_signature)?,
        })
    }
}

impl SignedTreeHead {
    /// The `get-sth` answer for this head.
    pub fn to_response(&self) -> GetSthResponse {
        GetSthResponse {
            tree_size: self.tree_size,
            timestamp: self.timestamp,
            sha256_root_hash: self.root_hash,
            tree_head_signature: encode_digitally_signed(&self.signature),
        }
    }

    /// Verifies the RFC 6962 §3.5 signature with the log key `spki_der`.
    pub fn verify(&self, spki_der: &[u8]) -> Result<(), VerifyError> {
        let msg = tree_head_signed_data(self.timestamp, self.tree_size, &self.root_hash);
        verify_digitally_signed(spki_der, &msg, &self.signature)
    }
}

/// RFC 6962 §4.4 `get-sth-consistency` input (query parameters).
///
/// ```text
/// first:  The tree_size of the first tree, in decimal.
/// second:  The tree_size of the second tree, in decimal.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSthConsistencyRequest {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size.
    pub second: u64,
}

/// RFC 6962 §4.4 `get-sth-consistency` output.
///
/// ```text
/// consistency:  An array of Merkle Tree nodes, base64 encoded.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSthConsistencyResponse {
    /// The consistency proof.
    #[serde(with = "b64::list")]
    pub consistency: Vec<[u8; 32]>,
}

/// RFC 6962 §4.5 `get-proof-by-hash` input (query parameters).
///
/// ```text
/// hash:  A base64-encoded v1 leaf hash.
/// tree_size:  The tree_size of the tree on which to base the proof, in decimal.
/// ```
///
/// `hash` stays text: form decoding turns base64's `+` into a space, which
/// [`GetProofByHashRequest::leaf_hash`] undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetProofByHashRequest {
    /// Base64 leaf hash.
    pub hash: String,
    /// The tree the proof is for.
    pub tree_size: u64,
}

/// Why a `get-proof-by-hash` hash is refused; the messages are the log's 400 answers.
#[derive(Debug, Error)]
pub enum LeafHashError {
    /// Not base64.
    #[error("hash is not valid base64: {0}")]
    Base64(base64::DecodeError),
    /// Not 32 bytes.
    #[error("hash has {0} bytes, not 32")]
    Length(usize),
}

impl GetProofByHashRequest {
    /// The leaf hash, with a `+` that form decoding turned into a space put back.
    pub fn leaf_hash(&self) -> Result<[u8; 32], LeafHashError> {
        use base64::Engine;
        let fixed = self.hash.replace(' ', "+");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(fixed.as_bytes())
            .map_err(LeafHashError::Base64)?;
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| LeafHashError::Length(b.len()))
    }
}

/// RFC 6962 §4.5 `get-proof-by-hash` output.
///
/// ```text
/// leaf_index:  The 0-based index of the end entity corresponding to the "hash"
///    parameter.
/// audit_path:  An array of base64-encoded Merkle Tree nodes proving the inclusion
///    of the chosen certificate.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetProofByHashResponse {
    /// Index of the entry.
    pub leaf_index: u64,
    /// Merkle audit path, leaf to root.
    #[serde(with = "b64::list")]
    pub audit_path: Vec<[u8; 32]>,
}

/// RFC 6962 §4.6 `get-entries` input (query parameters).
///
/// ```text
/// start:  0-based index of first entry to retrieve, in decimal.
/// end:  0-based index of last entry to retrieve, in decimal.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetEntriesRequest {
    /// First index.
    pub start: u64,
    /// Last index, inclusive.
    pub end: u64,
}

/// RFC 6962 §4.6 `get-entries` output.
///
/// ```text
/// entries:  An array of objects, each consisting of
///    leaf_input:  The base64-encoded MerkleTreeLeaf structure.
///    extra_data:  The base64-encoded unsigned data pertaining to the log entry.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetEntriesResponse {
    /// The entries, in order from `start`.
    pub entries: Vec<LogEntry>,
}

/// One entry of [`GetEntriesResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// TLS `MerkleTreeLeaf`.
    #[serde(with = "b64")]
    pub leaf_input: Vec<u8>,
    /// The chain (or precertificate and chain) that is not part of the leaf. A
    /// monitor checks and matches entries without it, so an absent one reads as
    /// empty.
    #[serde(default, with = "b64")]
    pub extra_data: Vec<u8>,
}

/// RFC 6962 §4.7 `get-roots` output.
///
/// ```text
/// certificates:  An array of base64-encoded root certificates that are acceptable
///    to the log.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRootsResponse {
    /// DER root certificates.
    #[serde(with = "b64::list")]
    pub certificates: Vec<Vec<u8>>,
}

/// RFC 6962 §4.8 `get-entry-and-proof` input (query parameters).
///
/// ```text
/// leaf_index:  The index of the desired entry.
/// tree_size:  The tree_size of the tree for which the proof is desired.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetEntryAndProofRequest {
    /// Index of the entry.
    pub leaf_index: u64,
    /// The tree the proof is for.
    pub tree_size: u64,
}

/// RFC 6962 §4.8 `get-entry-and-proof` output.
///
/// ```text
/// leaf_input:  The base64-encoded MerkleTreeLeaf structure.
/// extra_data:  The base64-encoded unsigned data, same as in Section 4.6.
/// audit_path:  An array of base64-encoded Merkle Tree nodes proving the inclusion
///    of the chosen certificate.
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetEntryAndProofResponse {
    /// TLS `MerkleTreeLeaf`.
    #[serde(with = "b64")]
    pub leaf_input: Vec<u8>,
    /// The entry's chain.
    #[serde(with = "b64")]
    pub extra_data: Vec<u8>,
    /// Merkle audit path, leaf to root.
    #[serde(with = "b64::list")]
    pub audit_path: Vec<[u8; 32]>,
}

#[cfg(test)]
mod tests;
