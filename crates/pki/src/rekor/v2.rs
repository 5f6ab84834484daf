//! Rekor v2 (rekor-tiles) wire formats: the `CreateEntryRequest` a client posts to
//! `POST /api/v2/log/entries`, the checks rekor-tiles makes before it logs an entry, and
//! the canonical `Entry` whose bytes are the log leaf.
//!
//! ```text
//! message CreateEntryRequest {                     // rekor-tiles api/proto/rekor/v2/
//!     oneof spec {
//!         HashedRekordRequestV002 hashed_rekord_request_v002 = 1;
//!         DSSERequestV002 dsse_request_v002 = 2;
//!     }
//! }
//! message HashedRekordRequestV002 { bytes digest = 1; Signature signature = 2; }
//! message DSSERequestV002 { io.intoto.Envelope envelope = 1; repeated Verifier verifiers = 2; }
//! message Signature { bytes content = 1; Verifier verifier = 2; }
//!
//! message Entry { string kind = 1; string api_version = 2; Spec spec = 3; }
//! message Spec {
//!     oneof spec {
//!         HashedRekordLogEntryV002 hashed_rekord_v002 = 1;
//!         DSSELogEntryV002 dsse_v002 = 2;
//!     }
//! }
//! message HashedRekordLogEntryV002 { dev.sigstore.common.v1.HashOutput data = 1; Signature signature = 2; }
//! message DSSELogEntryV002 { dev.sigstore.common.v1.HashOutput payloadHash = 1;
//!                            repeated Signature signatures = 2; }
//! message HashOutput { HashAlgorithm algorithm = 1; bytes digest = 2; }
//! ```
//!
//! Requests arrive as protobuf JSON (the proto3 JSON mapping), read as rekor-tiles'
//! HTTP gateway reads them: a field goes by its lowerCamel JSON name or its proto name
//! (`keyDetails` or `key_details`), `null` is an absent field, unknown fields are
//! refused (the gateway sets `DiscardUnknown: false`), and so is a oneof with two
//! members set. Narrower than the mapping, because no client writes otherwise: `bytes`
//! are standard base64 with padding, enums are value names (not numbers).
//!
//! The entry is what rekor-tiles stores: Go's `protojson.Marshal` of `Entry` through
//! RFC 8785 canonicalization ([`super::jcs`]); the signature and verifier of a
//! hashedrekord are the request's, byte for byte.
//!
//! rekor-tiles has since dropped DSSE (sigstore-python 4.5.1 uploads an envelope as a
//! hashedrekord over its pre-authentication encoding, which needs nothing here); the
//! `dsse` 0.0.2 kind follows rekor-tiles as it was when it took one.

pub mod verifier;

pub use verifier::{KeyDetails, Verifier, VerifierForm};

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::RekorError;
use super::entry::{MAX_SIGNATURE_BYTES, bounded, pae};
use super::jcs;
use crate::ct_api::b64;
use crate::verify::{HashAlgorithm, verify_prehashed};

/// The `apiVersion` of every v2 entry kind.
pub const API_VERSION: &str = "0.0.2";
/// The largest request read, in bytes of JSON (rekor-tiles' default
/// `--max-request-body-size`).
pub const MAX_REQUEST_BYTES: usize = 4 << 20;
/// The largest verifier taken, in bytes of DER (a certificate with its extensions).
pub const MAX_VERIFIER_DER_BYTES: usize = 64 * 1024;
/// The most signatures in a DSSE envelope (rekor-tiles' `maxSignatures`).
pub const MAX_DSSE_SIGNATURES: usize = 10;
/// The most verifiers beside a DSSE envelope (rekor-tiles' `maxVerifiers`).
pub const MAX_DSSE_VERIFIERS: usize = 10;

fn missing(what: &'static str) -> RekorError {
    RekorError::Malformed {
        what,
        detail: "missing".into(),
    }
}

/// A proto3 `bytes` field that must be set: standard base64, at most `max` bytes once
/// decoded (the text is bounded before decoding). Protobuf JSON omits an empty value,
/// so `""` is a missing field.
fn required_bytes(
    what: &'static str,
    text: Option<String>,
    max: usize,
) -> Result<Vec<u8>, RekorError> {
    let text = text.ok_or_else(|| missing(what))?;
    // Four characters carry at most three bytes.
    if text.len() > max.div_ceil(3) * 4 {
        return Err(RekorError::TooLarge {
            what,
            len: text.len() / 4 * 3,
            max,
        });
    }
    let bytes = STANDARD.decode(&text).map_err(|e| RekorError::Malformed {
        what,
        detail: format!("invalid base64: {e}"),
    })?;
    bounded(what, bytes.len(), max)?;
    if bytes.is_empty() {
        return Err(missing(what));
    }
    Ok(bytes)
}

/// `dev.sigstore.common.v1.HashAlgorithm` value names.
fn hash_algorithm_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "SHA2_256",
        HashAlgorithm::Sha384 => "SHA2_384",
        HashAlgorithm::Sha512 => "SHA2_512",
    }
}

// ---- protobuf JSON, as read ----------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateEntryRequestWire {
    #[serde(
        rename = "hashedRekordRequestV002",
        alias = "hashed_rekord_request_v002"
    )]
    hashed_rekord: Option<HashedRekordRequestWire>,
    #[serde(rename = "dsseRequestV002", alias = "dsse_request_v002")]
    dsse: Option<DsseRequestWire>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordRequestWire {
    digest: Option<String>,
    signature: Option<SignatureWire>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureWire {
    content: Option<String>,
    verifier: Option<VerifierWire>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifierWire {
    #[serde(rename = "publicKey", alias = "public_key")]
    public_key: Option<RawBytesWire>,
    #[serde(rename = "x509Certificate", alias = "x509_certificate")]
    x509_certificate: Option<RawBytesWire>,
    #[serde(rename = "keyDetails", alias = "key_details")]
    key_details: Option<String>,
}

/// `PublicKey` and `X509Certificate` alike: `{ bytes raw_bytes = 1; }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBytesWire {
    #[serde(rename = "rawBytes", alias = "raw_bytes")]
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DsseRequestWire {
    envelope: Option<EnvelopeWire>,
    verifiers: Option<Vec<VerifierWire>>,
}

/// `io.intoto.Envelope`, whose proto field names are camelCase already
/// (`string payloadType = 2;`), so it has no second spelling.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeWire {
    payload: Option<String>,
    #[serde(rename = "payloadType")]
    payload_type: Option<String>,
    signatures: Option<Vec<EnvelopeSignatureWire>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeSignatureWire {
    sig: Option<String>,
    keyid: Option<String>,
}

fn verifier_from_wire(wire: VerifierWire) -> Result<Verifier, RekorError> {
    let (form, raw) = match (wire.public_key, wire.x509_certificate) {
        (Some(key), None) => (VerifierForm::PublicKey, key),
        (None, Some(cert)) => (VerifierForm::X509Certificate, cert),
        (Some(_), Some(_)) => {
            return Err(RekorError::Malformed {
                what: "verifier",
                detail: "both publicKey and x509Certificate are set; the oneof takes one".into(),
            });
        }
        (None, None) => return Err(missing("verifier publicKey or x509Certificate")),
    };
    let raw_bytes = required_bytes("verifier rawBytes", raw.raw_bytes, MAX_VERIFIER_DER_BYTES)?;
    let key_details = wire
        .key_details
        .ok_or_else(|| missing("verifier keyDetails"))?;
    Verifier::new(form, raw_bytes, KeyDetails::from_name(&key_details)?)
}

// ---- the request ---------------------------------------------------------------------

/// A parsed `CreateEntryRequest`: one entry kind, its fields checked for presence,
/// size and the verifiers' keys; [`Self::verify`] checks the signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateEntryRequest {
    /// `hashedRekordRequestV002`.
    HashedRekord(HashedRekordRequest),
    /// `dsseRequestV002`.
    Dsse(DsseRequest),
}

impl CreateEntryRequest {
    /// Reads the protobuf JSON of a request (the body of `POST /api/v2/log/entries`).
    pub fn from_json(json: &[u8]) -> Result<Self, RekorError> {
        const WHAT: &str = "create entry request";
        bounded(WHAT, json.len(), MAX_REQUEST_BYTES)?;
        let wire: CreateEntryRequestWire =
            serde_json::from_slice(json).map_err(|e| RekorError::Malformed {
                what: WHAT,
                detail: e.to_string(),
            })?;
        match (wire.hashed_rekord, wire.dsse) {
            (Some(request), None) => {
                HashedRekordRequest::from_wire(request).map(Self::HashedRekord)
            }
            (None, Some(request)) => DsseRequest::from_wire(request).map(Self::Dsse),
            (Some(_), Some(_)) => Err(RekorError::Malformed {
                what: WHAT,
                detail: "both hashedRekordRequestV002 and dsseRequestV002 are set; the oneof \
                         takes one"
                    .into(),
            }),
            (None, None) => Err(missing("hashedRekordRequestV002 or dsseRequestV002")),
        }
    }

    /// The protobuf JSON of the request (lowerCamel names), as a client posts it.
    pub fn to_json(&self) -> Result<Vec<u8>, RekorError> {
        let value = match self {
            Self::HashedRekord(request) => json!({"hashedRekordRequestV002": request.to_json()}),
            Self::Dsse(request) => json!({"dsseRequestV002": request.to_json()}),
        };
        Ok(jcs::canonicalize(&value)?)
    }

    /// The kind of the entry it makes: `"hashedrekord"` or `"dsse"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::HashedRekord(_) => "hashedrekord",
            Self::Dsse(_) => "dsse",
        }
    }

    /// Checks the signatures as rekor-tiles does before logging the entry.
    pub fn verify(&self) -> Result<(), RekorError> {
        match self {
            Self::HashedRekord(request) => request.verify(),
            Self::Dsse(request) => request.verified_signatures().map(|_| ()),
        }
    }

    /// The canonical entry (the leaf bytes), after the signatures verify: a body is
    /// never made for an entry that does not.
    pub fn canonical_body(&self) -> Result<Vec<u8>, RekorError> {
        match self {
            Self::HashedRekord(request) => request.canonical_body(),
            Self::Dsse(request) => request.canonical_body(),
        }
    }
}

/// `{"apiVersion": "0.0.2", "kind", "spec": {<member>: <entry>}}`, canonicalized.
fn canonical_entry(kind: &str, member: &str, entry: Value) -> Result<Vec<u8>, RekorError> {
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "spec": {(member): entry},
    });
    Ok(jcs::canonicalize(&value)?)
}

/// A signature with the verifier that checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    content: Vec<u8>,
    verifier: Verifier,
}

impl Signature {
    /// A signature of at most [`MAX_SIGNATURE_BYTES`], not empty.
    pub fn new(content: Vec<u8>, verifier: Verifier) -> Result<Self, RekorError> {
        bounded("signature content", content.len(), MAX_SIGNATURE_BYTES)?;
        if content.is_empty() {
            return Err(missing("signature content"));
        }
        Ok(Self { content, verifier })
    }

    fn from_wire(wire: SignatureWire) -> Result<Self, RekorError> {
        let content = required_bytes("signature content", wire.content, MAX_SIGNATURE_BYTES)?;
        let verifier = verifier_from_wire(wire.verifier.ok_or_else(|| missing("verifier"))?)?;
        Self::new(content, verifier)
    }

    /// The signature bytes.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The key or certificate, with its algorithm.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    fn to_json(&self) -> Value {
        json!({"content": b64::encode(&self.content), "verifier": self.verifier.to_json()})
    }
}

/// A `hashedRekordRequestV002`: a signature over an artifact known by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekordRequest {
    digest: Vec<u8>,
    hash: HashAlgorithm,
    signature: Signature,
}

impl HashedRekordRequest {
    /// A request from its parts. The digest must be made with the hash the verifier's
    /// key details name (rekor-tiles: "digest length ... does not match expected size");
    /// pure Ed25519 has none, so it cannot sign a hashedrekord.
    pub fn new(digest: Vec<u8>, signature: Signature) -> Result<Self, RekorError> {
        let key_details = signature.verifier.key_details();
        let hash = key_details
            .prehash()
            .ok_or_else(|| RekorError::UnsupportedKeyDetails {
                key_details: key_details.name().to_string(),
                reason: "pure Ed25519 signs the whole artifact, which a hashedrekord does not \
                         carry",
            })?;
        if digest.len() != hash.digest_len() {
            return Err(RekorError::DigestLength {
                key_details: key_details.name(),
                algorithm: hash_algorithm_name(hash),
                expected: hash.digest_len(),
                len: digest.len(),
            });
        }
        Ok(Self {
            digest,
            hash,
            signature,
        })
    }

    /// The request a sigstore client makes for a signature by a certificate's key: the
    /// certificate as DER, with the `KeyDetails` of its key.
    pub fn for_certificate(
        certificate_der: &[u8],
        signature: Vec<u8>,
        digest: Vec<u8>,
    ) -> Result<Self, RekorError> {
        use der::{Decode, Encode};
        let spki = x509_cert::Certificate::from_der(certificate_der)
            .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der())
            .map_err(|e| RekorError::BadPublicKey(format!("certificate: {e}")))?;
        let verifier = Verifier::new(
            VerifierForm::X509Certificate,
            certificate_der.to_vec(),
            KeyDetails::of_spki(&spki)?,
        )?;
        Self::new(digest, Signature::new(signature, verifier)?)
    }

    fn from_wire(wire: HashedRekordRequestWire) -> Result<Self, RekorError> {
        // Every accepted hash fits in 64 bytes: a longer digest is refused unread.
        let digest = required_bytes("digest", wire.digest, 64)?;
        let signature = Signature::from_wire(wire.signature.ok_or_else(|| missing("signature"))?)?;
        Self::new(digest, signature)
    }

    /// The artifact's digest.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The hash the digest was made with.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }

    /// The signature and its verifier.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// What rekor-tiles checks: the signature verifies over the digest with the key
    /// (ECDSA and RSA PKCS#1 v1.5 sign the digest itself).
    pub fn verify(&self) -> Result<(), RekorError> {
        verify_prehashed(
            self.signature.verifier.spki_der(),
            self.hash,
            &self.digest,
            &self.signature.content,
        )?;
        Ok(())
    }

    fn to_json(&self) -> Value {
        json!({"digest": b64::encode(&self.digest), "signature": self.signature.to_json()})
    }

    /// The `hashedrekord` 0.0.2 entry, after the signature verifies:
    ///
    /// ```text
    /// {"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{
    ///   "data":{"algorithm":"SHA2_256","digest":<b64>},
    ///   "signature":{"content":<b64>,"verifier":{"keyDetails":..,"publicKey":{"rawBytes":<b64>}}}}}}
    /// ```
    pub fn canonical_body(&self) -> Result<Vec<u8>, RekorError> {
        self.verify()?;
        self.canonical_body_of_verified()
    }

    /// [`Self::canonical_body`] for a caller that has verified this very signature
    /// already (a bundle verifier rebuilding the logged body after its signature
    /// check), so it is not verified twice.
    pub fn canonical_body_of_verified(&self) -> Result<Vec<u8>, RekorError> {
        let entry = json!({
            "data": {
                "algorithm": hash_algorithm_name(self.hash),
                "digest": b64::encode(&self.digest),
            },
            "signature": self.signature.to_json(),
        });
        canonical_entry("hashedrekord", "hashedRekordV002", entry)
    }
}

/// A DSSE envelope (`io.intoto.Envelope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The signed message.
    pub payload: Vec<u8>,
    /// How to read the payload; signed with it.
    pub payload_type: String,
    /// The signatures over the pre-authentication encoding.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of a DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The signature over `PAE(payloadType, payload)`.
    pub sig: Vec<u8>,
    /// An unauthenticated hint naming the key; empty when absent.
    pub keyid: String,
}

/// A `dsseRequestV002`: an envelope and the keys that may have signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseRequest {
    envelope: Envelope,
    verifiers: Vec<Verifier>,
}

impl DsseRequest {
    /// A request from its parts, with rekor-tiles' limits: one to
    /// [`MAX_DSSE_SIGNATURES`] non-empty signatures, one to [`MAX_DSSE_VERIFIERS`]
    /// verifiers, no verifier given twice.
    pub fn new(envelope: Envelope, verifiers: Vec<Verifier>) -> Result<Self, RekorError> {
        if envelope.signatures.is_empty() {
            return Err(missing("DSSE envelope signatures"));
        }
        bounded(
            "DSSE envelope signatures",
            envelope.signatures.len(),
            MAX_DSSE_SIGNATURES,
        )?;
        for signature in &envelope.signatures {
            if signature.sig.is_empty() {
                return Err(missing("DSSE envelope signature sig"));
            }
            bounded("DSSE signature", signature.sig.len(), MAX_SIGNATURE_BYTES)?;
        }
        if verifiers.is_empty() {
            return Err(missing("DSSE verifiers"));
        }
        bounded("DSSE verifiers", verifiers.len(), MAX_DSSE_VERIFIERS)?;
        for (i, verifier) in verifiers.iter().enumerate() {
            if verifiers
                .iter()
                .take(i)
                .any(|v| v.raw_bytes() == verifier.raw_bytes())
            {
                return Err(RekorError::Invalid(format!(
                    "DSSE verifier {i} repeats an earlier one"
                )));
            }
        }
        Ok(Self {
            envelope,
            verifiers,
        })
    }

    fn from_wire(wire: DsseRequestWire) -> Result<Self, RekorError> {
        let envelope = wire.envelope.ok_or_else(|| missing("DSSE envelope"))?;
        let signatures = envelope.signatures.unwrap_or_default();
        bounded(
            "DSSE envelope signatures",
            signatures.len(),
            MAX_DSSE_SIGNATURES,
        )?;
        let signatures = signatures
            .into_iter()
            .map(|s| {
                Ok(EnvelopeSignature {
                    sig: required_bytes("DSSE envelope signature sig", s.sig, MAX_SIGNATURE_BYTES)?,
                    keyid: s.keyid.unwrap_or_default(),
                })
            })
            .collect::<Result<_, RekorError>>()?;
        let payload = match envelope.payload {
            // The request bound bounds the payload.
            Some(text) => STANDARD.decode(&text).map_err(|e| RekorError::Malformed {
                what: "DSSE payload",
                detail: format!("invalid base64: {e}"),
            })?,
            None => Vec::new(),
        };
        let verifiers = wire.verifiers.unwrap_or_default();
        bounded("DSSE verifiers", verifiers.len(), MAX_DSSE_VERIFIERS)?;
        let verifiers = verifiers
            .into_iter()
            .map(verifier_from_wire)
            .collect::<Result<_, _>>()?;
        let envelope = Envelope {
            payload,
            payload_type: envelope.payload_type.unwrap_or_default(),
            signatures,
        };
        Self::new(envelope, verifiers)
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The verifiers, in request order.
    pub fn verifiers(&self) -> &[Verifier] {
        &self.verifiers
    }

    /// What rekor-tiles checks: every envelope signature verifies over the DSSE
    /// pre-authentication encoding with some verifier (each with the hash of its key
    /// details, pure Ed25519 as itself), and every verifier verifies some signature (it
    /// checks each verifier against a threshold of one).
    ///
    /// Returns the signatures as the entry records them: without repeats, in ascending
    /// order of their bytes, each with the first verifier in request order that
    /// verifies it (rekor-tiles takes whichever its map iteration meets last, so this is
    /// the deterministic choice among the same candidates).
    pub fn verified_signatures(&self) -> Result<Vec<Signature>, RekorError> {
        let pae = pae(&self.envelope.payload_type, &self.envelope.payload);
        let mut used = vec![false; self.verifiers.len()];
        let mut verified: BTreeMap<&[u8], &Verifier> = BTreeMap::new();
        for (i, signature) in self.envelope.signatures.iter().enumerate() {
            let mut first = None;
            for (verifier, hit) in self.verifiers.iter().zip(used.iter_mut()) {
                if verifier.verify_message(&pae, &signature.sig) {
                    *hit = true;
                    first.get_or_insert(verifier);
                }
            }
            let verifier = first.ok_or(RekorError::UnverifiedDsseSignature(i))?;
            verified.entry(&signature.sig).or_insert(verifier);
        }
        if let Some(unused) = used.iter().position(|used| !used) {
            return Err(RekorError::UnusedDsseVerifier(unused));
        }
        verified
            .into_iter()
            .map(|(sig, verifier)| Signature::new(sig.to_vec(), verifier.clone()))
            .collect()
    }

    fn to_json(&self) -> Value {
        let signatures: Vec<Value> = self
            .envelope
            .signatures
            .iter()
            .map(|s| {
                let mut value = json!({"sig": b64::encode(&s.sig)});
                // Protobuf JSON omits a field holding its default, the empty string.
                if !s.keyid.is_empty() {
                    value["keyid"] = json!(s.keyid);
                }
                value
            })
            .collect();
        json!({
            "envelope": {
                "payload": b64::encode(&self.envelope.payload),
                "payloadType": self.envelope.payload_type,
                "signatures": signatures,
            },
            "verifiers": self.verifiers.iter().map(Verifier::to_json).collect::<Vec<_>>(),
        })
    }

    /// The `dsse` 0.0.2 entry, after the signatures verify: the payload's SHA-256 (always
    /// SHA-256, whatever the keys sign with — rekor-tiles: "clients must not use the
    /// payload hash when verifying signatures") and the verified signatures:
    ///
    /// ```text
    /// {"apiVersion":"0.0.2","kind":"dsse","spec":{"dsseV002":{
    ///   "payloadHash":{"algorithm":"SHA2_256","digest":<b64>},
    ///   "signatures":[{"content":<b64>,"verifier":{...}}, ...]}}}
    /// ```
    pub fn canonical_body(&self) -> Result<Vec<u8>, RekorError> {
        let signatures: Vec<Value> = self
            .verified_signatures()?
            .iter()
            .map(Signature::to_json)
            .collect();
        let entry = json!({
            "payloadHash": {
                "algorithm": hash_algorithm_name(HashAlgorithm::Sha256),
                "digest": b64::encode(Sha256::digest(&self.envelope.payload)),
            },
            "signatures": signatures,
        });
        canonical_entry("dsse", "dsseV002", entry)
    }
}

#[cfg(test)]
mod tests;
