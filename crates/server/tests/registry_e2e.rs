//! End-to-end tests of the developer-certificate registry against the real server:
//! accounts from dev OIDC tokens, challenges, pushes with CMS made by the `openssl
//! cms` CLI over certificates made by `openssl req -x509`, downloads, search,
//! revocation, and the registry log's proofs checked with the merkle crate.

mod common;

use std::path::Path;

use aws_lc_rs::digest;
use common::{Server, answer, b64, client, dev_token, hashes, registry_token, unb64};
use merkle::checkpoint::Checkpoint;
use merkle::note::{Ed25519NoteVerifier, NoteVerifier, SignedNote};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use testkit::openssl::SelfSigned as Fixture;

/// Starts `serve --dev` over `dir`, with an optional config overlay.
fn dev_server(dir: &Path, overlay: Option<&str>) -> Server {
    let data = dir.join("data");
    let Some(text) = overlay else {
        return Server::dev(&data, &[]);
    };
    let path = dir.join("overlay.toml");
    std::fs::write(&path, text).unwrap();
    Server::dev(&data, &["--config", path.to_str().unwrap()])
}

/// GET `path` on `server`: (status, JSON body or text).
fn get(http: &Client, server: &Server, path: &str) -> (u16, Value) {
    answer(http.get(format!("{}{path}", server.base)).send().unwrap())
}

fn register(http: &Client, server: &Server, token: &str, username: &str) -> (u16, Value) {
    answer(
        http.post(format!("{}/api/v1/accounts", server.base))
            .bearer_auth(token)
            .json(&json!({ "username": username }))
            .send()
            .unwrap(),
    )
}

fn account(http: &Client, server: &Server, email: &str, username: &str) -> String {
    let token = registry_token(http, server, email);
    let (status, body) = register(http, server, &token, username);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["username"], username);
    body["api_key"].as_str().unwrap().to_owned()
}

/// POST `/api/v1/challenges` with API key `key`.
fn request_challenge(http: &Client, server: &Server, key: &str) -> (u16, Value) {
    answer(
        http.post(format!("{}/api/v1/challenges", server.base))
            .bearer_auth(key)
            .send()
            .unwrap(),
    )
}

/// A new challenge: (id, nonce bytes).
fn challenge(http: &Client, server: &Server, key: &str) -> (String, Vec<u8>) {
    let (status, body) = request_challenge(http, server, key);
    assert_eq!(status, 201, "{body}");
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    let nonce = unb64(body["nonce"].as_str().unwrap());
    assert_eq!(nonce.len(), 32);
    (body["challenge_id"].as_str().unwrap().to_owned(), nonce)
}

fn push(http: &Client, server: &Server, key: &str, challenge_id: &str, cms: &[u8]) -> (u16, Value) {
    answer(
        http.post(format!("{}/api/v1/certs", server.base))
            .bearer_auth(key)
            .json(&json!({ "challenge_id": challenge_id, "cms": b64(cms) }))
            .send()
            .unwrap(),
    )
}

/// DELETE `/api/v1/certs/{thumbprint}` with API key `key`.
fn revoke(http: &Client, server: &Server, key: &str, thumbprint: &str) -> (u16, Value) {
    answer(
        http.delete(format!("{}/api/v1/certs/{thumbprint}", server.base))
            .bearer_auth(key)
            .send()
            .unwrap(),
    )
}

/// POST `/api/v1/api-keys/rotate` with API key `key` (or an OIDC token, for a lost key).
fn rotate_api_key(http: &Client, server: &Server, key: &str) -> (u16, Value) {
    answer(
        http.post(format!("{}/api/v1/api-keys/rotate", server.base))
            .bearer_auth(key)
            .send()
            .unwrap(),
    )
}

/// The unauthenticated download of `username`'s certificate `thumbprint`.
fn download(http: &Client, server: &Server, username: &str, thumbprint: &str) -> Response {
    http.get(format!(
        "{}/api/cert/getusercert?username={username}&thumbprint={thumbprint}",
        server.base
    ))
    .send()
    .unwrap()
}

/// Asserts that the download of `username`'s `thumbprint` is `der` byte for byte, with
/// the revocation header saying `revoked`.
fn assert_downloads(
    http: &Client,
    server: &Server,
    username: &str,
    thumbprint: &str,
    der: &[u8],
    revoked: bool,
) {
    let response = download(http, server, username, thumbprint);
    assert_eq!(response.status(), 200, "{thumbprint}");
    assert_eq!(
        response.headers()["x-certcentral-revoked"],
        revoked.to_string(),
        "{thumbprint}"
    );
    assert_eq!(pem_to_der(&response.text().unwrap()), der, "{thumbprint}");
}

/// A self-signed certificate by `openssl req -x509` (subject `CN=<name>, O=Example
/// Developers`, valid 30 days).
fn openssl_cert(dir: &Path, name: &str, key_args: &[&str], extra: &[&str]) -> Fixture {
    let subject = format!("/CN={name}/O=Example Developers");
    testkit::openssl::self_signed(dir, name, &subject, 30, key_args, extra)
}

const RSA: &[&str] = &["-newkey", "rsa:2048"];
const P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
/// The codeSigning EKU on an end entity (`req -x509` otherwise writes CA:TRUE, which
/// the registry refuses).
const CODE_SIGNING: &[&str] = &[
    "-addext",
    "extendedKeyUsage=codeSigning",
    "-addext",
    "basicConstraints=CA:FALSE",
];

/// `openssl cms -sign -binary -nodetach -outform DER` over `content`: what the
/// protocol asks clients to send.
fn cms_sign(dir: &Path, content: &[u8], signer: &Fixture, extra: &[&str]) -> Vec<u8> {
    testkit::openssl::cms_sign(dir, content, signer, &[&["-nodetach"], extra].concat())
}

fn sha1_upper(der: &[u8]) -> String {
    hex::encode_upper(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der))
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    unb64(&body)
}

fn get_text(http: &Client, url: &str) -> String {
    let response = http.get(url).send().unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.text().unwrap()
}

/// Verifies the checkpoint note with the registry's published key; returns it.
fn verified_checkpoint(http: &Client, server: &Server, note: &str) -> Checkpoint {
    let vkey = get_text(http, &format!("{}/registry/log/key", server.base));
    let verifier = Ed25519NoteVerifier::from_verifier_key(vkey.trim()).unwrap();
    let note = SignedNote::parse(note).unwrap();
    let verifiers: [&dyn NoteVerifier; 1] = [&verifier];
    note.verify(&verifiers)
        .expect("checkpoint signed by the registry key");
    Checkpoint::parse(&note.text).unwrap()
}

/// The registry log entry at `index`, from the tlog-tiles entry bundle.
fn log_entry(http: &Client, server: &Server, index: u64, size: u64) -> Vec<u8> {
    let tile = index / 256;
    let width = (size - tile * 256).min(256);
    let path = merkle::tiles::data_tile_path("entries", tile, width as u16);
    let bytes = http
        .get(format!("{}/registry/log/{path}", server.base))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let mut rest = &bytes[..];
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        entries.push(rest[2..2 + len].to_vec());
        rest = &rest[2 + len..];
    }
    assert_eq!(entries.len() as u64, width);
    entries[(index % 256) as usize].clone()
}

/// Checks a push/revoke answer's inclusion proof against its own checkpoint, and that
/// the leaf records `username`, `action` and the certificate.
fn assert_logged(
    http: &Client,
    server: &Server,
    body: &Value,
    username: &str,
    action: u8,
    der: &[u8],
) {
    let checkpoint = verified_checkpoint(http, server, body["checkpoint"].as_str().unwrap());
    let index = body["log_index"].as_u64().unwrap();
    let entry = log_entry(http, server, index, checkpoint.size);
    // RegistryLogEntry: timestamp(8) username<1..255> action(1) certificate<1..2^16-1>
    let user_len = usize::from(entry[8]);
    assert_eq!(&entry[9..9 + user_len], username.as_bytes());
    assert_eq!(entry[9 + user_len], action);
    assert_eq!(&entry[9 + user_len + 3..], der);
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry),
        index,
        checkpoint.size,
        &hashes(&body["inclusion_proof"]),
        &checkpoint.root,
    )
    .expect("inclusion proof verifies against the returned checkpoint");
}

fn log_size(http: &Client, server: &Server) -> u64 {
    let note = get_text(http, &format!("{}/registry/log/checkpoint", server.base));
    verified_checkpoint(http, server, &note).size
}

fn user_cert_count(http: &Client, server: &Server, username: &str) -> usize {
    let body = common::get_json(
        http,
        &format!("{}/api/v1/users/{username}/certs", server.base),
    );
    body["certs"].as_array().unwrap().len()
}

#[test]
fn register_push_download_search_revoke_with_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), None);
    let http = client();

    assert_eq!(
        log_size(&http, &server),
        0,
        "an empty log serves a signed checkpoint"
    );

    // Accounts: one per identity, usernames unique and well-formed.
    let key = account(&http, &server, "alice@example.com", "alice");
    assert!(key.starts_with("cck_"));
    let alice_token = registry_token(&http, &server, "alice@example.com");
    let (status, body) = register(&http, &server, &alice_token, "alice-two");
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("alice"));
    let bob_token = registry_token(&http, &server, "bob@example.com");
    let (status, body) = register(&http, &server, &bob_token, "alice");
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("username_taken"))
    );
    let (status, _) = register(&http, &server, &bob_token, "Bob!");
    assert_eq!(status, 400);
    let (status, body) = register(&http, &server, "not-a-token", "bob");
    assert_eq!(status, 401, "{body}");

    // Push an RSA and an ECDSA certificate, each with a fresh challenge.
    let rsa = openssl_cert(dir.path(), "rsa-dev", RSA, CODE_SIGNING);
    let ec = openssl_cert(dir.path(), "ec-dev", P256, CODE_SIGNING);
    let mut pushed = Vec::new();
    for fixture in [&rsa, &ec] {
        let (id, nonce) = challenge(&http, &server, &key);
        let cms = cms_sign(dir.path(), &nonce, fixture, &[]);
        let (status, body) = push(&http, &server, &key, &id, &cms);
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["username"], "alice");
        assert_eq!(body["thumbprint"], sha1_upper(&fixture.der));
        assert_eq!(
            body["sha256"],
            hex::encode(digest::digest(&digest::SHA256, &fixture.der))
        );
        assert!(
            body["subject"]
                .as_str()
                .unwrap()
                .contains("Example Developers")
        );
        assert!(body["not_after"].as_str().unwrap().ends_with('Z'));
        assert_logged(&http, &server, &body, "alice", 0, &fixture.der);
        pushed.push(body);
    }
    assert_eq!(pushed[0]["log_index"], 0);
    assert_eq!(pushed[1]["log_index"], 1);

    // Downloads are byte-identical, with no authentication.
    for (fixture, body) in [&rsa, &ec].iter().zip(&pushed) {
        let thumbprint = body["thumbprint"].as_str().unwrap();
        assert_downloads(&http, &server, "alice", thumbprint, &fixture.der, false);
        let by_key = common::get_json(
            &http,
            &format!(
                "{}/api/v1/keys/{}",
                server.base,
                body["storage_key"].as_str().unwrap()
            ),
        );
        assert_eq!(by_key["thumbprint"], body["thumbprint"]);
        assert_eq!(pem_to_der(by_key["pem"].as_str().unwrap()), fixture.der);
    }
    let (status, _) = answer(download(&http, &server, "alice", &"0".repeat(40)));
    assert_eq!(status, 404);

    // Listing and search.
    assert_eq!(user_cert_count(&http, &server, "alice"), 2);
    let search = |q: &str| {
        common::get_json(&http, &format!("{}/api/v1/search?q={q}", server.base))["results"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(search("ali"), 2);
    assert_eq!(search("ec-dev"), 1);
    assert_eq!(search(&pushed[0]["thumbprint"].as_str().unwrap()[..10]), 1);
    assert_eq!(search(&pushed[1]["sha256"].as_str().unwrap()[..12]), 1);
    assert_eq!(search("nobody-at-all"), 0);
    let paged = common::get_json(
        &http,
        &format!("{}/api/v1/search?q=alice&per_page=1&page=2", server.base),
    );
    assert_eq!(paged["results"][0]["thumbprint"], pushed[1]["thumbprint"]);

    // Revocation: a revoke leaf, the certificate stays downloadable and says so.
    let thumb = pushed[0]["thumbprint"].as_str().unwrap();
    let (status, body) = revoke(&http, &server, &key, thumb);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"], true);
    assert_eq!(body["log_index"], 2);
    assert_logged(&http, &server, &body, "alice", 1, &rsa.der);
    let lower = thumb.to_ascii_lowercase();
    assert_downloads(&http, &server, "alice", &lower, &rsa.der, true);
    let listing = common::get_json(&http, &format!("{}/api/v1/users/alice/certs", server.base));
    assert_eq!(listing["certs"][0]["revoked"], true);
    assert_eq!(listing["certs"][1]["revoked"], false);
    let (status, _) = revoke(&http, &server, &key, thumb);
    assert_eq!(status, 409, "revoking twice");
    let bob_key = account(&http, &server, "bob@example.com", "bob");
    let bobs_try = revoke(
        &http,
        &server,
        &bob_key,
        pushed[1]["thumbprint"].as_str().unwrap(),
    );
    assert_eq!(bobs_try.0, 404, "only the owner revokes");

    // The proof and consistency endpoints agree with the checkpoints.
    assert_eq!(log_size(&http, &server), 3);
    let at = |size: u64| {
        let body = common::get_json(
            &http,
            &format!("{}/registry/log/proof?index=0&size={size}", server.base),
        );
        let root: merkle::Hash = unb64(body["root"].as_str().unwrap()).try_into().unwrap();
        root
    };
    let (root1, root3) = (at(1), at(3));
    let consistency = common::get_json(
        &http,
        &format!("{}/registry/log/consistency?old=1&size=3", server.base),
    );
    let proof = hashes(&consistency["proof"]);
    merkle::verify_consistency(1, 3, &root1, &root3, &proof).expect("consistent");
    let (status, _) = get(&http, &server, "/registry/log/proof?index=0&size=4");
    assert_eq!(status, 400, "a size beyond the log");
    for bad in [
        "proof?index=5&size=3",
        "proof?index=0&size=0",
        "proof?index=x&size=1",
        "consistency?old=0&size=3",
        "consistency?old=3&size=1",
        "consistency?old=1&size=99",
    ] {
        let (status, body) = get(&http, &server, &format!("/registry/log/{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].is_string(), "{bad}: {body}");
    }
    for missing in [
        "tile/0/000.p/4",
        "tile/0/001",
        "tile/entries/000.p/9",
        "tile/x/y",
    ] {
        let (status, _) = get(&http, &server, &format!("/registry/log/{missing}"));
        assert_eq!(status, 404, "{missing}");
    }
    let hash_tile = http
        .get(format!("{}/registry/log/tile/0/000.p/3", server.base))
        .send()
        .unwrap();
    assert_eq!(hash_tile.status(), 200);
    assert_eq!(hash_tile.bytes().unwrap().len(), 3 * 32);

    // Key rotation: the old key stops working, the new one works.
    let (status, body) = rotate_api_key(&http, &server, &key);
    assert_eq!(status, 200, "{body}");
    let new_key = body["api_key"].as_str().unwrap().to_owned();
    let (status, _) = request_challenge(&http, &server, &key);
    assert_eq!(status, 401, "a rotated-out key is revoked");
    challenge(&http, &server, &new_key);
}

/// What a refused push must leave as it was: the log's size and how many certificates
/// the pushing account has.
struct Baseline<'a> {
    http: &'a Client,
    server: &'a Server,
    username: &'a str,
    log_size: u64,
    certs: usize,
}

impl Baseline<'_> {
    /// Asserts that `answer` refuses with status `want` and a message mentioning
    /// `words`, and that nothing was appended or stored.
    fn assert_refused(&self, (status, body): (u16, Value), want: u16, words: &str) {
        assert_eq!(status, want, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(words),
            "message {message:?} should mention {words:?}"
        );
        assert_eq!(
            log_size(self.http, self.server),
            self.log_size,
            "a failed push appends no leaf ({words})"
        );
        assert_eq!(
            user_cert_count(self.http, self.server, self.username),
            self.certs,
            "a failed push stores no row ({words})"
        );
    }
}

#[test]
fn rejected_pushes_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), Some("[registry]\nchallenge_ttl = \"1s\"\n"));
    let http = client();
    let key = account(&http, &server, "carol@example.com", "carol");
    let other_key = account(&http, &server, "dave@example.com", "dave");
    let good = openssl_cert(dir.path(), "good", P256, CODE_SIGNING);
    let other = openssl_cert(dir.path(), "other", RSA, CODE_SIGNING);
    let signed = |content: &[u8], signer: &Fixture| cms_sign(dir.path(), content, signer, &[]);

    // A baseline push, so "nothing changed" is checked against a non-empty log.
    let (id, nonce) = challenge(&http, &server, &key);
    let (status, body) = push(&http, &server, &key, &id, &signed(&nonce, &good));
    assert_eq!(status, 201, "{body}");
    let mut baseline = Baseline {
        http: &http,
        server: &server,
        username: "carol",
        log_size: log_size(&http, &server),
        certs: 1,
    };

    // Replayed challenge.
    let replay = push(&http, &server, &key, &id, &signed(&nonce, &other));
    baseline.assert_refused(replay, 409, "already used");

    // Racing pushes of one challenge: exactly one wins.
    let (id, nonce) = challenge(&http, &server, &key);
    let racers: Vec<Vec<u8>> = (0..4)
        .map(|n| {
            let fixture = openssl_cert(dir.path(), &format!("racer-{n}"), P256, CODE_SIGNING);
            signed(&nonce, &fixture)
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = racers
            .iter()
            .map(|cms| scope.spawn(|| push(&client(), &server, &key, &id, cms).0))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 201 || s == 409),
        "{statuses:?}"
    );
    baseline.log_size += 1;
    baseline.certs += 1;
    assert_eq!(log_size(&http, &server), baseline.log_size);

    // Expired challenge.
    let (id, nonce) = challenge(&http, &server, &key);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let late = push(&http, &server, &key, &id, &signed(&nonce, &other));
    baseline.assert_refused(late, 410, "expired");

    // Another account's challenge.
    let (id, nonce) = challenge(&http, &server, &other_key);
    let foreign = push(&http, &server, &key, &id, &signed(&nonce, &other));
    baseline.assert_refused(foreign, 400, "another account");

    // Content that is not the nonce.
    let (id, _) = challenge(&http, &server, &key);
    let not_nonce = push(
        &http,
        &server,
        &key,
        &id,
        &signed(b"something else", &other),
    );
    baseline.assert_refused(not_nonce, 400, "not the challenge nonce");

    // Signed by a key other than the included certificate's: `twin` has the same
    // issuer and serial as `signer`, so it matches the SignerIdentifier, but another key.
    const SERIAL_7: &[&str] = &[
        "-addext",
        "extendedKeyUsage=codeSigning",
        "-addext",
        "basicConstraints=CA:FALSE",
        "-set_serial",
        "7",
    ];
    let signer = openssl_cert(dir.path(), "twin", P256, SERIAL_7);
    let twin_dir = dir.path().join("twin");
    std::fs::create_dir_all(&twin_dir).unwrap();
    let twin = openssl_cert(&twin_dir, "twin", P256, SERIAL_7);
    let (id, nonce) = challenge(&http, &server, &key);
    let swapped = cms_sign(
        dir.path(),
        &nonce,
        &signer,
        &["-nocerts", "-certfile", twin.cert.to_str().unwrap()],
    );
    let wrong_key = push(&http, &server, &key, &id, &swapped);
    baseline.assert_refused(wrong_key, 400, "does not verify");

    // No codeSigning EKU.
    let plain = openssl_cert(dir.path(), "plain", P256, &[]);
    let (id, nonce) = challenge(&http, &server, &key);
    let no_eku = push(&http, &server, &key, &id, &signed(&nonce, &plain));
    baseline.assert_refused(no_eku, 422, "codesigning");

    // A CA certificate, even one with the codeSigning EKU: trusted as an anchor it
    // would vouch for whatever its key signs — here TLS servers too.
    let tls_ca = openssl_cert(
        dir.path(),
        "tls-ca",
        P256,
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "extendedKeyUsage=codeSigning,serverAuth",
        ],
    );
    let (id, nonce) = challenge(&http, &server, &key);
    let ca_push = push(&http, &server, &key, &id, &signed(&nonce, &tls_ca));
    baseline.assert_refused(ca_push, 422, "ca certificate");
    // And what `openssl req -x509` makes without being told otherwise.
    let default_req = openssl_cert(
        dir.path(),
        "req-default",
        P256,
        &["-addext", "extendedKeyUsage=codeSigning"],
    );
    let (id, nonce) = challenge(&http, &server, &key);
    let default_push = push(&http, &server, &key, &id, &signed(&nonce, &default_req));
    baseline.assert_refused(default_push, 422, "ca certificate");

    // Expired certificate (rcgen sets the past validity openssl req cannot).
    let expired = expired_cert(dir.path());
    let (id, nonce) = challenge(&http, &server, &key);
    let stale_cert = push(&http, &server, &key, &id, &signed(&nonce, &expired));
    baseline.assert_refused(stale_cert, 422, "expired");

    // Garbage and truncated DER, and non-base64.
    let (id, nonce) = challenge(&http, &server, &key);
    let garbage = push(&http, &server, &key, &id, b"\x30\x03garbage");
    baseline.assert_refused(garbage, 400, "der");
    let valid = signed(&nonce, &other);
    let truncated = push(&http, &server, &key, &id, &valid[..valid.len() / 2]);
    baseline.assert_refused(truncated, 400, "der");
    let not_base64 = answer(
        http.post(format!("{}/api/v1/certs", server.base))
            .bearer_auth(&key)
            .json(&json!({ "challenge_id": id, "cms": "!!not base64!!" }))
            .send()
            .unwrap(),
    );
    baseline.assert_refused(not_base64, 400, "base64");

    // A body over 1 MiB.
    let (status, body) = answer(
        http.post(format!("{}/api/v1/certs", server.base))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(vec![b' '; 1024 * 1024 + 1])
            .send()
            .unwrap(),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(log_size(&http, &server), baseline.log_size);

    // Bad and revoked API keys.
    let bad_key = push(&http, &server, "cck_not-a-real-key", &id, &valid);
    baseline.assert_refused(bad_key, 401, "api key");
    let (status, _) = rotate_api_key(&http, &server, &key);
    assert_eq!(status, 200);
    let revoked_key = push(&http, &server, &key, &id, &valid);
    baseline.assert_refused(revoked_key, 401, "revoked");
    let no_key = answer(
        http.post(format!("{}/api/v1/certs", server.base))
            .json(&json!({ "challenge_id": id, "cms": b64(&valid) }))
            .send()
            .unwrap(),
    );
    baseline.assert_refused(no_key, 401, "api key");
}

/// A P-256 code-signing certificate that expired in 2021, written for openssl.
fn expired_cert(dir: &Path) -> Fixture {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, date_time_ymd};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "expired-dev");
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2021, 1, 1);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    let cert = params.self_signed(&key).unwrap();
    let fixture = Fixture {
        cert: dir.join("expired.pem"),
        key: dir.join("expired.key"),
        der: cert.der().to_vec(),
    };
    std::fs::write(&fixture.cert, cert.pem()).unwrap();
    std::fs::write(&fixture.key, key.serialize_pem()).unwrap();
    fixture
}

/// POST `/api/v1/api-keys/rotate` with the OIDC `token` of a lost key's identity.
fn rotate_with_token(http: &Client, server: &Server, token: &str) -> (u16, Value) {
    rotate_api_key(http, server, token)
}

/// Asserts a 401 with `code` and that the account's API key `key` still works.
fn assert_token_refused(
    http: &Client,
    server: &Server,
    (status, body): (u16, Value),
    code: &str,
    key: &str,
) {
    assert_eq!((status, body["code"].as_str()), (401, Some(code)), "{body}");
    assert!(body["message"].is_string(), "{body}");
    let (status, body) = request_challenge(http, server, key);
    assert_eq!(status, 201, "the victim's key was replaced: {body}");
}

/// The account takeover of the hardening review: a token the victim sent to the CA
/// (audience `sigstore`, what every sigstore client sends to a Fulcio) rotated the
/// victim's key. Registry tokens are the registry's own.
#[test]
fn a_token_minted_for_the_ca_takes_over_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), None);
    let http = client();
    let key = account(&http, &server, "victim@example.com", "victim");
    let ca_token = dev_token(&http, &server, "victim@example.com");
    let stolen = rotate_with_token(&http, &server, &ca_token);
    assert_token_refused(&http, &server, stolen, "invalid_token", &key);
    let (status, body) = register(&http, &server, &ca_token, "someone");
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("audience"),
        "{body}"
    );
}

/// A registry token works once: whoever saw it in transit cannot use it again, to
/// rotate the key it rotated or the key of the account it registered.
#[test]
fn a_replayed_registry_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), None);
    let http = client();
    account(&http, &server, "victim@example.com", "victim");
    let token = registry_token(&http, &server, "victim@example.com");
    let (status, body) = rotate_with_token(&http, &server, &token);
    assert_eq!(status, 200, "{body}");
    let key = body["api_key"].as_str().unwrap().to_owned();
    let replay = rotate_with_token(&http, &server, &token);
    assert_token_refused(&http, &server, replay, "token_used", &key);

    let newcomer = registry_token(&http, &server, "newcomer@example.com");
    let (status, body) = register(&http, &server, &newcomer, "newcomer");
    assert_eq!(status, 201, "{body}");
    let newcomer_key = body["api_key"].as_str().unwrap().to_owned();
    let replay = rotate_with_token(&http, &server, &newcomer);
    assert_token_refused(&http, &server, replay, "token_used", &newcomer_key);
}

/// A token older than `token_max_age` (2 s here), though unexpired, is refused.
#[test]
fn a_stale_registry_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), Some("[registry]\ntoken_max_age = \"2s\"\n"));
    let http = client();
    let key = account(&http, &server, "victim@example.com", "victim");
    let aging = registry_token(&http, &server, "victim@example.com");
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let stale = rotate_with_token(&http, &server, &aging);
    assert_token_refused(&http, &server, stale, "token_too_old", &key);
}

/// Search is unauthenticated and scans: paging stops at a fixed depth, with a 400.
#[test]
fn search_pages_stop_at_a_fixed_depth() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), None);
    let http = client();
    let (status, body) = get(&http, &server, "/api/v1/search?q=a&per_page=200&page=50");
    assert_eq!(status, 200, "the last page within the depth: {body}");
    for deep in [
        "/api/v1/search?q=a&per_page=200&page=51",
        "/api/v1/search?q=a&per_page=1&page=10001",
        "/api/v1/search?q=a&per_page=200&page=1000000",
    ] {
        let (status, body) = get(&http, &server, deep);
        assert_eq!(status, 400, "{deep}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("10000"),
            "{deep}: {body}"
        );
    }
}

/// An account holds a bounded number of open challenges (429 beyond it), and an
/// answered one frees its place.
#[test]
fn open_challenges_are_capped_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path(), None);
    let http = client();
    let key = account(&http, &server, "greedy@example.com", "greedy");
    let other = account(&http, &server, "other@example.com", "other");
    let mut open = Vec::new();
    for _ in 0..registry::service::MAX_OPEN_CHALLENGES {
        open.push(challenge(&http, &server, &key));
    }
    let (status, body) = request_challenge(&http, &server, &key);
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_challenges")),
        "{body}"
    );
    challenge(&http, &server, &other);
    let fixture = openssl_cert(dir.path(), "greedy", P256, CODE_SIGNING);
    let (id, nonce) = &open[0];
    let cms = cms_sign(dir.path(), nonce, &fixture, &[]);
    let (status, body) = push(&http, &server, &key, id, &cms);
    assert_eq!(status, 201, "{body}");
    challenge(&http, &server, &key);
}
