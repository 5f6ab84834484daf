//! `ccc keygen`: a signing key for certificate requests, written as PKCS#8 PEM that
//! only its owner can read; the public key goes to stdout for the request.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384};

/// Arguments of `ccc keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600); never overwritten.
    #[arg(long, short = 'o', default_value = "./ccc-key.pem")]
    pub out: PathBuf,
    /// Key type.
    #[arg(long, value_enum, default_value_t = Algorithm::P256)]
    pub algorithm: Algorithm,
}

/// Key types the CA accepts for code signing and that sigstore clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    /// ECDSA P-256 (the sigstore default).
    P256,
    /// ECDSA P-384.
    P384,
    /// Ed25519.
    Ed25519,
}

/// Generates the key, writes it to `args.out` and returns the public key PEM.
pub fn run(args: &KeygenArgs) -> anyhow::Result<String> {
    let key = generate(args.algorithm)?;
    write_key(&args.out, &key)?;
    Ok(key.public_key_pem())
}

/// A fresh key of type `algorithm`, in the PKCS#8 form [`write_key`] stores.
pub fn generate(algorithm: Algorithm) -> anyhow::Result<KeyPair> {
    match algorithm {
        Algorithm::P256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        Algorithm::P384 => KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384),
        Algorithm::Ed25519 => ed25519_pkcs8_v1(),
    }
    .context("generating the key")
}

/// Ed25519 as PKCS#8 v1 (RFC 8410 without the optional public key): the v2 form
/// aws-lc writes by default is refused by OpenSSL 3.0 and the tools built on it.
fn ed25519_pkcs8_v1() -> Result<KeyPair, rcgen::Error> {
    let key = aws_lc_rs::signature::Ed25519KeyPair::generate()
        .map_err(|_| rcgen::Error::RingUnspecified)?;
    let der = key
        .to_pkcs8v1()
        .map_err(|_| rcgen::Error::RingUnspecified)?;
    KeyPair::try_from(der.as_ref())
}

/// Writes `key` as PKCS#8 PEM to a new file at `path` readable by its owner only; an
/// existing file is an error, never replaced (it may be the only copy of a key that
/// certificates were issued for).
pub fn write_key(path: &Path, key: &KeyPair) -> anyhow::Result<()> {
    let pem = zeroize::Zeroizing::new(key.serialize_pem());
    keyfile::create_new(path, pem.as_bytes())
        .with_context(|| format!("writing the private key to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssl(args: &[&str]) -> String {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl must be installed (see .ci/run)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn writes_an_owner_only_pkcs8_key_that_openssl_reads() {
        let dir = tempfile::tempdir().unwrap();
        for (algorithm, openssl_says) in [
            (Algorithm::P256, "prime256v1"),
            (Algorithm::P384, "secp384r1"),
            (Algorithm::Ed25519, "ED25519"),
        ] {
            let out = dir.path().join(format!("{algorithm:?}.pem"));
            let public = run(&KeygenArgs {
                out: out.clone(),
                algorithm,
            })
            .unwrap();
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
            let path = out.to_str().unwrap();
            let described = openssl(&["pkey", "-in", path, "-noout", "-text"]);
            assert!(described.contains(openssl_says), "{described}");
            // The public key printed is the one openssl derives from the file.
            assert_eq!(openssl(&["pkey", "-in", path, "-pubout"]), public);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&out).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
    }

    #[test]
    fn never_overwrites_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.pem");
        std::fs::write(&out, "precious").unwrap();
        let err = run(&KeygenArgs {
            out: out.clone(),
            algorithm: Algorithm::P256,
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("writing the private key"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
    }
}
