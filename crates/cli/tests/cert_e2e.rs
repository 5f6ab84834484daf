//! `ccc cert request` against the real `certcentral serve --dev`:
//! proof-of-possession and CSR modes, key handling, and the server's refusals shown to
//! the user.

use std::path::Path;
use std::process::{Command, Output};

use testkit::dev_server::{Server, certcentral};

fn ccc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccc"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn leaf_text(chain: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(chain)
        .output()
        .expect("openssl CLI (see .ci/run)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A dev token for `email`, as the server's dev issuer mints it.
fn dev_token(server: &Server, email: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/dev/oidc/token", server.base))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["id_token"].as_str().unwrap().to_owned()
    })
}

#[test]
fn cert_request_with_a_new_key_then_the_same_key() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, None);
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain.pem");
    let args = [
        "cert",
        "request",
        "--url",
        &server.base,
        "--dev-email",
        "alice@example.com",
        "-o",
        chain.to_str().unwrap(),
    ];
    let out = ccc(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        // `--dev`: one SCT, from dev-a, as sigstore clients require.
        stderr(&out).contains("SCTs       1 embedded"),
        "{}",
        stderr(&out)
    );
    let text = leaf_text(&chain);
    assert!(text.contains("email:alice@example.com"), "{text}");
    assert!(text.contains("Code Signing"), "{text}");
    let key = dir.path().join("chain.pem.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The leaf certifies the generated key.
    let leaf_key = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(&chain)
        .output()
        .unwrap();
    let our_key = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(leaf_key.stdout, our_key.stdout);

    // A rerun never replaces the generated key; with --key it reuses it.
    let again = ccc(&args);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let mut with_key = args.to_vec();
    with_key.extend(["--key", key.to_str().unwrap()]);
    let out = ccc(&with_key);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn cert_request_with_a_csr_an_ed25519_key_and_a_token_file() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, None);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ed.pem");
    let out = ccc(&[
        "keygen",
        "--algorithm",
        "ed25519",
        "-o",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = dir.path().join("token.jwt");
    std::fs::write(
        &token,
        format!("{}\n", dev_token(&server, "bob@example.com")),
    )
    .unwrap();
    let chain = dir.path().join("bob.pem");
    let out = ccc(&[
        "cert",
        "request",
        "--url",
        &server.base,
        "--token",
        token.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--csr",
        "-o",
        chain.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = leaf_text(&chain);
    assert!(text.contains("email:bob@example.com"), "{text}");
    assert!(text.contains("ED25519"), "{text}");
}

#[test]
fn cert_request_shows_the_servers_refusal_and_writes_nothing() {
    let Some(bin) = certcentral() else { return };
    let server = Server::start(&bin, None);
    let dir = tempfile::tempdir().unwrap();
    // A dev token with its signature's last character changed.
    let mut token = dev_token(&server, "carol@example.com");
    let last = token.pop().unwrap();
    token.push(if last == 'A' { 'B' } else { 'A' });
    let token_file = dir.path().join("token.jwt");
    std::fs::write(&token_file, token).unwrap();
    let chain = dir.path().join("carol.pem");
    let out = ccc(&[
        "cert",
        "request",
        "--url",
        &server.base,
        "--token",
        token_file.to_str().unwrap(),
        "-o",
        chain.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("HTTP 401") && err.contains("signature"),
        "{err}"
    );
    assert!(!chain.exists());
}
