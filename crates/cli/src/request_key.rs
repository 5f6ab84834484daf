//! The key a certificate is requested for, and the two ways Fulcio accepts proof that
//! the requester holds it: a signature over the token's `sub` claim, or a PKCS#10 CSR
//! self-signed by the key.

use std::path::Path;

use anyhow::{Context, bail};
use rcgen::{
    CertificateParams, DistinguishedName, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
    PKCS_ED25519, PublicKeyData, SigningKey,
};

use crate::keygen::Algorithm;

/// A private key of a type the CA issues for (P-256, P-384 or Ed25519).
pub struct RequestKey {
    key: KeyPair,
    algorithm: Algorithm,
}

impl RequestKey {
    /// Wraps `key`, refusing types the CA does not issue for (RSA, post-quantum).
    pub fn new(key: KeyPair) -> anyhow::Result<Self> {
        let alg = key.algorithm();
        let algorithm = if alg == &PKCS_ECDSA_P256_SHA256 {
            Algorithm::P256
        } else if alg == &PKCS_ECDSA_P384_SHA384 {
            Algorithm::P384
        } else if alg == &PKCS_ED25519 {
            Algorithm::Ed25519
        } else {
            bail!("unsupported key type {alg:?}: use P-256, P-384 or Ed25519 (`ccc keygen`)");
        };
        Ok(Self { key, algorithm })
    }

    /// Reads a PKCS#8 PEM private key, as `ccc keygen` writes it.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the private key {}", path.display()))?,
        );
        let key = KeyPair::from_pem(&pem)
            .with_context(|| format!("parsing the private key {}", path.display()))?;
        Self::new(key).with_context(|| format!("using {}", path.display()))
    }

    /// The key type, as people write it.
    pub fn type_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::P256 => "P-256",
            Algorithm::P384 => "P-384",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// The underlying key pair (to store it).
    pub fn key_pair(&self) -> &KeyPair {
        &self.key
    }

    /// SubjectPublicKeyInfo DER, to match the issued leaf against.
    pub fn spki_der(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }

    /// SubjectPublicKeyInfo PEM, as Fulcio's `publicKey.content` wants it.
    pub fn public_key_pem(&self) -> String {
        self.key.public_key_pem()
    }

    /// Fulcio's `PublicKeyAlgorithm` name for this key.
    pub fn fulcio_algorithm(&self) -> &'static str {
        match self.algorithm {
            Algorithm::P256 | Algorithm::P384 => "ECDSA",
            Algorithm::Ed25519 => "ED25519",
        }
    }

    /// Fulcio's proof of possession: a signature over the bytes of the token's `sub`
    /// claim — DER `ECDSA-Sig-Value` with SHA-256 (P-256) or SHA-384 (P-384), or the raw
    /// 64-byte Ed25519 signature. Binding the proof to `sub` stops a key being
    /// registered for an identity its holder never asked to sign for.
    pub fn proof_of_possession(&self, sub: &str) -> anyhow::Result<Vec<u8>> {
        self.key
            .sign(sub.as_bytes())
            .context("signing the proof of possession")
    }

    /// A PKCS#10 CSR (RFC 2986) for this key, self-signed by it, PEM. The subject is
    /// empty: the CA takes the identity from the token, never from the CSR, and only
    /// the self-signature (the proof of possession) matters.
    pub fn csr_pem(&self) -> anyhow::Result<String> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .serialize_request(&self.key)
            .and_then(|csr| csr.pem())
            .context("building the certificate signing request")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ED25519, UnparsedPublicKey,
        VerificationAlgorithm,
    };
    use der::{DecodePem, Encode};

    fn keys() -> Vec<(RequestKey, &'static dyn VerificationAlgorithm)> {
        [
            (
                Algorithm::P256,
                &ECDSA_P256_SHA256_ASN1 as &dyn VerificationAlgorithm,
            ),
            (Algorithm::P384, &ECDSA_P384_SHA384_ASN1),
            (Algorithm::Ed25519, &ED25519),
        ]
        .into_iter()
        .map(|(a, v)| {
            (
                RequestKey::new(crate::keygen::generate(a).unwrap()).unwrap(),
                v,
            )
        })
        .collect()
    }

    #[test]
    fn proof_of_possession_verifies_over_the_sub_bytes() {
        for (key, verification) in keys() {
            let sig = key.proof_of_possession("alice@example.com").unwrap();
            let public = UnparsedPublicKey::new(verification, key.key_pair().public_key_raw());
            public
                .verify(b"alice@example.com", &sig)
                .unwrap_or_else(|_| panic!("{:?} proof does not verify", key.algorithm));
            assert!(
                public.verify(b"mallory@example.com", &sig).is_err(),
                "a proof must not verify for another subject"
            );
            if key.algorithm == Algorithm::Ed25519 {
                assert_eq!(sig.len(), 64, "Ed25519 proofs are raw 64-byte signatures");
            } else {
                assert_eq!(sig[0], 0x30, "ECDSA proofs are DER ECDSA-Sig-Value");
            }
        }
    }

    #[test]
    fn fulcio_algorithm_names() {
        let names: Vec<_> = keys().iter().map(|(k, _)| k.fulcio_algorithm()).collect();
        assert_eq!(names, ["ECDSA", "ECDSA", "ED25519"]);
    }

    #[test]
    fn csr_self_signature_verifies_with_x509_cert_and_openssl() {
        let dir = tempfile::tempdir().unwrap();
        for (key, verification) in keys() {
            let pem = key.csr_pem().unwrap();
            let csr = x509_cert::request::CertReq::from_pem(pem.as_bytes()).unwrap();
            assert_eq!(csr.info.public_key.to_der().unwrap(), key.spki_der());
            let signed = csr.info.to_der().unwrap();
            let public = UnparsedPublicKey::new(
                verification,
                csr.info.public_key.subject_public_key.raw_bytes(),
            );
            public
                .verify(&signed, csr.signature.raw_bytes())
                .unwrap_or_else(|_| panic!("{:?} CSR signature invalid", key.algorithm));

            let path = dir.path().join(format!("{:?}.csr", key.algorithm));
            std::fs::write(&path, &pem).unwrap();
            let out = std::process::Command::new("openssl")
                .args(["req", "-verify", "-noout", "-in"])
                .arg(&path)
                .output()
                .expect("openssl must be installed (see .ci/run)");
            let said = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{:?}: {said}", key.algorithm);
            assert!(said.contains("verify OK"), "{said}");
        }
    }

    #[test]
    fn loads_keygen_output_and_refuses_rsa() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        crate::keygen::run(&crate::keygen::KeygenArgs {
            out: path.clone(),
            algorithm: Algorithm::P384,
        })
        .unwrap();
        assert_eq!(RequestKey::load(&path).unwrap().algorithm, Algorithm::P384);

        let rsa = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256);
        // Some builds cannot generate RSA keys through rcgen; the check is then moot.
        if let Ok(rsa) = rsa {
            let err = RequestKey::new(rsa).err().unwrap();
            assert!(err.to_string().contains("unsupported key type"), "{err}");
        }
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a key").unwrap();
        assert!(RequestKey::load(&garbage).is_err());
    }
}
