use super::*;
use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use der::{Decode, Encode};
use http_body_util::BodyExt;
use pki::tsp::{PkiFailureInfo, PkiStatus};
use tower::ServiceExt;

use crate::{EphemeralTsa, TsaSettings};

fn app() -> Router {
    let dev = EphemeralTsa::generate(std::time::SystemTime::now()).unwrap();
    let tsa = TimeStampAuthority::new(
        dev.signer,
        dev.chain,
        TsaSettings::default(),
        Arc::new(clock::SystemClock),
        Arc::new(ca::cert::RandomSerials),
    )
    .unwrap();
    router(Arc::new(tsa))
}

async fn post(content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, String, Vec<u8>) {
    let mut request = Request::post("/api/v1/timestamp");
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let response = app()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, ct, body.to_vec())
}

fn json(hash_algorithm: &str, digest_len: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode(vec![1u8; digest_len]),
        "hashAlgorithm": hash_algorithm,
        "nonce": 1234567,
        "certificates": true,
    }))
    .unwrap()
}

fn status_of(body: &[u8]) -> (PkiStatus, Vec<PkiFailureInfo>) {
    let resp = TimeStampResp::from_der(body).unwrap();
    let bits = resp
        .status
        .fail_info
        .as_ref()
        .map(PkiFailureInfo::from_bit_string)
        .unwrap_or_default();
    (PkiStatus::from_value(resp.status.status).unwrap(), bits)
}

#[tokio::test]
async fn der_request_is_granted_as_timestamp_reply() {
    let req = pki::tsp::JsonTimeStampRequest {
        artifact_hash: base64::engine::general_purpose::STANDARD.encode([9u8; 32]),
        hash_algorithm: "sha256".into(),
        nonce: Some(77),
        certificates: false,
        tsa_policy_oid: None,
    }
    .to_request()
    .unwrap();
    let (status, ct, body) = post(Some(QUERY_MEDIA_TYPE), req.to_der().unwrap()).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, REPLY_MEDIA_TYPE));
    assert_eq!(status_of(&body), (PkiStatus::Granted, vec![]));
    let info = TimeStampResp::from_der(&body).unwrap().tst_info().unwrap();
    assert_eq!(info.nonce, req.nonce);
}

#[tokio::test]
async fn json_request_is_granted_and_echoes_the_nonce() {
    let (status, ct, body) = post(Some("application/json"), json("sha384", 48)).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, REPLY_MEDIA_TYPE));
    let info = TimeStampResp::from_der(&body).unwrap().tst_info().unwrap();
    let expected = der::asn1::Int::from_der(&1234567u64.to_der().unwrap()).unwrap();
    assert_eq!(info.nonce, Some(expected));
}

#[tokio::test]
async fn json_with_unknown_algorithm_or_wrong_length_is_rejected_in_der() {
    let (_, _, body) = post(Some("application/json"), json("md5", 16)).await;
    assert_eq!(
        status_of(&body),
        (PkiStatus::Rejection, vec![PkiFailureInfo::BadAlg])
    );
    let (_, _, body) = post(Some("application/json"), json("sha512", 32)).await;
    assert_eq!(
        status_of(&body),
        (PkiStatus::Rejection, vec![PkiFailureInfo::BadDataFormat])
    );
}

#[tokio::test]
async fn unusable_http_input_is_a_4xx_with_code_and_message() {
    for (ct, body, status) in [
        (None, b"x".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            Some("text/plain"),
            b"x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Some("application/json"),
            b"{".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(QUERY_MEDIA_TYPE),
            vec![0x30; MAX_BODY_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let (got, content_type, body) = post(ct, body).await;
        assert_eq!(got, status, "{ct:?}");
        assert_eq!(content_type, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v["code"].is_string() && v["message"].is_string(), "{v}");
    }
}

#[tokio::test]
async fn garbage_der_is_a_rejection_not_an_error() {
    let (status, _, body) = post(Some(QUERY_MEDIA_TYPE), b"\x30\x03\x02\x01".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        status_of(&body),
        (PkiStatus::Rejection, vec![PkiFailureInfo::BadDataFormat])
    );
}

#[tokio::test]
async fn certchain_is_pem_leaf_first() {
    let response = app()
        .oneshot(
            Request::get("/api/v1/timestamp/certchain")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let chain = pki::pem_certificates(std::str::from_utf8(&body).unwrap()).unwrap();
    assert_eq!(chain.len(), 2);
    let leaf = x509_cert::Certificate::from_der(&chain[0]).unwrap();
    assert!(
        leaf.tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
            .unwrap()
            .is_some()
    );
}
