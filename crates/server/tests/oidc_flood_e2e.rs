//! Forged tokens against the real server: the OIDC key fetch they trigger must not
//! stall anyone else, must not lock out a real issuer, and must not be steered by a
//! hostile identity provider (redirects, keys on another host, private addresses).
//!
//! The identity providers here are loopback listeners: a "black hole" that accepts
//! connections and never answers (what a made-up meta-issuer name whose host swallows
//! packets looks like), a provider that redirects or points its keys elsewhere, and a
//! witness that counts every connection the server should never have made.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use common::{Server, answer, dev_token};
use serde_json::{Value, json};

/// Accepts connections and never answers; keeps them open until the test ends.
fn black_hole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

/// Counts the connections made to it (and answers none).
fn witness() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (port, seen)
}

/// A hostile identity provider: `/redirect/…` answers 302 to the witness, and
/// `/elsewhere/…` names a `jwks_uri` on another host (the witness, by name).
fn hostile_provider(witness: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            let response = if path.starts_with("/redirect/") {
                format!(
                    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{witness}/keys\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            } else {
                let body = json!({
                    "issuer": format!("http://127.0.0.1:{port}/elsewhere"),
                    "jwks_uri": format!("http://localhost:{witness}/keys"),
                })
                .to_string();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = conn.write_all(response.as_bytes());
        }
    });
    port
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token that names `iss` and is signed by nobody (random signature bytes): what
/// anyone can send without any key.
fn forged_token(iss: &str, kid: &str) -> String {
    let header = json!({ "alg": "RS256", "kid": kid, "typ": "JWT" });
    let now = now();
    let claims = json!({
        "iss": iss, "sub": "mallory", "aud": "sigstore", "email": "mallory@example.com",
        "email_verified": true, "iat": now, "exp": now + 300,
    });
    let mut signature = [0u8; 256];
    aws_lc_rs::rand::fill(&mut signature).unwrap();
    format!(
        "{}.{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string()),
        B64URL.encode(signature)
    )
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap()
}

/// A signingCert request with `token` and a fresh key's proof of possession over `sub`.
fn signing_cert(
    http: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    sub: &str,
) -> (u16, Value) {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let spki = key.public_key().as_der().unwrap();
    let b64 = B64.encode(spki.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    let proof = key.sign(&SystemRandom::new(), sub.as_bytes()).unwrap();
    let body = json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": pem },
            "proofOfPossession": B64.encode(proof.as_ref()),
        }
    });
    answer(
        http.post(format!("{base}/api/v2/signingCert"))
            .json(&body)
            .send()
            .unwrap(),
    )
}

/// The refusal a forged token gets when its issuer's keys cannot be had: 503, and a
/// message that says so and nothing about what the server saw on the network.
fn assert_generic_unavailable(status: u16, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "oidc_unavailable", "{body}");
    let message = body["message"].as_str().unwrap();
    let generic = message.ends_with("could not be fetched; retry later")
        || message.contains("are unavailable; retry in")
        || message.ends_with("the server is busy fetching identity providers' keys; retry shortly");
    assert!(generic, "not a generic message: {message}");
    for detail in [
        ".well-known",
        "timed out",
        "error sending",
        "GET ",
        "HTTP ",
        "jwks_uri",
    ] {
        assert!(!message.contains(detail), "{detail:?} leaked: {message}");
    }
}

/// `serve --dev` with `issuers` added. The CA's log batches every 100 ms (the dev
/// default is a second), so that an issuance's own latency is well under the bound.
fn start(dir: &std::path::Path, issuers: &str) -> Server {
    let data = dir.join("data");
    let config = dir.join("certcentral.toml");
    let fast_log =
        "[[logs]]\nname = \"dev-a\"\nkey_file = \"ephemeral\"\nsequence_interval = \"100ms\"\n";
    std::fs::write(&config, format!("{fast_log}{issuers}")).unwrap();
    Server::dev(&data, &["--config", config.to_str().unwrap()])
}

/// 32 forged tokens naming made-up issuers under a meta-issuer whose hosts never
/// answer, and 16 naming the real issuer with made-up key ids: meanwhile a registry
/// request and a real issuance finish within a second, and the real issuer's tokens
/// are accepted right after. (The old code ran these fetches on the blocking pool and
/// waited there, so everything else queued behind them for tens of seconds.)
#[test]
fn forged_tokens_do_not_stall_the_server_or_lock_out_the_real_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let hole = black_hole();
    let server = start(
        dir.path(),
        &format!(
            "[[ca.oidc_issuers]]\nissuer_url = \"http://127.0.0.1:{hole}/*\"\nclient_id = \"sigstore\"\ntype = \"uri\"\nprivate_network = true\n"
        ),
    );
    let base = server.base.clone();
    let dev_issuer = format!("{base}/dev/oidc");

    let mut forged = Vec::new();
    for i in 0..48 {
        let token = if i < 32 {
            forged_token(&format!("http://127.0.0.1:{hole}/tenant{i}"), "k")
        } else {
            forged_token(&dev_issuer, &format!("made-up-{i}"))
        };
        let base = base.clone();
        forged.push(std::thread::spawn(move || {
            signing_cert(&http(), &base, &token, "mallory")
        }));
    }
    std::thread::sleep(Duration::from_millis(500));

    let http = http();
    let started = Instant::now();
    let (status, body) = answer(
        http.get(format!("{base}/api/v1/users/alice/certs"))
            .send()
            .unwrap(),
    );
    let registry_took = started.elapsed();
    assert_eq!(status, 200, "{body}");

    let started = Instant::now();
    let token = dev_token(&http, &server, "alice@example.com");
    let (status, body) = signing_cert(&http, &base, &token, "alice@example.com");
    let issuance_took = started.elapsed();
    assert_eq!(status, 201, "{body}");
    eprintln!("under attack: registry request {registry_took:?}, issuance {issuance_took:?}");
    assert!(
        registry_took < Duration::from_secs(1),
        "registry request took {registry_took:?}"
    );
    assert!(
        issuance_took < Duration::from_secs(1),
        "issuance took {issuance_took:?}"
    );

    for (i, handle) in forged.into_iter().enumerate() {
        let (status, body) = handle.join().unwrap();
        if i < 32 {
            assert_generic_unavailable(status, &body);
        } else {
            // The real issuer's keys are known: a made-up kid is just a bad token.
            assert_eq!(status, 401, "{body}");
            assert_eq!(body["code"], "invalid_token", "{body}");
        }
    }

    // Right after: the real issuer works.
    let token = dev_token(&http, &server, "bob@example.com");
    let (status, body) = signing_cert(&http, &base, &token, "bob@example.com");
    assert_eq!(status, 201, "{body}");

    // The detail the callers were not told is in the server's log.
    let log = std::fs::read_to_string(server.data_dir.join("server.log")).unwrap();
    assert!(
        log.contains(&format!("http://127.0.0.1:{hole}/tenant"))
            && log.contains("/.well-known/openid-configuration"),
        "{log}"
    );
}

/// A provider cannot steer the server: a redirect is not followed, a `jwks_uri` on
/// another host is not fetched, and a provider on a private address is not contacted
/// unless its issuer is configured with `private_network`.
#[test]
fn hostile_providers_cannot_steer_the_key_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let (witness_port, witness_seen) = witness();
    let provider = hostile_provider(witness_port);
    let issuer = |path: &str, private: bool| {
        format!(
            "[[ca.oidc_issuers]]\nissuer_url = \"http://127.0.0.1:{provider}/{path}\"\nclient_id = \"sigstore\"\ntype = \"uri\"\nprivate_network = {private}\n"
        )
    };
    let public_only = format!(
        "[[ca.oidc_issuers]]\nissuer_url = \"http://127.0.0.1:{witness_port}/public-only\"\nclient_id = \"sigstore\"\ntype = \"uri\"\n"
    );
    let server = start(
        dir.path(),
        &format!(
            "{}{}{public_only}",
            issuer("redirect", true),
            issuer("elsewhere", true)
        ),
    );
    let http = http();
    for iss in [
        format!("http://127.0.0.1:{provider}/redirect"),
        format!("http://127.0.0.1:{provider}/elsewhere"),
        format!("http://127.0.0.1:{witness_port}/public-only"),
    ] {
        let (status, body) = signing_cert(&http, &server.base, &forged_token(&iss, "k"), "m");
        assert_generic_unavailable(status, &body);
    }
    assert_eq!(
        witness_seen.load(Ordering::SeqCst),
        0,
        "the server connected where it was steered"
    );
    let log = std::fs::read_to_string(server.data_dir.join("server.log")).unwrap();
    assert!(log.contains("HTTP 302"), "{log}");
    assert!(log.contains("not on the issuer's host"), "{log}");
    assert!(log.contains("not a public address"), "{log}");
}

/// The witness does count connections (else the test above would prove nothing).
#[test]
fn the_witness_counts_connections() {
    let (port, seen) = witness();
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}
