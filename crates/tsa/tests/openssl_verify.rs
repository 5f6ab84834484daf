//! OpenSSL, an independent RFC 3161 implementation, verifies our tokens: the request is
//! made by `openssl ts -query`, the reply checked by `openssl ts -verify` against the
//! generated root, with the TSA certificate from the token or given as untrusted.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::SystemTime;

use ca::cert::RandomSerials;
use clock::SystemClock;
use tsa::{EphemeralTsa, TimeStampAuthority, TsaSettings};

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (see .ci/run)")
}

fn pem(der: &[u8]) -> String {
    ca::http::pem(der)
}

#[test]
fn openssl_ts_verify_accepts_our_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let dev = EphemeralTsa::generate(SystemTime::now()).unwrap();
    std::fs::write(dir.path().join("root.pem"), pem(&dev.chain[1])).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), pem(&dev.chain[0])).unwrap();
    std::fs::write(dir.path().join("data"), b"artifact bytes").unwrap();
    let tsa = TimeStampAuthority::new(
        dev.signer,
        dev.chain,
        TsaSettings::default(),
        Arc::new(SystemClock),
        Arc::new(RandomSerials),
    )
    .unwrap();
    for (digest, cert) in [("-sha256", true), ("-sha384", false), ("-sha512", true)] {
        let mut query = vec!["ts", "-query", "-data", "data", digest, "-out", "q.tsq"];
        if cert {
            query.push("-cert");
        }
        let out = openssl(&query, dir.path());
        assert!(out.status.success(), "{out:?}");
        let request = std::fs::read(dir.path().join("q.tsq")).unwrap();
        std::fs::write(dir.path().join("r.tsr"), tsa.respond_der(&request).unwrap()).unwrap();
        let mut verify = vec![
            "ts",
            "-verify",
            "-CAfile",
            "root.pem",
            "-queryfile",
            "q.tsq",
            "-in",
            "r.tsr",
        ];
        if !cert {
            verify.extend(["-untrusted", "leaf.pem"]);
        }
        let out = openssl(&verify, dir.path());
        assert!(
            out.status.success(),
            "{digest} cert={cert}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
