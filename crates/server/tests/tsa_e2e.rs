//! The time-stamp authority of `serve --dev`, judged by OpenSSL: requests made by
//! `openssl ts -query` and in sigstore's JSON form are answered with tokens that
//! `openssl ts -verify -CAfile root.pem -untrusted leaf.pem -data FILE` accepts, the
//! nonce echoed and certReq honoured; malformed requests get a rejection with the
//! right PKIFailureInfo bit, unusable HTTP input a 4xx `{code, message}`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use der::{Decode, Encode};
use pki::tsp::{PkiFailureInfo, PkiStatus, TimeStampResp};

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (see .ci/run)")
}

fn assert_ok(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn post(
    client: &reqwest::blocking::Client,
    server: &Server,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::blocking::Response {
    client
        .post(format!("{}/api/v1/timestamp", server.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap()
}

/// The DER reply of a request the TSA answered (HTTP 200, timestamp-reply).
fn reply(response: reqwest::blocking::Response) -> Vec<u8> {
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/timestamp-reply"
    );
    response.bytes().unwrap().to_vec()
}

fn status(der: &[u8]) -> (PkiStatus, Vec<PkiFailureInfo>) {
    let resp = TimeStampResp::from_der(der).unwrap();
    let bits = resp
        .status
        .fail_info
        .as_ref()
        .map(PkiFailureInfo::from_bit_string)
        .unwrap_or_default();
    (PkiStatus::from_value(resp.status.status).unwrap(), bits)
}

fn certificates_included(der: &[u8]) -> bool {
    let resp = TimeStampResp::from_der(der).unwrap();
    let signed: cms::signed_data::SignedData =
        resp.time_stamp_token.unwrap().content.decode_as().unwrap();
    signed.certificates.is_some()
}

#[test]
fn openssl_verifies_der_and_json_timestamps_and_bad_input_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::dev(&dir.join("data"), &[]);
    let client = client();

    // The chain: the TSA certificate first, the root last.
    let chain_response = client
        .get(format!("{}/api/v1/timestamp/certchain", server.base))
        .send()
        .unwrap();
    assert_eq!(chain_response.status().as_u16(), 200);
    let chain = pki::pem_certificates(&chain_response.text().unwrap()).unwrap();
    assert_eq!(chain.len(), 2);
    std::fs::write(dir.join("leaf.pem"), ca::http::pem(&chain[0])).unwrap();
    std::fs::write(dir.join("root.pem"), ca::http::pem(&chain[1])).unwrap();
    std::fs::write(dir.join("artifact.bin"), b"the bytes being time-stamped\n").unwrap();

    // DER requests from openssl, with and without certReq; -queryfile also checks
    // that the nonce and the imprint are echoed.
    for (digest, cert_req) in [("-sha256", true), ("-sha512", false)] {
        let mut query = vec![
            "ts",
            "-query",
            "-data",
            "artifact.bin",
            digest,
            "-out",
            "q.tsq",
        ];
        if cert_req {
            query.push("-cert");
        }
        assert_ok(&openssl(dir, &query), "openssl ts -query");
        let request = std::fs::read(dir.join("q.tsq")).unwrap();
        let der = reply(post(
            &client,
            &server,
            "application/timestamp-query",
            request,
        ));
        assert_eq!(status(&der), (PkiStatus::Granted, vec![]));
        assert_eq!(certificates_included(&der), cert_req, "certReq {cert_req}");
        std::fs::write(dir.join("resp.tsr"), &der).unwrap();
        let verify_data = [
            "ts",
            "-verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "leaf.pem",
            "-data",
            "artifact.bin",
            "-in",
            "resp.tsr",
        ];
        assert_ok(&openssl(dir, &verify_data), "openssl ts -verify -data");
        let verify_query = [
            "ts",
            "-verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "leaf.pem",
            "-queryfile",
            "q.tsq",
            "-in",
            "resp.tsr",
        ];
        assert_ok(
            &openssl(dir, &verify_query),
            "openssl ts -verify -queryfile",
        );
    }

    // The JSON form, as sigstore's clients send it.
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &std::fs::read(dir.join("artifact.bin")).unwrap(),
    );
    let json = serde_json::json!({
        "artifactHash": b64(digest.as_ref()),
        "hashAlgorithm": "sha256",
        "nonce": 4242,
        "certificates": true,
    });
    let der = reply(post(
        &client,
        &server,
        "application/json",
        serde_json::to_vec(&json).unwrap(),
    ));
    let info = TimeStampResp::from_der(&der).unwrap().tst_info().unwrap();
    assert_eq!(
        info.nonce.unwrap().to_der().unwrap(),
        4242u64.to_der().unwrap()
    );
    assert!(certificates_included(&der));
    std::fs::write(dir.join("resp.tsr"), &der).unwrap();
    let verify_data = [
        "ts",
        "-verify",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "leaf.pem",
        "-data",
        "artifact.bin",
        "-in",
        "resp.tsr",
    ];
    assert_ok(
        &openssl(dir, &verify_data),
        "openssl ts -verify (JSON request)",
    );

    // Requests the TSA refuses: a TimeStampResp with status rejection and one bit.
    let good = std::fs::read(dir.join("q.tsq")).unwrap();
    let mut trailing = good.clone();
    trailing.push(0);
    let unknown_alg = serde_json::json!({"artifactHash": b64(&[0; 16]), "hashAlgorithm": "md5"});
    let short = serde_json::json!({"artifactHash": b64(&[0; 16]), "hashAlgorithm": "sha256"});
    for (content_type, body, bit) in [
        (
            "application/timestamp-query",
            b"garbage".to_vec(),
            PkiFailureInfo::BadDataFormat,
        ),
        (
            "application/timestamp-query",
            trailing,
            PkiFailureInfo::BadDataFormat,
        ),
        (
            "application/timestamp-query",
            Vec::new(),
            PkiFailureInfo::BadDataFormat,
        ),
        (
            "application/json",
            serde_json::to_vec(&unknown_alg).unwrap(),
            PkiFailureInfo::BadAlg,
        ),
        (
            "application/json",
            serde_json::to_vec(&short).unwrap(),
            PkiFailureInfo::BadDataFormat,
        ),
    ] {
        let der = reply(post(&client, &server, content_type, body));
        assert_eq!(status(&der), (PkiStatus::Rejection, vec![bit]));
    }

    // Input that is no request at all: 4xx with {code, message}.
    for (content_type, body, code) in [
        (
            "application/timestamp-query",
            vec![0x30; 64 * 1024 + 1],
            413,
        ),
        ("text/plain", good.clone(), 415),
        ("application/json", b"{\"artifactHash\":".to_vec(), 400),
    ] {
        let response = post(&client, &server, content_type, body);
        assert_eq!(response.status().as_u16(), code, "{content_type}");
        let body: serde_json::Value = response.json().unwrap();
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{body}"
        );
    }

    // Still serving.
    let der = reply(post(&client, &server, "application/timestamp-query", good));
    assert_eq!(status(&der).0, PkiStatus::Granted);
}
