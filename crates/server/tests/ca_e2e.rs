//! The code-signing CA end to end: the real `certcentral` binary on a loopback port,
//! a separate OIDC provider fixture (discovery + JWKS on its own port, its own RSA and
//! EC keys), keys/CSRs/proofs made by the OpenSSL CLI and Python `cryptography`, the
//! chain checked by `openssl verify`, the embedded SCTs by an independent Python
//! verifier against the logs' keys.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use common::{Server, client, get_json};
use serde_json::{Value, json};

/// An OIDC provider that is not certcentral's built-in one: discovery and a JWKS with
/// an RSA and an EC key, served by its own HTTP server on a loopback port.
struct Provider {
    issuer: String,
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    _runtime: tokio::runtime::Runtime,
}

impl Provider {
    fn start() -> Provider {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let n = rsa
            .public_key()
            .modulus()
            .big_endian_without_leading_zero()
            .to_vec();
        let e = rsa
            .public_key()
            .exponent()
            .big_endian_without_leading_zero()
            .to_vec();
        let point = ec.public_key().as_ref().to_vec(); // 0x04 ‖ X ‖ Y
        let jwks = json!({ "keys": [
            { "kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
              "n": B64URL.encode(&n), "e": B64URL.encode(&e) },
            { "kty": "EC", "kid": "ec-1", "alg": "ES256", "crv": "P-256", "use": "sig",
              "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..]) },
        ]});
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/keys") });
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/keys",
                axum::routing::get(move || async move { axum::Json(jwks) }),
            );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Provider {
            issuer,
            rsa,
            ec,
            _runtime: runtime,
        }
    }

    fn claims(&self, email: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer, "sub": email, "aud": "sigstore", "email": email,
            "email_verified": true, "iat": now, "exp": now + 300,
        })
    }

    /// A compact JWS with `header` over `claims`, signed as `header.alg` says.
    fn sign(&self, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let signature = match header["alg"].as_str().unwrap() {
            "RS256" => {
                let mut sig = vec![0; self.rsa.public_modulus_len()];
                self.rsa
                    .sign(
                        &RSA_PKCS1_SHA256,
                        &SystemRandom::new(),
                        input.as_bytes(),
                        &mut sig,
                    )
                    .unwrap();
                sig
            }
            "ES256" => self
                .ec
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            "none" => Vec::new(),
            "HS256" => {
                // The classic confusion attack: HMAC keyed with the public key bytes.
                let spki = rsa_public_pem(&self.rsa);
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, spki.as_bytes());
                aws_lc_rs::hmac::sign(&key, input.as_bytes())
                    .as_ref()
                    .to_vec()
            }
            other => panic!("fixture cannot sign {other}"),
        };
        format!("{input}.{}", B64URL.encode(signature))
    }

    fn rs256(&self, claims: &Value) -> String {
        self.sign(
            json!({ "alg": "RS256", "kid": "rsa-1", "typ": "JWT" }),
            claims,
        )
    }

    fn es256(&self, claims: &Value) -> String {
        self.sign(
            json!({ "alg": "ES256", "kid": "ec-1", "typ": "JWT" }),
            claims,
        )
    }
}

fn rsa_public_pem(key: &RsaKeyPair) -> String {
    use aws_lc_rs::encoding::AsDer;
    let der = key.public_key().as_der().unwrap();
    let body = B64.encode(der.as_ref());
    format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl CLI must be installed (see .ci/run)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A new P-256 key (`k.key`) and a CSR for it (PEM), both by the OpenSSL CLI.
fn openssl_key_and_csr(d: &Path) -> Vec<u8> {
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.key",
        ],
        d,
    );
    openssl(
        &[
            "req", "-new", "-key", "k.key", "-subj", "/CN=x", "-out", "k.csr",
        ],
        d,
    );
    std::fs::read(d.join("k.csr")).unwrap()
}

/// Starts `serve --dev` with the fixture provider configured as an extra issuer.
fn start_server(dir: &Path, provider: &Provider, extra: &str) -> Server {
    let config = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{extra}\n[[ca.oidc_issuers]]\nissuer_url = \"{}\"\nclient_id = \"sigstore\"\ntype = \"email\"\nprivate_network = true\n",
        dir.join("data").display(),
        provider.issuer
    );
    let path = dir.join("certcentral.toml");
    std::fs::write(&path, config).unwrap();
    Server::spawn(
        &["--dev", "--config", path.to_str().unwrap()],
        &dir.join("data"),
    )
}

/// POSTs a signingCert request; returns (status, JSON).
fn sign_request(server: &Server, body: &Value, bearer: Option<&str>) -> (u16, Value) {
    let mut request = client()
        .post(format!("{}/api/v2/signingCert", server.base))
        .json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn public_key_body(token: &str, public_pem: &str, proof: &[u8]) -> Value {
    json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": public_pem },
            "proofOfPossession": B64.encode(proof),
        }
    })
}

fn csr_body(csr_pem: &[u8]) -> Value {
    json!({ "certificateSigningRequest": B64.encode(csr_pem) })
}

/// Checks an issued chain with OpenSSL and the independent SCT verifier; returns the
/// `openssl x509 -text` of the leaf.
fn check_chain(server: &Server, dir: &Path, answer: &Value, tag: &str) -> String {
    let chain: Vec<String> = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no chain in {answer}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    let (leaf, inter, root) = (
        dir.join(format!("{tag}-leaf.pem")),
        dir.join(format!("{tag}-inter.pem")),
        dir.join(format!("{tag}-root.pem")),
    );
    std::fs::write(&leaf, &chain[0]).unwrap();
    std::fs::write(&inter, &chain[1]).unwrap();
    std::fs::write(&root, &chain[2]).unwrap();
    let verdict = openssl(
        &[
            "verify",
            "-CAfile",
            root.to_str().unwrap(),
            "-untrusted",
            inter.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ],
        dir,
    );
    assert!(String::from_utf8_lossy(&verdict).contains(": OK"));

    // The trust bundle is the chain's CA part.
    let bundle = get_json(&client(), &format!("{}/api/v2/trustBundle", server.base));
    assert_eq!(bundle["chains"][0]["certificates"][0], chain[1]);
    assert_eq!(bundle["chains"][0]["certificates"][1], chain[2]);

    // Every embedded SCT verifies against its log's key (from the log list).
    let list = get_json(&client(), &format!("{}/logs/log_list.json", server.base));
    let logs: Vec<Value> = list["operators"][0]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({ "key": l["key"] }))
        .collect();
    let summary = python(&["scts"], Some(json!({ "chain": chain, "logs": logs })));
    assert_eq!(summary["verified"], 1, "one SCT, from dev-a: {summary}");

    String::from_utf8(openssl(
        &["x509", "-noout", "-text", "-in", leaf.to_str().unwrap()],
        dir,
    ))
    .unwrap()
}

fn python(args: &[&str], stdin: Option<Value>) -> Value {
    use std::io::Write;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ca_verify.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 must be installed (see .ci/run)");
    let mut input = child.stdin.take().unwrap();
    if let Some(v) = stdin {
        input.write_all(v.to_string().as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ca_verify.py {args:?}: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn issues_for_a_foreign_oidc_provider_with_proof_or_csr() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::start();
    let server = start_server(dir.path(), &provider, "");
    let d = dir.path();

    // The configuration lists both the fixture and the dev issuer.
    let config = get_json(&client(), &format!("{}/api/v2/configuration", server.base));
    let urls: Vec<&str> = config["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issuerUrl"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&provider.issuer.as_str()), "{config}");
    assert!(urls.iter().any(|u| u.ends_with("/dev/oidc")), "{config}");

    // 1. Public key + proof of possession: key and signature by the OpenSSL CLI, over
    //    the token's `sub`; token RS256.
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ossl.key",
        ],
        d,
    );
    openssl(
        &["pkey", "-in", "ossl.key", "-pubout", "-out", "ossl.pub"],
        d,
    );
    let email = "alice@example.com";
    std::fs::write(d.join("sub.txt"), email).unwrap();
    let proof = openssl(&["dgst", "-sha256", "-sign", "ossl.key", "sub.txt"], d);
    let public_pem = std::fs::read_to_string(d.join("ossl.pub")).unwrap();
    let token = provider.rs256(&provider.claims(email));
    let (status, answer) =
        sign_request(&server, &public_key_body(&token, &public_pem, &proof), None);
    assert_eq!(status, 201, "{answer}");
    let text = check_chain(&server, d, &answer, "pk");
    assert!(text.contains(&format!("email:{email}")), "{text}");
    assert!(text.contains("Code Signing"), "{text}");
    assert!(text.contains("CT Precertificate SCTs"), "{text}");
    // `--dev`: one SCT, from dev-a (sigstore clients accept exactly one).
    assert_eq!(
        text.matches("Signed Certificate Timestamp:").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(&provider.issuer),
        "Fulcio issuer extension: {text}"
    );
    assert!(!text.contains("CT Precertificate Poison"), "{text}");

    // 2. A CSR made by `openssl req`, token ES256 in the Authorization header (how
    //    sigstore clients call Fulcio).
    openssl(
        &[
            "req",
            "-new",
            "-key",
            "ossl.key",
            "-subj",
            "/CN=ignored",
            "-out",
            "ossl.csr",
        ],
        d,
    );
    let csr = std::fs::read(d.join("ossl.csr")).unwrap();
    let token = provider.es256(&provider.claims("bob@example.com"));
    let (status, answer) = sign_request(&server, &csr_body(&csr), Some(&token));
    assert_eq!(status, 201, "{answer}");
    let text = check_chain(&server, d, &answer, "ossl-csr");
    assert!(text.contains("email:bob@example.com"), "{text}");

    // 3. A CSR made by Python `cryptography`.
    python(&["csr", d.to_str().unwrap()], None);
    let csr = std::fs::read(d.join("py-csr.pem")).unwrap();
    let token = provider.rs256(&provider.claims("carol@example.com"));
    let body = json!({
        "credentials": { "oidcIdentityToken": token },
        "certificateSigningRequest": B64.encode(&csr),
    });
    let (status, answer) = sign_request(&server, &body, None);
    assert_eq!(status, 201, "{answer}");
    let text = check_chain(&server, d, &answer, "py-csr");
    assert!(text.contains("email:carol@example.com"), "{text}");

    // 4. The built-in dev issuer works the same way.
    let minted: Value = client()
        .post(format!("{}/dev/oidc/token", server.base))
        .json(&json!({ "email": "dave@example.com" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = minted["id_token"].as_str().unwrap();
    let (status, answer) = sign_request(&server, &csr_body(&csr), Some(token));
    assert_eq!(status, 201, "{answer}");
    let text = check_chain(&server, d, &answer, "dev");
    assert!(text.contains("email:dave@example.com"), "{text}");
}

/// (what, token, public key PEM, proof, expected status, what the message must mention)
type RejectionCase<'a> = (&'a str, &'a str, &'a str, &'a [u8], u16, &'a str);

#[test]
fn refuses_bad_tokens_proofs_and_keys_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::start();
    let server = start_server(dir.path(), &provider, "");
    let d = dir.path();
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.key",
        ],
        d,
    );
    openssl(&["pkey", "-in", "k.key", "-pubout", "-out", "k.pub"], d);
    let public_pem = std::fs::read_to_string(d.join("k.pub")).unwrap();
    let email = "alice@example.com";
    std::fs::write(d.join("sub.txt"), email).unwrap();
    std::fs::write(d.join("other.txt"), "mallory@example.com").unwrap();
    let proof = openssl(&["dgst", "-sha256", "-sign", "k.key", "sub.txt"], d);
    let other_proof = openssl(&["dgst", "-sha256", "-sign", "k.key", "other.txt"], d);
    let good = provider.claims(email);

    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        c
    };
    let expired = provider.rs256(&with(&|c| {
        c["iat"] = json!(now() - 3600);
        c["exp"] = json!(now() - 1800);
    }));
    let wrong_aud = provider.rs256(&with(&|c| c["aud"] = json!("someone-else")));
    let unknown_iss = provider.rs256(&with(&|c| c["iss"] = json!("https://idp.invalid")));
    let unverified = provider.rs256(&with(&|c| c["email_verified"] = json!(false)));
    let alg_none = provider.sign(json!({ "alg": "none" }), &good);
    let hs256 = provider.sign(json!({ "alg": "HS256", "kid": "rsa-1" }), &good);
    let token = provider.rs256(&good);
    let mut bad_sig = proof.clone();
    let last = bad_sig.len() - 3;
    bad_sig[last] ^= 0x40;

    let garbage_key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    #[rustfmt::skip] // a table: one case per line
    let cases: [RejectionCase; 9] = [
        ("expired token", &expired, &public_pem, &proof, 401, "expired"),
        ("wrong audience", &wrong_aud, &public_pem, &proof, 401, "aud"),
        ("unknown issuer", &unknown_iss, &public_pem, &proof, 401, "unknown issuer"),
        ("alg none", &alg_none, &public_pem, &proof, 401, "none"),
        ("HS256 keyed with the public key", &hs256, &public_pem, &proof, 401, "HMAC"),
        ("unverified email", &unverified, &public_pem, &proof, 401, "email"),
        ("proof for another sub", &token, &public_pem, &other_proof, 400, "does not verify"),
        ("bad proof signature", &token, &public_pem, &bad_sig, 400, "does not verify"),
        ("garbage key", &token, garbage_key, &proof, 400, "key"),
    ];
    for (what, token, key, proof, status, needle) in cases {
        let (got, answer) = sign_request(&server, &public_key_body(token, key, proof), None);
        assert_eq!(got, status, "{what}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "{what}: message {message:?} should mention {needle:?}"
        );
    }

    // CSR with a broken self-signature: flip a bit in the signature of an OpenSSL CSR.
    openssl(
        &[
            "req",
            "-new",
            "-key",
            "k.key",
            "-subj",
            "/CN=x",
            "-outform",
            "DER",
            "-out",
            "k.csr.der",
        ],
        d,
    );
    let mut der = std::fs::read(d.join("k.csr.der")).unwrap();
    let last = der.len() - 2;
    der[last] ^= 0x01;
    let (status, answer) = sign_request(&server, &csr_body(&der), Some(&token));
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("self-signature"),
        "{answer}"
    );

    // RSA-1024: refused, naming what is accepted.
    openssl(&["genrsa", "-out", "rsa1024.key", "1024"], d);
    openssl(
        &[
            "req",
            "-new",
            "-key",
            "rsa1024.key",
            "-subj",
            "/CN=x",
            "-out",
            "rsa1024.csr",
        ],
        d,
    );
    let csr = std::fs::read(d.join("rsa1024.csr")).unwrap();
    let (status, answer) = sign_request(&server, &csr_body(&csr), Some(&token));
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("1024") && message.contains("RSA 2048"),
        "{message}"
    );

    // Malformed and oversized requests.
    for (body, status) in [
        (b"{".to_vec(), 400),
        (b"null".to_vec(), 400),
        (vec![b'x'; 200 * 1024], 413),
    ] {
        let response = client()
            .post(format!("{}/api/v2/signingCert", server.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        let answer: Value = response.json().unwrap();
        assert!(answer["message"].is_string(), "{answer}");
    }
    let response = client()
        .post(format!("{}/dev/oidc/token", server.base))
        .json(&json!({ "email": "not an address" }))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // After all that, the server still issues.
    let (status, answer) =
        sign_request(&server, &public_key_body(&token, &public_pem, &proof), None);
    assert_eq!(status, 201, "{answer}");
    let server_log = std::fs::read_to_string(d.join("data/server.log")).unwrap_or_default();
    assert!(!server_log.contains("panicked"), "{server_log}");
}

#[test]
fn no_certificate_when_a_log_cannot_answer() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::start();
    // dev-a in process, plus a remote log on a port where nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/logs/gone", dead.local_addr().unwrap());
    drop(dead);
    let key = pki::EcdsaP256Signer::generate().unwrap();
    let extra = format!(
        "[ca]\nct_logs = [\"dev-a\", {{ url = \"{dead_url}\", public_key = \"{}\" }}]\n",
        B64.encode(key.spki_der())
    );
    let server = start_server(dir.path(), &provider, &extra);
    let size_before = get_json(
        &client(),
        &format!("{}/logs/dev-b/ct/v1/get-sth", server.base),
    )["tree_size"]
        .clone();

    let d = dir.path();
    let csr = openssl_key_and_csr(d);
    let token = provider.rs256(&provider.claims("alice@example.com"));
    let (status, answer) = sign_request(&server, &csr_body(&csr), Some(&token));
    assert_eq!(status, 503, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("no certificate issued") && message.contains(&dead_url),
        "{message}"
    );
    assert!(answer.get("signedCertificateEmbeddedSct").is_none());
    // dev-b is not one of this CA's logs and saw nothing.
    let size_after = get_json(
        &client(),
        &format!("{}/logs/dev-b/ct/v1/get-sth", server.base),
    )["tree_size"]
        .clone();
    assert_eq!(size_before, size_after);
}

/// Makes `root.pem` and an intermediate (`int.key`, `int.pem`) with the OpenSSL CLI,
/// and `chain.pem` = intermediate + root. `key_args` go to `genpkey` (encryption).
fn openssl_ca_chain(d: &Path, key_args: &[&str]) {
    std::fs::write(
        d.join("int.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    let root_args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days 30 -subj /CN=Test-Root -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign";
    openssl(&root_args.split(' ').collect::<Vec<_>>(), d);
    let mut genpkey = vec![
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "int.key",
    ];
    genpkey.extend_from_slice(key_args);
    openssl(&genpkey, d);
    let mut req = vec![
        "req",
        "-new",
        "-key",
        "int.key",
        "-subj",
        "/CN=Test-Intermediate",
        "-out",
        "int.csr",
    ];
    if key_args.contains(&"-pass") {
        req.extend_from_slice(&["-passin", "pass:correct horse"]);
    }
    openssl(&req, d);
    let sign =
        "x509 -req -in int.csr -CA root.pem -CAkey root.key -days 30 -extfile int.ext -out int.pem";
    openssl(&sign.split(' ').collect::<Vec<_>>(), d);
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(d.join("int.pem")).unwrap(),
        std::fs::read_to_string(d.join("root.pem")).unwrap()
    );
    std::fs::write(d.join("chain.pem"), chain).unwrap();
}

/// Issues a certificate for `csr` from a CA whose chain [`openssl_ca_chain`] made;
/// checks the answer carries that intermediate and `openssl verify` accepts the leaf.
/// Returns the chain PEMs.
fn issue_under_openssl_chain(server: &Server, d: &Path, csr: &[u8], token: &str) -> Vec<String> {
    let (status, answer) = sign_request(server, &csr_body(csr), Some(token));
    assert_eq!(status, 201, "{answer}");
    let certs: Vec<String> = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let intermediate = std::fs::read_to_string(d.join("int.pem")).unwrap();
    assert_eq!(certs[1].trim(), intermediate.trim());
    std::fs::write(d.join("leaf.pem"), &certs[0]).unwrap();
    let args = [
        "verify",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "int.pem",
        "leaf.pem",
    ];
    let verdict = openssl(&args, d);
    assert!(String::from_utf8_lossy(&verdict).contains(": OK"));
    certs
}

/// A production-shaped CA: its key in an encrypted PKCS#8 file made by OpenSSL (root →
/// intermediate chain also made by OpenSSL), no logs of its own, SCTs from a log in
/// another certcentral process over RFC 6962 `add-pre-chain`.
#[test]
fn file_signer_and_remote_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let provider = Provider::start();
    // Root and intermediate by OpenSSL; the intermediate key encrypted (PBES2/AES-256).
    openssl_ca_chain(d, &["-aes-256-cbc", "-pass", "pass:correct horse"]);

    // The log server accepts the file CA's root.
    let log_data = d.join("logdata");
    let log_server = Server::spawn(
        &[
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            log_data.to_str().unwrap(),
            "--roots",
            d.join("root.pem").to_str().unwrap(),
        ],
        &log_data,
    );
    let list = get_json(
        &client(),
        &format!("{}/logs/log_list.json", log_server.base),
    );
    let log_key = list["operators"][0]["logs"][0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let log_url = format!("{}/logs/dev-a", log_server.base);

    let config = format!(
        r#"listen = "127.0.0.1:0"
data_dir = "{data}"
[ca]
signer = "file"
key_file = "{key}"
key_password_env = "TEST_CA_PASSWORD"
chain_pem = "{chain}"
cert_lifetime = "20m"
ct_logs = [{{ url = "{log_url}", public_key = "{log_key}" }}]
[[ca.oidc_issuers]]
issuer_url = "{issuer}"
client_id = "sigstore"
type = "email"
private_network = true
"#,
        data = d.join("cadata").display(),
        key = d.join("int.key").display(),
        chain = d.join("chain.pem").display(),
        issuer = provider.issuer,
    );
    std::fs::write(d.join("ca.toml"), config).unwrap();
    // SAFETY: set before the server process is spawned; no other thread reads it.
    let ca_server = Server::spawn_with_env(
        &["--config", d.join("ca.toml").to_str().unwrap()],
        &d.join("cadata"),
        &[("TEST_CA_PASSWORD", "correct horse")],
    );

    let csr = openssl_key_and_csr(d);
    let token = provider.rs256(&provider.claims("erin@example.com"));
    let certs = issue_under_openssl_chain(&ca_server, d, &csr, &token);
    // Exactly one SCT, from the remote log, verifying against its key.
    let summary = python(
        &["scts"],
        Some(json!({ "chain": certs, "logs": [{ "key": log_key }] })),
    );
    assert_eq!(summary["verified"], 1, "{summary}");
    // The remote log holds the precertificate.
    let sth = get_json(&client(), &format!("{log_url}/ct/v1/get-sth"));
    assert_eq!(sth["tree_size"], 1);

    // A wrong password is a clear start-up error, without the password in it.
    let out = Command::new(env!("CARGO_BIN_EXE_certcentral"))
        .args(["serve", "--config", d.join("ca.toml").to_str().unwrap()])
        .env("TEST_CA_PASSWORD", "wrong horse")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("password"), "{stderr}");
    assert!(!stderr.contains("wrong horse"), "{stderr}");
}

/// The CA key in a PKCS#11 token: a real SoftHSM2 token (installed by `.ci/run`), the
/// key imported with `softhsm2-util`, the PIN from an environment variable.
#[test]
fn pkcs11_signer_on_softhsm2() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    if !Path::new(MODULE).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "SoftHSM2 is missing in CI"
        );
        eprintln!("SKIPPED: {MODULE} not installed (apt-get install softhsm2)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let provider = Provider::start();
    openssl_ca_chain(d, &[]);
    std::fs::create_dir_all(d.join("tokens")).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    let softhsm = |args: &[&str]| {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    softhsm(&[
        "--init-token",
        "--free",
        "--label",
        "cc-ca",
        "--pin",
        "4321",
        "--so-pin",
        "8765",
    ]);
    let key = d.join("int.key");
    softhsm(&[
        "--import",
        key.to_str().unwrap(),
        "--token",
        "cc-ca",
        "--label",
        "issuing",
        "--id",
        "01",
        "--pin",
        "4321",
    ]);
    std::fs::remove_file(&key).unwrap(); // from now on the key exists only in the token

    let config = format!(
        r#"listen = "127.0.0.1:0"
[ca]
signer = "pkcs11"
pkcs11_module = "{MODULE}"
pkcs11_token_label = "cc-ca"
pkcs11_key_label = "issuing"
pkcs11_pin_env = "TEST_HSM_PIN"
chain_pem = "{chain}"
ct_logs = ["dev-a"]
[[ca.oidc_issuers]]
issuer_url = "{issuer}"
client_id = "sigstore"
type = "email"
private_network = true
"#,
        chain = d.join("chain.pem").display(),
        issuer = provider.issuer,
    );
    std::fs::write(d.join("hsm.toml"), config).unwrap();
    let server = Server::spawn_with_env(
        &[
            "--dev",
            "--config",
            d.join("hsm.toml").to_str().unwrap(),
            "--data-dir",
            d.join("data").to_str().unwrap(),
        ],
        &d.join("data"),
        &[
            ("TEST_HSM_PIN", "4321"),
            ("SOFTHSM2_CONF", conf.to_str().unwrap()),
        ],
    );
    let csr = openssl_key_and_csr(d);
    let token = provider.rs256(&provider.claims("frank@example.com"));
    issue_under_openssl_chain(&server, d, &csr, &token);

    // A wrong PIN stops the start with a message that names the token, not the PIN.
    let out = Command::new(env!("CARGO_BIN_EXE_certcentral"))
        .args([
            "serve",
            "--dev",
            "--config",
            d.join("hsm.toml").to_str().unwrap(),
            "--data-dir",
            d.join("data2").to_str().unwrap(),
        ])
        .env("TEST_HSM_PIN", "999999")
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cc-ca"), "{stderr}");
    assert!(!stderr.contains("999999"), "{stderr}");
}

/// The Python interpreter that has sigstore-python: `CERTCENTRAL_SIGSTORE_PYTHON`
/// (set by `.ci/run`, which installs it in a virtualenv), else `python3` if it has it.
fn sigstore_python() -> Option<String> {
    let candidates = std::env::var("CERTCENTRAL_SIGSTORE_PYTHON")
        .into_iter()
        .chain(["python3".to_string()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import sigstore"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    None
}

/// A real sigstore client, unmodified: sigstore-python's Fulcio client requests the
/// certificate and its SCT verifier checks the embedded SCT. sigstore clients accept
/// exactly one SCT, so this CA is configured with one log.
#[test]
fn sigstore_python_gets_and_verifies_a_certificate() {
    let Some(python) = sigstore_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "sigstore-python must be installed in CI (see .ci/run)"
        );
        eprintln!("SKIPPED: sigstore-python not installed (pip install sigstore)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("one-log.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\n[ca]\nct_logs = [\"dev-a\"]\n",
    )
    .unwrap();
    let server = Server::spawn(
        &[
            "--dev",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &data,
    );
    let list = get_json(&client(), &format!("{}/logs/log_list.json", server.base));
    let key = list["operators"][0]["logs"][0]["key"].as_str().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigstore_interop.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([server.base.as_str(), key])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore-python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["sct_verified"], true);
    assert_eq!(summary["san"][0], "sigstore-python@example.com");
    assert_eq!(summary["chain"], 2);
}
