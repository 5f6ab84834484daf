//! The developer-certificate registry's JSON bodies, as the registry answers them and
//! as `ccc` (and its load generator) reads them, and the thumbprint that names a
//! certificate in its URLs.
//!
//! | route | request | answer |
//! |---|---|---|
//! | `POST /api/v1/accounts` (OIDC token) | [`RegisterRequest`] | 201 [`ApiKeyResponse`] |
//! | `POST /api/v1/api-keys/rotate` | — | [`ApiKeyResponse`] |
//! | `POST /api/v1/challenges` | — | 201 [`ChallengeResponse`] |
//! | `POST /api/v1/certs` | [`PushRequest`] | 201 [`CertView`] with the log proof |
//! | `DELETE /api/v1/certs/{thumbprint}` | — | [`CertView`] with the log proof |
//! | `GET /api/v1/users/{username}/certs` | — | [`UserCertsResponse`] |
//! | `GET /api/v1/search?q=` | — | [`SearchResponse`] |
//! | `GET /api/v1/keys/{storage_key}` | — | [`CertView`] with the PEM |
//! | `GET /registry/log/proof?index=&size=` | — | [`InclusionProofResponse`] |
//! | `GET /registry/log/consistency?old=&size=` | — | [`ConsistencyProofResponse`] |
//!
//! Every answer's fields are declared in alphabetical order: the registry built its
//! answers as `serde_json` maps, which sort their keys, and these structs write the
//! same bytes. Hashes and the nonce are standard base64 ([`b64`]) and decode as the
//! JSON is parsed; unknown fields are ignored.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ct_api::b64;

/// The audience (`aud`) of the OIDC tokens a registry accepts for registration and
/// key rotation, unless its operator configured another: its own, so that a token
/// minted for a sigstore CA (audience `sigstore`) can never be replayed here.
pub const DEFAULT_REGISTRY_AUDIENCE: &str = "certcentral-registry";

/// `POST /api/v1/accounts` request: the username to claim for the token's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The account name.
    pub username: String,
}

/// `POST /api/v1/accounts` and `POST /api/v1/api-keys/rotate` answer: the account's new
/// API key, shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyResponse {
    /// The API key.
    pub api_key: String,
    /// The account.
    pub username: String,
}

/// `POST /api/v1/challenges` answer: a single-use nonce to sign for a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// Names the challenge in the push.
    pub challenge_id: String,
    /// When the challenge stops being accepted (RFC 3339).
    pub expires_at: String,
    /// The bytes the CMS SignedData must sign.
    #[serde(with = "b64")]
    pub nonce: [u8; 32],
}

/// `POST /api/v1/certs` request: the answered challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The challenge answered.
    pub challenge_id: String,
    /// A DER CMS SignedData over the nonce, base64 (see [`PushRequest::cms_der`]).
    pub cms: String,
}

/// Why a push request's `cms` is refused; the message is the registry's 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cms is not valid base64")]
pub struct CmsBase64Error;

impl PushRequest {
    /// A request carrying `cms` in standard base64.
    pub fn new(challenge_id: impl Into<String>, cms: &[u8]) -> Self {
        Self {
            challenge_id: challenge_id.into(),
            cms: STANDARD.encode(cms),
        }
    }

    /// The CMS DER. Any common base64 alphabet is accepted, padded or not, with
    /// surrounding whitespace: scripts produce all of them.
    pub fn cms_der(&self) -> Result<Vec<u8>, CmsBase64Error> {
        let value = self.cms.trim();
        [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(value).ok())
            .ok_or(CmsBase64Error)
    }
}

/// The public view of a stored certificate, as every read answer shows it.
///
/// A push or revocation answer adds the log leaf that request appended: `log_index`
/// is that leaf (the push leaf for a push, the revoke leaf for a revocation) and
/// `inclusion_proof` proves it against `checkpoint`. The storage-key answer adds the
/// `pem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertView {
    /// The signed checkpoint `inclusion_proof` leads to (push and revoke answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Where the PEM is downloaded, relative to the registry.
    pub download_url: String,
    /// The log leaf's inclusion proof (push and revoke answers).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_hashes"
    )]
    pub inclusion_proof: Option<Vec<[u8; 32]>>,
    /// The push leaf's index in the registry log (or the leaf this request appended).
    pub log_index: u64,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// The certificate as PEM (the storage-key answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// When it was pushed (RFC 3339).
    pub pushed_at: String,
    /// The revoke leaf's index, once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_log_index: Option<u64>,
    /// Whether the owner revoked it.
    pub revoked: bool,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// The name the certificate is stored under.
    pub storage_key: String,
    /// RFC 4514 subject.
    pub subject: String,
    /// SHA-1 of the DER ([`thumbprint`]).
    pub thumbprint: String,
    /// The owner.
    pub username: String,
}

/// `GET /api/v1/users/{username}/certs` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCertsResponse {
    /// The user's certificates, one page.
    pub certs: Vec<CertView>,
    /// The user.
    pub username: String,
}

/// `GET /api/v1/search` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The page, from 1.
    pub page: u64,
    /// Results per page.
    pub per_page: u32,
    /// The query.
    pub q: String,
    /// The matching certificates, one page.
    pub results: Vec<CertView>,
}

/// `GET /registry/log/proof` answer: RFC 9162 §2.1.3 inclusion proof of leaf `index`
/// in the tree of `size` leaves whose root is `root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProofResponse {
    /// The audit path, leaf to root.
    #[serde(with = "b64::list")]
    pub inclusion_proof: Vec<[u8; 32]>,
    /// The leaf.
    pub index: u64,
    /// The tree's root hash.
    #[serde(with = "b64")]
    pub root: [u8; 32],
    /// The tree size.
    pub size: u64,
}

/// `GET /registry/log/consistency` answer: RFC 9162 §2.1.4 consistency proof from the
/// tree of `old` leaves to the tree of `size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProofResponse {
    /// The older tree size.
    pub old: u64,
    /// The proof.
    #[serde(with = "b64::list")]
    pub proof: Vec<[u8; 32]>,
    /// The newer tree size.
    pub size: u64,
}

/// [`b64::list`] for an optional field.
mod optional_hashes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::b64;

    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct Hashes(#[serde(with = "b64::list")] Vec<[u8; 32]>);

    pub fn serialize<S: Serializer>(
        value: &Option<Vec<[u8; 32]>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(hashes) => b64::list::serialize(hashes, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<[u8; 32]>>, D::Error> {
        Ok(Option::<Hashes>::deserialize(d)?.map(|h| h.0))
    }
}

/// A certificate's thumbprint: SHA-1 of the DER as upper-case hex, as Windows shows
/// it. SHA-1 only names the certificate here; uniqueness is enforced on the SHA-256.
pub fn thumbprint(der: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// A thumbprint as a person typed it: the 40 hex digits upper-cased, with the colons
/// and spaces certificate viewers show dropped. `None` if it cannot be a SHA-1
/// thumbprint.
pub fn normalize_thumbprint(input: &str) -> Option<String> {
    // Bounds the work on hostile input; no spelling of 40 digits needs more.
    if input.len() > 128 {
        return None;
    }
    let cleaned: String = input
        .chars()
        .filter(|c| *c != ':' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (cleaned.len() == 40 && cleaned.bytes().all(|b| b.is_ascii_hexdigit())).then_some(cleaned)
}

#[cfg(test)]
mod tests;
