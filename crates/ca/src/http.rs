//! Fulcio API v2 over HTTP (the grpc-gateway JSON mapping sigstore clients speak):
//! `POST /api/v2/signingCert`, `GET /api/v2/trustBundle`, `GET /api/v2/configuration`.
//!
//! Field names follow the protobuf JSON mapping: lowerCamelCase, with the original
//! snake_case names accepted too (as protobuf JSON parsers do); `bytes` fields are
//! base64, standard or URL-safe, padded or not.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use webapi::{ApiError, body_error, json_response};

use crate::issue::{CertificateAuthority, IssueError, Proof};
use oidc::IdentityKind;

/// Largest request body: an RSA-8192 CSR in base64 PEM plus a large token fit easily.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// Public key algorithms of Fulcio's `PublicKeyAlgorithm` enum. The key itself decides
/// how it is checked; a named algorithm that contradicts it is refused.
const ALGORITHMS: &[&str] = &[
    "PUBLIC_KEY_ALGORITHM_UNSPECIFIED",
    "RSA_PSS",
    "ECDSA",
    "ED25519",
];

#[derive(Debug, Default, Deserialize)]
struct SigningCertRequest {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default, alias = "public_key_request")]
    #[serde(rename = "publicKeyRequest")]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(default, alias = "certificate_signing_request")]
    #[serde(rename = "certificateSigningRequest")]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Credentials {
    #[serde(default, alias = "oidc_identity_token")]
    #[serde(rename = "oidcIdentityToken")]
    oidc_identity_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PublicKeyRequest {
    #[serde(default, alias = "public_key")]
    #[serde(rename = "publicKey")]
    public_key: Option<PublicKeyField>,
    #[serde(default, alias = "proof_of_possession")]
    #[serde(rename = "proofOfPossession")]
    proof_of_possession: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PublicKeyField {
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Serialize)]
struct CertificateChain {
    certificates: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddedSct {
    chain: CertificateChain,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertificate {
    signed_certificate_embedded_sct: EmbeddedSct,
}

/// The routes, to be merged at the server root.
pub fn router(ca: Arc<CertificateAuthority>) -> Router {
    Router::new()
        .route(
            "/api/v2/signingCert",
            post(signing_cert).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .with_state(ca)
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %e, "issuance failed");
        }
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// Decodes a protobuf-JSON `bytes` field: any base64 alphabet, padded or not.
fn decode_bytes(field: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    let value = value.trim();
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(value).ok())
        .ok_or_else(|| ApiError::bad_request(format!("{field} is not valid base64")))
}

/// The bearer token of an `Authorization` header, if there is one.
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(ApiError::unauthorized(
            "invalid_token",
            "Authorization header must be `Bearer <OIDC identity token>`",
        )),
    }
}

/// Turns the request into token and proof, naming the first thing that is missing.
fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<(String, Proof), ApiError> {
    let request: SigningCertRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
    let body_token = request
        .credentials
        .and_then(|c| c.oidc_identity_token)
        .filter(|t| !t.is_empty());
    let token = match body_token {
        Some(token) => token,
        None => bearer_token(headers)?.ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "no OIDC identity token: send credentials.oidcIdentityToken or an `Authorization: Bearer` header",
            )
        })?,
    };
    let proof = match (
        request.public_key_request,
        request.certificate_signing_request,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "send either publicKeyRequest or certificateSigningRequest, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing publicKeyRequest or certificateSigningRequest",
            ));
        }
        (None, Some(csr)) => Proof::Csr(decode_bytes("certificateSigningRequest", &csr)?),
        (Some(pk), None) => {
            let key = pk
                .public_key
                .ok_or_else(|| ApiError::bad_request("missing publicKeyRequest.publicKey"))?;
            if let Some(alg) = key.algorithm.as_deref()
                && !ALGORITHMS.contains(&alg)
            {
                return Err(ApiError::bad_request(format!(
                    "unknown publicKey.algorithm {alg:?}; accepted: {}",
                    ALGORITHMS.join(", ")
                )));
            }
            let content = key.content.filter(|c| !c.is_empty()).ok_or_else(|| {
                ApiError::bad_request("missing publicKeyRequest.publicKey.content")
            })?;
            let proof = pk
                .proof_of_possession
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request("missing publicKeyRequest.proofOfPossession")
                })?;
            Proof::SignedChallenge {
                public_key: content.into_bytes(),
                signature: decode_bytes("proofOfPossession", &proof)?,
            }
        }
    };
    Ok((token, proof))
}

/// One certificate as a PEM `CERTIFICATE` block, 64 columns.
pub fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

async fn signing_cert(
    State(ca): State<Arc<CertificateAuthority>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let (token, proof) = parse_request(&headers, &body)?;
    let issued = ca.issue(token, proof).await?;
    tracing::debug!(identity = %issued.identity.identity, issuer = %issued.identity.issuer, "issued");
    let answer = SigningCertificate {
        signed_certificate_embedded_sct: EmbeddedSct {
            chain: CertificateChain {
                certificates: issued.chain.iter().map(|c| pem(c)).collect(),
            },
        },
    };
    // Fulcio answers 201 Created.
    Ok(json_response(StatusCode::CREATED, &answer))
}

async fn trust_bundle(State(ca): State<Arc<CertificateAuthority>>) -> Response {
    let certificates = ca.ca_chain().iter().map(|c| pem(c)).collect();
    json_response(
        StatusCode::OK,
        &serde_json::json!({ "chains": [CertificateChain { certificates }] }),
    )
}

async fn configuration(State(ca): State<Arc<CertificateAuthority>>) -> Response {
    let issuers: Vec<_> = ca
        .verifier()
        .issuers()
        .iter()
        .map(|i| {
            let url_field = if i.issuer_url.contains('*') {
                "wildcardIssuerUrl"
            } else {
                "issuerUrl"
            };
            let challenge = if i.kind == IdentityKind::Email {
                "email"
            } else {
                "sub"
            };
            let mut entry = serde_json::json!({
                url_field: i.issuer_url,
                "audience": i.client_id,
                "challengeClaim": challenge,
            });
            if i.kind == IdentityKind::Spiffe {
                let host = i
                    .issuer_url
                    .split_once("://")
                    .map_or(i.issuer_url.as_str(), |(_, r)| r);
                entry["spiffeTrustDomain"] = host.split('/').next().unwrap_or(host).into();
            }
            entry
        })
        .collect();
    json_response(StatusCode::OK, &serde_json::json!({ "issuers": issuers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[test]
    fn public_key_request_in_both_spellings() {
        for body in [
            r#"{"credentials":{"oidcIdentityToken":"t"},"publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"PEM"},"proofOfPossession":"AQI="}}"#,
            r#"{"credentials":{"oidc_identity_token":"t"},"public_key_request":{"public_key":{"content":"PEM"},"proof_of_possession":"AQI"}}"#,
        ] {
            let (token, proof) = parse_request(&headers(None), body.as_bytes()).unwrap();
            assert_eq!(token, "t");
            let Proof::SignedChallenge {
                public_key,
                signature,
            } = proof
            else {
                panic!("not a challenge");
            };
            assert_eq!(public_key, b"PEM");
            assert_eq!(signature, [1, 2]);
        }
    }

    #[test]
    fn bearer_header_with_csr_only_body() {
        let body = format!(
            r#"{{"certificateSigningRequest":"{}"}}"#,
            STANDARD.encode("CSR")
        );
        let (token, proof) =
            parse_request(&headers(Some("Bearer abc.def.ghi")), body.as_bytes()).unwrap();
        assert_eq!(token, "abc.def.ghi");
        assert!(matches!(proof, Proof::Csr(c) if c == b"CSR"));
    }

    #[test]
    fn incomplete_requests_name_what_is_missing() {
        let cases: &[(&str, Option<&str>, u16, &str)] = &[
            ("{", None, 400, "malformed JSON"),
            ("null", None, 400, "malformed JSON"),
            (
                r#"{"certificateSigningRequest":"Q1NS"}"#,
                None,
                401,
                "no OIDC identity token",
            ),
            (
                r#"{"certificateSigningRequest":"Q1NS"}"#,
                Some("Basic x"),
                401,
                "Bearer",
            ),
            (
                r#"{"credentials":{"oidcIdentityToken":"t"}}"#,
                None,
                400,
                "missing publicKeyRequest",
            ),
            (
                r#"{"credentials":{"oidcIdentityToken":"t"},"publicKeyRequest":{}}"#,
                None,
                400,
                "publicKey",
            ),
            (
                r#"{"credentials":{"oidcIdentityToken":"t"},"publicKeyRequest":{"publicKey":{"content":"P"}}}"#,
                None,
                400,
                "proofOfPossession",
            ),
            (
                r#"{"credentials":{"oidcIdentityToken":"t"},"publicKeyRequest":{"publicKey":{"algorithm":"DSA","content":"P"},"proofOfPossession":"AA=="}}"#,
                None,
                400,
                "ECDSA",
            ),
            (
                r#"{"credentials":{"oidcIdentityToken":"t"},"publicKeyRequest":{"publicKey":{"content":"P"},"proofOfPossession":"%%%"}}"#,
                None,
                400,
                "base64",
            ),
            (
                r#"{"credentials":{"oidcIdentityToken":"t"},"certificateSigningRequest":"Q1NS","publicKeyRequest":{}}"#,
                None,
                400,
                "not both",
            ),
        ];
        for (body, auth, status, needle) in cases {
            let err = parse_request(&headers(*auth), body.as_bytes()).unwrap_err();
            assert_eq!(err.status.as_u16(), *status, "{body}");
            assert!(err.message.contains(needle), "{body}: {}", err.message);
        }
    }

    #[test]
    fn pem_wraps_at_64_columns() {
        let text = pem(&[0u8; 100]);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(
            text.lines()
                .all(|l| l.len() <= 64 || l.starts_with("-----"))
        );
    }
}
