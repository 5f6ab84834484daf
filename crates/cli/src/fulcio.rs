//! Fulcio v2 `signingCert` over its JSON mapping (the protobuf `CreateSigningCertificate
//! Request`/`SigningCertificate` messages, camelCase field names), as sigstore clients
//! send it and certcentral's CA answers it.
//!
//! ```text
//! message CreateSigningCertificateRequest {
//!   Credentials credentials = 1;
//!   oneof key {
//!     PublicKeyRequest public_key_request = 2;
//!     bytes certificate_signing_request = 3;   // PEM CSR; bytes → base64 in JSON
//!   }
//! }
//! message PublicKeyRequest { PublicKey public_key = 1; bytes proof_of_possession = 2; }
//! message PublicKey { PublicKeyAlgorithm algorithm = 1; string content = 2; }
//! message SigningCertificate {
//!   oneof certificate {
//!     SigningCertificateDetachedSCT signed_certificate_detached_sct = 1;
//!     SigningCertificateEmbeddedSCT signed_certificate_embedded_sct = 2;
//!   }
//! }
//! ```
//! (sigstore/protobuf-specs, `fulcio.proto`).

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::request_key::RequestKey;

/// `CreateSigningCertificateRequest`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertRequest {
    /// Absent when the token travels in `Authorization: Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<Credentials>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_request: Option<PublicKeyRequest>,
    /// base64 of the PEM CSR (protobuf `bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    oidc_identity_token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKey,
    /// base64 of the signature over the token's `sub`.
    proof_of_possession: String,
}

#[derive(Debug, Serialize)]
struct PublicKey {
    algorithm: &'static str,
    content: String,
}

/// How a request proves possession of the key, and where its token goes.
#[derive(Debug)]
pub struct PreparedRequest {
    /// The JSON body.
    pub body: bytes::Bytes,
    /// `Authorization` header value, when the token is not in the body.
    pub bearer: Option<HeaderValue>,
}

impl SigningCertRequest {
    /// Public key plus a signature over `sub`, the token in `credentials`.
    pub fn with_proof(token: &str, key: &RequestKey, sub: &str) -> anyhow::Result<Self> {
        Ok(Self {
            credentials: Some(Credentials {
                oidc_identity_token: token.to_owned(),
            }),
            public_key_request: Some(PublicKeyRequest {
                public_key: PublicKey {
                    algorithm: key.fulcio_algorithm(),
                    content: key.public_key_pem(),
                },
                proof_of_possession: B64.encode(key.proof_of_possession(sub)?),
            }),
            certificate_signing_request: None,
        })
    }

    /// A CSR alone: the token goes in `Authorization: Bearer`, the way sigstore clients
    /// call Fulcio with a CSR.
    pub fn with_csr(csr_pem: &str) -> Self {
        Self {
            credentials: None,
            public_key_request: None,
            certificate_signing_request: Some(B64.encode(csr_pem)),
        }
    }

    /// Serializes the body; `bearer` is the token when it goes in the header.
    pub fn prepare(&self, bearer: Option<&str>) -> anyhow::Result<PreparedRequest> {
        Ok(PreparedRequest {
            body: serde_json::to_vec(self)
                .context("encoding the request")?
                .into(),
            bearer: bearer.map(bearer_header).transpose()?,
        })
    }
}

/// `Bearer <token>`, marked sensitive so it never appears in debug output.
pub fn bearer_header(token: &str) -> anyhow::Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the token contains characters not allowed in an HTTP header")?;
    value.set_sensitive(true);
    Ok(value)
}

/// `SigningCertificate`: the chain, leaf first, PEM per element.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertResponse {
    signed_certificate_embedded_sct: Option<SignedCertificate>,
    signed_certificate_detached_sct: Option<SignedCertificate>,
}

#[derive(Debug, Deserialize)]
struct SignedCertificate {
    chain: CertificateChain,
}

#[derive(Debug, Deserialize)]
struct CertificateChain {
    certificates: Vec<String>,
}

impl SigningCertResponse {
    /// The chain (leaf first), whichever of the `oneof` the CA used.
    pub fn into_chain(self) -> anyhow::Result<Vec<String>> {
        let signed = self
            .signed_certificate_embedded_sct
            .or(self.signed_certificate_detached_sct)
            .context("the answer holds neither signedCertificateEmbeddedSct nor signedCertificateDetachedSct")?;
        if signed.chain.certificates.is_empty() {
            bail!("the CA answered with an empty certificate chain");
        }
        Ok(signed.chain.certificates)
    }
}

/// The CA's error body `{"code": "...", "message": "..."}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

/// What to show a person for an error answer: the server's `message`, or the start of
/// the body when it is not the JSON error shape (a proxy's HTML page, say).
pub fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(message),
        }) => message,
        _ => crate::error_text::body_excerpt(body),
    }
}

/// The `signingCert` URL under the server root `base`.
pub fn signing_cert_url(base: &str) -> String {
    format!("{base}/api/v2/signingCert")
}

/// Sends one prepared request; the chain (leaf first) or the server's message.
pub async fn request_certificate(
    client: &reqwest::Client,
    base: &str,
    request: &PreparedRequest,
) -> anyhow::Result<Vec<String>> {
    let url = signing_cert_url(base);
    let mut builder = client
        .post(&url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(request.body.clone());
    if let Some(bearer) = &request.bearer {
        builder = builder.header(AUTHORIZATION, bearer.clone());
    }
    let resp = builder
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST {url}: {}", crate::error_text::error_chain(&e)))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .with_context(|| format!("POST {url}: reading the answer"))?;
    if !status.is_success() {
        bail!(
            "the CA refused the request (HTTP {}): {}",
            status.as_u16(),
            error_message(&body)
        );
    }
    serde_json::from_slice::<SigningCertResponse>(&body)
        .with_context(|| format!("POST {url}: decoding the answer"))?
        .into_chain()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_request_is_the_fulcio_json_mapping() {
        let key = RequestKey::new(crate::keygen::generate(crate::keygen::Algorithm::P256).unwrap())
            .unwrap();
        let req = SigningCertRequest::with_proof("t.o.k", &key, "alice@example.com")
            .unwrap()
            .prepare(None)
            .unwrap();
        assert!(req.bearer.is_none());
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(v["credentials"]["oidcIdentityToken"], "t.o.k");
        let pk = &v["publicKeyRequest"];
        assert_eq!(pk["publicKey"]["algorithm"], "ECDSA");
        assert_eq!(pk["publicKey"]["content"], key.public_key_pem());
        let proof = B64
            .decode(pk["proofOfPossession"].as_str().unwrap())
            .unwrap();
        assert_eq!(proof[0], 0x30);
        assert!(v.get("certificateSigningRequest").is_none());
    }

    #[test]
    fn csr_request_puts_the_token_in_the_header() {
        let req = SigningCertRequest::with_csr("-----BEGIN CERTIFICATE REQUEST-----\n")
            .prepare(Some("t.o.k"))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "certificateSigningRequest": B64.encode("-----BEGIN CERTIFICATE REQUEST-----\n")
            })
        );
        let bearer = req.bearer.unwrap();
        assert_eq!(bearer.to_str().unwrap(), "Bearer t.o.k");
        assert!(bearer.is_sensitive());
        assert!(bearer_header("line\nbreak").is_err());
    }

    #[test]
    fn response_chain_from_either_oneof() {
        let embedded =
            r#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":["L","I","R"]}}}"#;
        let chain = serde_json::from_str::<SigningCertResponse>(embedded)
            .unwrap()
            .into_chain()
            .unwrap();
        assert_eq!(chain, ["L", "I", "R"]);
        let detached = r#"{"signedCertificateDetachedSct":{"chain":{"certificates":["L"]},"signedCertificateTimestamp":"eA=="}}"#;
        let chain = serde_json::from_str::<SigningCertResponse>(detached)
            .unwrap()
            .into_chain()
            .unwrap();
        assert_eq!(chain, ["L"]);
        for bad in [
            "{}",
            r#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":[]}}}"#,
        ] {
            assert!(
                serde_json::from_str::<SigningCertResponse>(bad)
                    .unwrap()
                    .into_chain()
                    .is_err()
            );
        }
    }

    #[test]
    fn error_message_prefers_the_servers_message() {
        assert_eq!(
            error_message(br#"{"code":"UNAUTHENTICATED","message":"token expired"}"#),
            "token expired"
        );
        assert_eq!(
            error_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message(br#"{"code":"X"}"#), r#"{"code":"X"}"#);
    }
}
