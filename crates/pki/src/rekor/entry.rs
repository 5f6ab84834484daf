//! Rekor v1 proposed entries of the kinds this log takes, `hashedrekord` 0.0.1 and
//! `dsse` 0.0.1: strict parsing with bounded sizes, the signature checks Rekor makes
//! before it logs an entry, and the canonical body it stores (what Rekor's
//! `Canonicalize` returns for the kind).
//!
//! ```text
//! {"apiVersion":"0.0.1","kind":"hashedrekord","spec":{
//!   "signature":{"content":<b64 signature>,"publicKey":{"content":<b64 PEM key or certificate>}},
//!   "data":{"hash":{"algorithm":"sha256"|"sha384"|"sha512","value":<hex digest>}}}}
//!
//! {"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":{
//!   "envelope":<DSSE envelope JSON, as a string>,"verifiers":[<b64 PEM key or certificate>, ...]}}}
//! ```

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::{AnyRef, Null};
use der::pem::LineEnding;
use der::{Decode, Encode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use super::RekorError;
use super::jcs;
use crate::ct_api::b64;
use crate::verify::{HashAlgorithm, verify_by_key, verify_prehashed};

/// The largest proposed entry read, in bytes of JSON.
pub const MAX_PROPOSED_ENTRY_BYTES: usize = 1 << 20;
/// The largest signature taken (an RSA-8192 signature is 1024 bytes).
pub const MAX_SIGNATURE_BYTES: usize = 2048;
/// The largest verifier taken, in bytes of PEM (a certificate with its extensions).
pub const MAX_VERIFIER_PEM_BYTES: usize = 64 * 1024;
/// The most signatures in a DSSE envelope, and the most verifiers beside it.
pub const MAX_DSSE_SIGNATURES: usize = 16;

const API_VERSION: &str = "0.0.1";

/// A parsed proposed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposedEntry {
    /// `hashedrekord` 0.0.1.
    HashedRekord(HashedRekord),
    /// `dsse` 0.0.1.
    Dsse(DsseEntry),
}

/// `{"apiVersion","kind","spec"}`, the envelope of every Rekor entry kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EntryWire {
    api_version: String,
    kind: String,
    spec: serde_json::Value,
}

fn from_json<T: DeserializeOwned>(what: &'static str, json: &[u8]) -> Result<T, RekorError> {
    serde_json::from_slice(json).map_err(|e| RekorError::Malformed {
        what,
        detail: e.to_string(),
    })
}

fn from_value<T: DeserializeOwned>(
    what: &'static str,
    value: serde_json::Value,
) -> Result<T, RekorError> {
    serde_json::from_value(value).map_err(|e| RekorError::Malformed {
        what,
        detail: e.to_string(),
    })
}

/// [`RekorError::TooLarge`] naming `what` when `len` is beyond `max`.
pub(super) fn bounded(what: &'static str, len: usize, max: usize) -> Result<(), RekorError> {
    if len > max {
        return Err(RekorError::TooLarge { what, len, max });
    }
    Ok(())
}

/// The `kind` and `apiVersion` of a v1 entry body (proposed or canonical: both share
/// the envelope), for the kinds this log takes; the spec is not read.
pub(crate) fn v1_kind_version(body: &[u8]) -> Result<(&'static str, &'static str), RekorError> {
    bounded("log entry body", body.len(), MAX_PROPOSED_ENTRY_BYTES)?;
    let wire: EntryWire = from_json("log entry body", body)?;
    match (wire.kind.as_str(), wire.api_version.as_str()) {
        ("hashedrekord", API_VERSION) => Ok(("hashedrekord", API_VERSION)),
        ("dsse", API_VERSION) => Ok(("dsse", API_VERSION)),
        _ => Err(RekorError::UnsupportedKind {
            kind: wire.kind,
            api_version: wire.api_version,
        }),
    }
}

/// Parses a proposed entry (the body of `POST /api/v1/log/entries`) strictly: unknown
/// fields, missing fields, bad base64 or hex and oversized values are errors. The
/// signatures are not checked here; [`ProposedEntry::verify`] and
/// [`ProposedEntry::canonical_body`] do.
pub fn parse_proposed_entry(json: &[u8]) -> Result<ProposedEntry, RekorError> {
    ProposedEntry::from_json(json)
}

impl ProposedEntry {
    /// See [`parse_proposed_entry`].
    pub fn from_json(json: &[u8]) -> Result<Self, RekorError> {
        bounded("proposed entry", json.len(), MAX_PROPOSED_ENTRY_BYTES)?;
        let wire: EntryWire = from_json("proposed entry", json)?;
        match (wire.kind.as_str(), wire.api_version.as_str()) {
            ("hashedrekord", API_VERSION) => {
                HashedRekord::from_spec(wire.spec).map(Self::HashedRekord)
            }
            ("dsse", API_VERSION) => DsseEntry::from_spec(wire.spec).map(Self::Dsse),
            _ => Err(RekorError::UnsupportedKind {
                kind: wire.kind,
                api_version: wire.api_version,
            }),
        }
    }

    /// The entry's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::HashedRekord(_) => "hashedrekord",
            Self::Dsse(_) => "dsse",
        }
    }

    /// Makes the checks Rekor makes before logging the entry (the signatures verify).
    pub fn verify(&self) -> Result<(), RekorError> {
        match self {
            Self::HashedRekord(entry) => entry.verify(),
            Self::Dsse(entry) => entry.verified_signatures().map(|_| ()),
        }
    }

    /// The body the log stores and hashes into its leaf, after the entry verifies.
    pub fn canonical_body(&self) -> Result<Vec<u8>, RekorError> {
        match self {
            Self::HashedRekord(entry) => entry.canonical_body(),
            Self::Dsse(entry) => entry.canonical_body(),
        }
    }
}

/// A public key or certificate as Rekor takes it: one PEM block, `PUBLIC KEY` (an X.509
/// SubjectPublicKeyInfo) or `CERTIFICATE`, whose key is used as is (Rekor checks no
/// validity period or chain for a single certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    certificate: bool,
    /// The SPKI as Rekor re-encodes it (Go's `x509.MarshalPKIXPublicKey`), or the
    /// certificate's DER as given.
    der: Vec<u8>,
    spki_der: Vec<u8>,
}

impl Verifier {
    /// Parses one PEM block. Chains (several certificates) are not taken.
    pub fn from_pem(pem: &[u8]) -> Result<Self, RekorError> {
        bounded("verifier", pem.len(), MAX_VERIFIER_PEM_BYTES)?;
        let bad = |m: String| RekorError::BadPublicKey(m);
        let text = std::str::from_utf8(pem).map_err(|_| bad("PEM is not UTF-8".into()))?;
        let (label, der) =
            der::pem::decode_vec(text.trim().as_bytes()).map_err(|e| bad(e.to_string()))?;
        match label {
            "PUBLIC KEY" => {
                let spki_der = canonical_spki(&der)?;
                Ok(Self {
                    certificate: false,
                    der: spki_der.clone(),
                    spki_der,
                })
            }
            "CERTIFICATE" => {
                let cert = Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
                let spki = cert
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .map_err(|e| bad(e.to_string()))?;
                Ok(Self {
                    certificate: true,
                    der,
                    spki_der: canonical_spki(&spki)?,
                })
            }
            other => Err(bad(format!("unexpected PEM label {other:?}"))),
        }
    }

    /// The key's SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Whether the verifier is a certificate (else a bare public key).
    pub fn is_certificate(&self) -> bool {
        self.certificate
    }

    /// The PEM Rekor stores for the verifier (its `CanonicalValue`): Go's `pem.Encode`,
    /// 64-character lines, each ending in `\n`.
    pub fn canonical_pem(&self) -> Result<String, RekorError> {
        let label = if self.certificate {
            "CERTIFICATE"
        } else {
            "PUBLIC KEY"
        };
        der::pem::encode_string(label, LineEnding::LF, &self.der)
            .map_err(|e| RekorError::BadPublicKey(e.to_string()))
    }
}

/// The SPKI as Go's `x509.ParsePKIXPublicKey` then `MarshalPKIXPublicKey` leave it, for
/// the key types Rekor's parser takes: an RSA key gets NULL parameters, EC keys keep
/// their named curve, Ed25519 has none. Other algorithms (RSASSA-PSS keys among them)
/// are refused, as Go refuses them.
fn canonical_spki(der: &[u8]) -> Result<Vec<u8>, RekorError> {
    let bad = |m: String| RekorError::BadPublicKey(m);
    let mut spki = SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| bad(e.to_string()))?;
    match spki.algorithm.oid {
        rfc5912::RSA_ENCRYPTION => {
            let null = AnyRef::from(Null);
            spki.algorithm.parameters = Some(null.into());
        }
        rfc5912::ID_EC_PUBLIC_KEY => {}
        rfc8410::ID_ED_25519 => {
            if spki.algorithm.parameters.is_some() {
                return Err(bad("Ed25519 key with parameters".into()));
            }
        }
        other => return Err(bad(format!("unsupported public key algorithm {other}"))),
    }
    spki.to_der().map_err(|e| bad(e.to_string()))
}

fn verifier_from_b64(what: &'static str, b64_text: &str) -> Result<Verifier, RekorError> {
    // base64 is 4/3 of the bytes: bound before decoding.
    bounded(what, b64_text.len() / 4 * 3, MAX_VERIFIER_PEM_BYTES)?;
    let pem = STANDARD
        .decode(b64_text)
        .map_err(|e| RekorError::Malformed {
            what,
            detail: format!("invalid base64: {e}"),
        })?;
    Verifier::from_pem(&pem)
}

/// The artifact's digest in a `hashedrekord`: `{"algorithm","value"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactHash {
    algorithm: HashAlgorithm,
    /// The hex digits as given (Rekor stores them verbatim, either case).
    value: String,
    digest: Vec<u8>,
}

impl ArtifactHash {
    /// Reads `{"algorithm": "sha256"|"sha384"|"sha512", "value": <hex of the digest>}`.
    pub fn new(algorithm: &str, value: &str) -> Result<Self, RekorError> {
        let algorithm = HashAlgorithm::from_name(algorithm)
            .ok_or_else(|| RekorError::UnsupportedHash(algorithm.to_string()))?;
        let expected = algorithm.digest_len() * 2;
        let bad = || RekorError::BadHashValue {
            algorithm: algorithm.name(),
            expected,
        };
        if value.len() != expected {
            return Err(bad());
        }
        let digest = hex::decode(value).map_err(|_| bad())?;
        Ok(Self {
            algorithm,
            value: value.to_string(),
            digest,
        })
    }

    /// The hash function.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    fn to_json(&self) -> serde_json::Value {
        json!({"algorithm": self.algorithm.name(), "value": self.value})
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordSpecWire {
    signature: HashedRekordSignatureWire,
    data: HashedRekordDataWire,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HashedRekordSignatureWire {
    content: String,
    public_key: ContentWire,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentWire {
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashedRekordDataWire {
    hash: HashWire,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashWire {
    algorithm: String,
    value: String,
}

/// A `hashedrekord` 0.0.1 entry: a signature over an artifact known by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekord {
    signature: Vec<u8>,
    verifier: Verifier,
    hash: ArtifactHash,
}

impl HashedRekord {
    /// An entry from its parts (what a client proposes).
    pub fn new(
        signature: Vec<u8>,
        verifier: Verifier,
        hash: ArtifactHash,
    ) -> Result<Self, RekorError> {
        bounded("signature", signature.len(), MAX_SIGNATURE_BYTES)?;
        Ok(Self {
            signature,
            verifier,
            hash,
        })
    }

    /// The entry a sigstore client proposes for a signature by a certificate's key:
    /// the certificate as PEM, the digest as hex.
    pub fn for_certificate(
        certificate_der: &[u8],
        signature: Vec<u8>,
        algorithm: HashAlgorithm,
        digest: &[u8],
    ) -> Result<Self, RekorError> {
        let pem = der::pem::encode_string("CERTIFICATE", LineEnding::LF, certificate_der)
            .map_err(|e| RekorError::BadPublicKey(e.to_string()))?;
        let verifier = Verifier::from_pem(pem.as_bytes())?;
        let hash = ArtifactHash::new(algorithm.name(), &hex::encode(digest))?;
        Self::new(signature, verifier, hash)
    }

    fn from_spec(spec: serde_json::Value) -> Result<Self, RekorError> {
        let wire: HashedRekordSpecWire = from_value("hashedrekord spec", spec)?;
        bounded(
            "signature",
            wire.signature.content.len() / 4 * 3,
            MAX_SIGNATURE_BYTES,
        )?;
        let signature =
            STANDARD
                .decode(&wire.signature.content)
                .map_err(|e| RekorError::Malformed {
                    what: "signature content",
                    detail: format!("invalid base64: {e}"),
                })?;
        let verifier = verifier_from_b64("public key content", &wire.signature.public_key.content)?;
        let hash = ArtifactHash::new(&wire.data.hash.algorithm, &wire.data.hash.value)?;
        Self::new(signature, verifier, hash)
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The public key or certificate.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The artifact's digest.
    pub fn hash(&self) -> &ArtifactHash {
        &self.hash
    }

    /// What Rekor checks: the signature verifies over the artifact's digest with the
    /// key (ECDSA and RSA PKCS#1 v1.5 sign the digest, so the artifact is not needed).
    pub fn verify(&self) -> Result<(), RekorError> {
        verify_prehashed(
            self.verifier.spki_der(),
            self.hash.algorithm,
            &self.hash.digest,
            &self.signature,
        )?;
        Ok(())
    }

    /// The proposed-entry JSON of this entry (what a client posts).
    pub fn to_proposed_json(&self) -> Result<Vec<u8>, RekorError> {
        jcs::canonicalize(&self.to_json()?).map_err(RekorError::from)
    }

    fn to_json(&self) -> Result<serde_json::Value, RekorError> {
        Ok(json!({
            "apiVersion": API_VERSION,
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": self.hash.to_json()},
                "signature": {
                    "content": b64::encode(&self.signature),
                    "publicKey": {"content": b64::encode(self.verifier.canonical_pem()?)},
                },
            },
        }))
    }

    /// Rekor's canonical body: the signature, the verifier's canonical PEM and the hash
    /// (never the artifact), after the signature verifies. Go's `json.Marshal` of
    /// Rekor's model writes the members in name order, so this is the JCS form.
    pub fn canonical_body(&self) -> Result<Vec<u8>, RekorError> {
        self.verify()?;
        self.to_proposed_json()
    }

    /// [`Self::canonical_body`] for a caller that has verified this very signature
    /// already (a bundle verifier rebuilding the logged body after its signature
    /// check), so it is not verified twice.
    pub fn canonical_body_of_verified(&self) -> Result<Vec<u8>, RekorError> {
        self.to_proposed_json()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DsseSpecWire {
    proposed_content: DsseProposedContentWire,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DsseProposedContentWire {
    envelope: String,
    verifiers: Vec<String>,
}

/// The DSSE envelope (`{"payload","payloadType","signatures":[{"keyid","sig"}]}`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvelopeWire {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignatureWire>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeSignatureWire {
    #[serde(default)]
    #[allow(dead_code)]
    keyid: Option<String>,
    sig: String,
}

/// A `dsse` 0.0.1 entry: a DSSE envelope and the keys that may have signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseEntry {
    /// The envelope JSON exactly as submitted: its SHA-256 is the `envelopeHash`.
    envelope: String,
    payload_type: String,
    payload: Vec<u8>,
    /// Each signature as the envelope writes it (base64) and decoded.
    signatures: Vec<(String, Vec<u8>)>,
    verifiers: Vec<Verifier>,
}

/// One envelope signature with the verifier that verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseSignature {
    /// The signature as the envelope writes it (base64).
    pub signature: String,
    /// The key or certificate it verifies with.
    pub verifier: Verifier,
}

impl DsseEntry {
    /// Reads an envelope (JSON text) and its verifiers (PEM).
    pub fn new(envelope: String, verifiers: Vec<Verifier>) -> Result<Self, RekorError> {
        bounded("DSSE envelope", envelope.len(), MAX_PROPOSED_ENTRY_BYTES)?;
        bounded("DSSE verifiers", verifiers.len(), MAX_DSSE_SIGNATURES)?;
        let wire: EnvelopeWire = from_json("DSSE envelope", envelope.as_bytes())?;
        let b64_field = |what: &'static str, text: &str| {
            STANDARD.decode(text).map_err(|e| RekorError::Malformed {
                what,
                detail: format!("invalid base64: {e}"),
            })
        };
        let payload = b64_field("DSSE payload", &wire.payload)?;
        if wire.signatures.is_empty() {
            return Err(RekorError::Invalid(
                "DSSE envelope without signatures".into(),
            ));
        }
        bounded(
            "DSSE signatures",
            wire.signatures.len(),
            MAX_DSSE_SIGNATURES,
        )?;
        let signatures = wire
            .signatures
            .into_iter()
            .map(|s| {
                bounded("signature", s.sig.len() / 4 * 3, MAX_SIGNATURE_BYTES)?;
                let bytes = b64_field("DSSE signature", &s.sig)?;
                Ok((s.sig, bytes))
            })
            .collect::<Result<_, RekorError>>()?;
        if verifiers.is_empty() {
            return Err(RekorError::Invalid("DSSE entry without verifiers".into()));
        }
        Ok(Self {
            envelope,
            payload_type: wire.payload_type,
            payload,
            signatures,
            verifiers,
        })
    }

    fn from_spec(spec: serde_json::Value) -> Result<Self, RekorError> {
        let wire: DsseSpecWire = from_value("dsse spec", spec)?;
        let content = wire.proposed_content;
        bounded(
            "DSSE verifiers",
            content.verifiers.len(),
            MAX_DSSE_SIGNATURES,
        )?;
        let verifiers = content
            .verifiers
            .iter()
            .map(|v| verifier_from_b64("DSSE verifier", v))
            .collect::<Result<_, _>>()?;
        Self::new(content.envelope, verifiers)
    }

    /// The envelope's payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The envelope's payload type.
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The proposed-entry JSON of this entry (what a client posts).
    pub fn to_proposed_json(&self) -> Result<Vec<u8>, RekorError> {
        let verifiers = self
            .verifiers
            .iter()
            .map(|v| v.canonical_pem().map(b64::encode))
            .collect::<Result<Vec<_>, _>>()?;
        let value = json!({
            "apiVersion": API_VERSION,
            "kind": "dsse",
            "spec": {"proposedContent": {"envelope": self.envelope, "verifiers": verifiers}},
        });
        jcs::canonicalize(&value).map_err(RekorError::from)
    }

    /// What Rekor checks: every envelope signature verifies over the DSSE
    /// pre-authentication encoding with one of the verifiers (ECDSA and RSA PKCS#1 v1.5
    /// with SHA-256, Ed25519 as itself — sigstore's `LoadVerifier(key, SHA256)`).
    /// Returns the signatures with their verifiers, sorted by signature text and without
    /// repeats, as Rekor records them.
    pub fn verified_signatures(&self) -> Result<Vec<DsseSignature>, RekorError> {
        let pae = pae(&self.payload_type, &self.payload);
        let mut verified = BTreeMap::new();
        for (i, (text, sig)) in self.signatures.iter().enumerate() {
            let verifier = self
                .verifiers
                .iter()
                .find(|v| verify_by_key(v.spki_der(), HashAlgorithm::Sha256, &pae, sig).is_ok())
                .ok_or(RekorError::UnverifiedDsseSignature(i))?;
            verified
                .entry(text.clone())
                .or_insert_with(|| verifier.clone());
        }
        Ok(verified
            .into_iter()
            .map(|(signature, verifier)| DsseSignature {
                signature,
                verifier,
            })
            .collect())
    }

    /// Rekor's canonical body: the SHA-256 of the envelope as submitted and of the
    /// payload, and the verified signatures with their verifiers' canonical PEM.
    pub fn canonical_body(&self) -> Result<Vec<u8>, RekorError> {
        let signatures = self
            .verified_signatures()?
            .into_iter()
            .map(|s| {
                Ok(json!({
                    "signature": s.signature,
                    "verifier": b64::encode(s.verifier.canonical_pem()?),
                }))
            })
            .collect::<Result<Vec<_>, RekorError>>()?;
        let sha256 = |bytes: &[u8]| json!({"algorithm": "sha256", "value": hex::encode(Sha256::digest(bytes))});
        let value = json!({
            "apiVersion": API_VERSION,
            "kind": "dsse",
            "spec": {
                "envelopeHash": sha256(self.envelope.as_bytes()),
                "payloadHash": sha256(&self.payload),
                "signatures": signatures,
            },
        });
        jcs::canonicalize(&value).map_err(RekorError::from)
    }
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}
