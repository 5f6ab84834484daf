//! The `file` backend: a CA key at rest in an encrypted PKCS#8 PEM file, decrypted once
//! at start-up into an in-memory signer.

use der::Decode;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};

use super::{EcdsaCaSigner, SignerError};

/// PEM label of an encrypted PKCS#8 key (RFC 7468 §11).
const ENCRYPTED_PRIVATE_KEY: &str = "ENCRYPTED PRIVATE KEY";

/// The `file` backend: loads a CA key from an `ENCRYPTED PRIVATE KEY` PEM (PKCS#8
/// `EncryptedPrivateKeyInfo`, RFC 5208 §6 / RFC 7468 §11) encrypted with PBES2 (RFC
/// 8018 §6.2) using PBKDF2 or scrypt (RFC 7914) and AES-CBC, which is what
/// `openssl genpkey … -aes-256-cbc` and `openssl pkcs8 -topk8 -v2 aes-256-cbc` (or
/// `-scrypt`) write.
///
/// Unencrypted keys are refused rather than accepted with a warning: a CA key readable by
/// anyone who can read the file is the failure this backend exists to prevent.
pub fn load_encrypted_pkcs8_pem(pem: &str, password: &[u8]) -> Result<EcdsaCaSigner, SignerError> {
    let (label, der) = der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| {
        // Traditional OpenSSL keys ("EC PRIVATE KEY", encrypted ones with `Proc-Type`
        // headers) fail to decode here; name them so the fix is obvious.
        match pem_label(pem) {
            Some(_) if pem.contains("Proc-Type: 4,ENCRYPTED") => {
                SignerError::UnsupportedEncryption("legacy OpenSSL PEM encryption".into())
            }
            Some(label) => not_encrypted_pkcs8(label),
            None => SignerError::NotPem(e.to_string()),
        }
    })?;
    if label != ENCRYPTED_PRIVATE_KEY {
        return Err(not_encrypted_pkcs8(label));
    }
    let encrypted = EncryptedPrivateKeyInfoRef::from_der(&der).map_err(|e| {
        SignerError::InvalidKey(format!("not a PKCS#8 EncryptedPrivateKeyInfo: {e}"))
    })?;
    // `SecretDocument` zeroizes the plaintext PKCS#8 when dropped, on every path below.
    let plaintext = encrypted.decrypt(password).map_err(decrypt_error)?;
    // A wrong password that happens to leave valid CBC padding (about 1 in 256) yields
    // bytes that are not a PrivateKeyInfo; say so in the operator's terms.
    if PrivateKeyInfoRef::from_der(plaintext.as_bytes()).is_err() {
        return Err(SignerError::WrongPassword);
    }
    EcdsaCaSigner::from_pkcs8_der(plaintext.as_bytes())
}

/// The label of the first PEM boundary line in `pem`, if there is one.
fn pem_label(pem: &str) -> Option<&str> {
    let rest = &pem[pem.find("-----BEGIN ")? + "-----BEGIN ".len()..];
    Some(&rest[..rest.find("-----")?])
}

fn not_encrypted_pkcs8(label: &str) -> SignerError {
    let label = label.to_string();
    match label.as_str() {
        "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" => SignerError::Unencrypted { label },
        _ => SignerError::UnexpectedPem { label },
    }
}

fn decrypt_error(e: pkcs8::Error) -> SignerError {
    match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            SignerError::UnsupportedEncryption(format!("algorithm {oid}"))
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
            SignerError::UnsupportedEncryption("legacy PBES1".into())
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::AlgorithmParametersInvalid {
            oid,
        }) => SignerError::UnsupportedEncryption(format!("parameters of {oid}")),
        // Bad padding after decryption, or plaintext that is not DER: PBES2 has no
        // integrity check, so a wrong password and a damaged file look the same.
        _ => SignerError::WrongPassword,
    }
}
