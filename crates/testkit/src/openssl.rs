//! Fixtures made by the OpenSSL CLI: an independent implementation produces the
//! certificates and CMS messages our parsers must accept.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cmd`, failing the test with its stderr when it does not succeed.
pub fn run(cmd: &mut Command) {
    let output = cmd
        .output()
        .expect("openssl must be installed (see .ci/run)");
    assert!(
        output.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A self-signed certificate and its key, as files, plus the certificate DER.
pub struct SelfSigned {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
}

/// `openssl req -x509 -nodes -days <days>` with `subject`, `key_args` (e.g. `-newkey
/// rsa:2048`) and `extra` (e.g. `-addext …`); files `<name>.pem`/`.key`/`.der` in `dir`.
pub fn self_signed(
    dir: &Path,
    name: &str,
    subject: &str,
    days: u32,
    key_args: &[&str],
    extra: &[&str],
) -> SelfSigned {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", &days.to_string()])
        .args(key_args)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", subject])
        .args(extra));
    let der = dir.join(format!("{name}.der"));
    run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(&der));
    SelfSigned {
        cert,
        key,
        der: std::fs::read(der).unwrap(),
    }
}

/// `openssl cms -sign -binary -outform DER` over `content` by `signer`, with `extra`
/// flags (`-nodetach`, `-noattr`, …); returns the DER.
pub fn cms_sign(dir: &Path, content: &[u8], signer: &SelfSigned, extra: &[&str]) -> Vec<u8> {
    let input = dir.join("content.bin");
    let output = dir.join("signed.der");
    std::fs::write(&input, content).unwrap();
    run(Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-in"])
        .arg(&input)
        .arg("-signer")
        .arg(&signer.cert)
        .arg("-inkey")
        .arg(&signer.key)
        .args(extra)
        .arg("-out")
        .arg(&output));
    std::fs::read(output).unwrap()
}
