//! Where the CA's signing key lives: in memory ([`EcdsaCaSigner`], loaded from an
//! encrypted PKCS#8 file by [`load_encrypted_pkcs8_pem`]) or in an HSM reached through
//! PKCS#11 ([`Pkcs11CaSigner`]). Both implement [`CaSigner`](crate::cert::CaSigner), so
//! certificate building does not know which one signs.
//!
//! Accepted keys: ECDSA on P-256 signing with ecdsa-with-SHA256, and ECDSA on P-384
//! signing with ecdsa-with-SHA384 (RFC 5758 §3.2; the hash matches the curve's strength,
//! as the CA/Browser Forum baseline requirements §7.1.3.2 also ask).
//!
//! Secrets: the file password and the PKCS#11 PIN are used once and never stored,
//! logged or put into an error message; decrypted PKCS#8 bytes are zeroized when
//! dropped (`der::SecretDocument`), and the private key then lives only inside aws-lc,
//! which cleanses it on free.
//!
//! One module per backend (`ephemeral`: a key in memory; `file`: an encrypted PKCS#8
//! file; `pkcs11`: an HSM) and `asn1` for the two ASN.1 structures the PKCS#11 backend
//! has to build itself.

use std::fmt;
use std::path::PathBuf;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use thiserror::Error;

use const_oid::db::rfc5912;

mod asn1;
mod ephemeral;
mod file;
mod pkcs11;

pub use ephemeral::EcdsaCaSigner;
pub use file::load_encrypted_pkcs8_pem;
pub use pkcs11::Pkcs11CaSigner;

/// Errors of loading or using a CA signing key. Messages are meant for the operator
/// starting the CA: they say what was expected and how to fix it, and never contain a
/// password, a PIN or key bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignerError {
    /// The key file is not PEM at all.
    #[error("CA key file is not a PEM document ({0}); expected an \"ENCRYPTED PRIVATE KEY\" PEM")]
    NotPem(String),
    /// The key file holds a private key in the clear.
    #[error(
        "CA key file holds an unencrypted private key (PEM \"{label}\"); refusing to load it. \
         Encrypt it first: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key.enc.pem`"
    )]
    Unencrypted {
        /// The PEM label found.
        label: String,
    },
    /// The key file holds some other PEM document.
    #[error(
        "CA key file holds PEM \"{label}\", expected \"ENCRYPTED PRIVATE KEY\" \
         (PKCS#8, as written by `openssl pkcs8 -topk8 -v2 aes-256-cbc`)"
    )]
    UnexpectedPem {
        /// The PEM label found.
        label: String,
    },
    /// The key is encrypted with a scheme this build cannot decrypt.
    #[error(
        "CA key file: unsupported key encryption ({0}); accepted: PBES2 with PBKDF2 \
         (HMAC-SHA-256/384/512) or scrypt, and AES-128/192/256-CBC, as written by \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc` or `openssl pkcs8 -topk8 -scrypt`"
    )]
    UnsupportedEncryption(String),
    /// Decryption failed: the password is wrong or the file was damaged (PBES2 cannot
    /// tell the two apart).
    #[error("CA key file: wrong password or corrupt key")]
    WrongPassword,
    /// The key is not one the CA signs with.
    #[error(
        "unsupported CA key type: {0}; accepted: ECDSA on P-256 (prime256v1) or P-384 (secp384r1)"
    )]
    UnsupportedKey(String),
    /// The key has an accepted type but its bytes are refused.
    #[error("CA key rejected: {0}")]
    InvalidKey(String),
    /// The PKCS#11 module cannot be loaded or initialised.
    #[error("PKCS#11 module {}: {reason}", module.display())]
    Module {
        /// The module path given.
        module: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No token carries the label asked for.
    #[error("PKCS#11: no token labelled \"{label}\" (tokens present: {present})")]
    TokenNotFound {
        /// The label asked for.
        label: String,
        /// Labels of the tokens that are present, for the operator to compare.
        present: String,
    },
    /// The user PIN was refused.
    #[error("PKCS#11 token \"{token}\": user login failed: wrong PIN")]
    WrongPin {
        /// The token label.
        token: String,
    },
    /// The user PIN is locked after too many failures.
    #[error("PKCS#11 token \"{token}\": user login failed: the user PIN is locked")]
    PinLocked {
        /// The token label.
        token: String,
    },
    /// No key object carries the label asked for.
    #[error("PKCS#11 token \"{token}\": no {class} labelled \"{label}\"")]
    KeyNotFound {
        /// The token label.
        token: String,
        /// The key label asked for.
        label: String,
        /// "private key" or "public key".
        class: &'static str,
    },
    /// Several key objects carry the label, so which one signs would be a guess.
    #[error(
        "PKCS#11 token \"{token}\": {count} {class} objects labelled \"{label}\"; \
         the label must name exactly one"
    )]
    AmbiguousKey {
        /// The token label.
        token: String,
        /// The key label asked for.
        label: String,
        /// "private key" or "public key".
        class: &'static str,
        /// How many were found.
        count: usize,
    },
    /// The private key's test signature does not verify with the public key of the same
    /// label: the two objects are not a pair.
    #[error(
        "PKCS#11 token \"{token}\": the private key labelled \"{label}\" does not match \
         the public key labelled alike (start-up test signature did not verify)"
    )]
    KeyPairMismatch {
        /// The token label.
        token: String,
        /// The key label.
        label: String,
    },
    /// Any other PKCS#11 failure, with the call that failed.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// The curves the CA signs on, each with the hash RFC 5758 §3.2 pairs it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    /// NIST P-256 (secp256r1, prime256v1), signing with ecdsa-with-SHA256.
    P256,
    /// NIST P-384 (secp384r1), signing with ecdsa-with-SHA384.
    P384,
}

impl EcCurve {
    /// The namedCurve OID (RFC 5480 §2.1.1.1).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::P256 => rfc5912::SECP_256_R_1,
            Self::P384 => rfc5912::SECP_384_R_1,
        }
    }

    /// The curve named by a namedCurve OID, if the CA accepts it.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        [Self::P256, Self::P384]
            .into_iter()
            .find(|c| c.oid() == oid)
    }

    /// The certificate signature algorithm: ecdsa-with-SHA256 or ecdsa-with-SHA384, with
    /// the parameters field absent as RFC 5758 §3.2 requires.
    pub fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Self::P256 => rfc5912::ECDSA_WITH_SHA_256,
            Self::P384 => rfc5912::ECDSA_WITH_SHA_384,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    /// The name operators know it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }

    /// Length of a field element (and of r and s) in bytes.
    fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::P256 => &digest::SHA256,
            Self::P384 => &digest::SHA384,
        }
    }

    /// aws-lc signing with DER (`ECDSA-Sig-Value`) output, the encoding X.509 carries.
    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    fn verification(self) -> &'static EcdsaVerificationAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::P384 => &signature::ECDSA_P384_SHA384_ASN1,
        }
    }
}

impl fmt::Display for EcCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_algorithm_parameters_are_absent_rfc5758() {
        for curve in [EcCurve::P256, EcCurve::P384] {
            assert!(curve.signature_algorithm().parameters.is_none());
        }
        assert_eq!(
            EcCurve::P384.signature_algorithm().oid,
            rfc5912::ECDSA_WITH_SHA_384
        );
    }
}
