//! Where the CA's signing key lives: in memory ([`EcdsaCaSigner`], loaded from an
//! encrypted PKCS#8 file by [`load_encrypted_pkcs8_pem`]) or in an HSM reached through
//! PKCS#11 ([`Pkcs11CaSigner`]). Both implement [`CaSigner`], so certificate building
//! does not know which one signs.
//!
//! Accepted keys: ECDSA on P-256 signing with ecdsa-with-SHA256, and ECDSA on P-384
//! signing with ecdsa-with-SHA384 (RFC 5758 §3.2; the hash matches the curve's strength,
//! as the CA/Browser Forum baseline requirements §7.1.3.2 also ask).
//!
//! Secrets: the file password and the PKCS#11 PIN are used once and never stored,
//! logged or put into an error message; decrypted PKCS#8 bytes are zeroized when
//! dropped (`der::SecretDocument`), and the private key then lives only inside aws-lc,
//! which cleanses it on free.

use const_oid::db::{rfc5912, rfc8410};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair,
    UnparsedPublicKey,
};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::{AnyRef, BitStringRef, OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, ObjectIdentifier};
use thiserror::Error;

use crate::cert::{CaSigner, CertError};

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

/// Names a key algorithm for an error message: what the operator handed us instead of
/// an accepted ECDSA key.
fn describe_key_algorithm(algorithm: &AlgorithmIdentifierRef<'_>) -> String {
    match algorithm.oid {
        rfc5912::ID_EC_PUBLIC_KEY => match algorithm.parameters_oid() {
            Ok(curve) => format!("ECDSA on curve {curve}"),
            Err(_) => "ECDSA with explicit or missing curve parameters".to_string(),
        },
        rfc5912::RSA_ENCRYPTION | rfc5912::ID_RSASSA_PSS => "RSA".to_string(),
        rfc8410::ID_ED_25519 => "Ed25519".to_string(),
        other => format!("key algorithm {other}"),
    }
}

/// [`CaSigner`] over an in-memory ECDSA key (P-256 or P-384), signing with aws-lc.
pub struct EcdsaCaSigner {
    curve: EcCurve,
    key: EcdsaKeyPair,
    spki: Vec<u8>,
    rng: SystemRandom,
}

impl EcdsaCaSigner {
    /// Generates a fresh key on `curve` (tests, throw-away CAs).
    pub fn generate(curve: EcCurve) -> Result<Self, SignerError> {
        let key = EcdsaKeyPair::generate(curve.signing())
            .map_err(|_| SignerError::InvalidKey("key generation failed".into()))?;
        Self::from_key_pair(curve, key)
    }

    /// Loads an unencrypted PKCS#8 `PrivateKeyInfo` (DER). The file backend calls this
    /// after decryption; keys at rest should go through [`load_encrypted_pkcs8_pem`].
    pub fn from_pkcs8_der(pkcs8_der: &[u8]) -> Result<Self, SignerError> {
        let info = PrivateKeyInfoRef::from_der(pkcs8_der)
            .map_err(|e| SignerError::InvalidKey(format!("not a PKCS#8 PrivateKeyInfo: {e}")))?;
        let curve = match (info.algorithm.oid, info.algorithm.parameters_oid()) {
            (rfc5912::ID_EC_PUBLIC_KEY, Ok(curve)) => EcCurve::from_oid(curve),
            _ => None,
        }
        .ok_or_else(|| SignerError::UnsupportedKey(describe_key_algorithm(&info.algorithm)))?;
        let key = EcdsaKeyPair::from_pkcs8(curve.signing(), pkcs8_der)
            .map_err(|e| SignerError::InvalidKey(format!("{curve} private key: {e}")))?;
        Self::from_key_pair(curve, key)
    }

    fn from_key_pair(curve: EcCurve, key: EcdsaKeyPair) -> Result<Self, SignerError> {
        let spki: PublicKeyX509Der<'static> = key
            .public_key()
            .as_der()
            .map_err(|e| SignerError::InvalidKey(format!("public key encoding: {e}")))?;
        Ok(Self {
            curve,
            key,
            spki: spki.as_ref().to_vec(),
            rng: SystemRandom::new(),
        })
    }

    /// The key's curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }
}

impl fmt::Debug for EcdsaCaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaCaSigner")
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

impl CaSigner for EcdsaCaSigner {
    fn algorithm(&self) -> AlgorithmIdentifierOwned {
        self.curve.signature_algorithm()
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, CertError> {
        self.key
            .sign(&self.rng, tbs_der)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| CertError::Sign(format!("ECDSA {} signing failed", self.curve)))
    }

    fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }
}

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

/// RFC 3279 §2.2.3 `Ecdsa-Sig-Value`, the X.509 encoding of an ECDSA signature.
///
/// ```text
/// Ecdsa-Sig-Value  ::=  SEQUENCE  {
///      r     INTEGER,
///      s     INTEGER  }
/// ```
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Converts a PKCS#11 `CKM_ECDSA` signature (r ‖ s, each as long as the field, PKCS#11
/// v2.40 §2.3.1) into DER.
fn raw_ecdsa_to_der(curve: EcCurve, raw: &[u8]) -> Result<Vec<u8>, SignerError> {
    let n = curve.field_len();
    if raw.len() != 2 * n {
        return Err(SignerError::Sign(format!(
            "{curve} CKM_ECDSA signature is {} bytes, expected {}",
            raw.len(),
            2 * n
        )));
    }
    let (r, s) = raw.split_at(n);
    let der_err = |e: der::Error| SignerError::Sign(format!("encoding ECDSA-Sig-Value: {e}"));
    EcdsaSigValue {
        r: UintRef::new(r).map_err(der_err)?,
        s: UintRef::new(s).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}

/// RFC 5480 §2 `SubjectPublicKeyInfo` for an EC key, with the point as raw bytes.
///
/// ```text
/// SubjectPublicKeyInfo  ::=  SEQUENCE  {
///   algorithm         AlgorithmIdentifier,   -- id-ecPublicKey, namedCurve
///   subjectPublicKey  BIT STRING  }          -- ECPoint, uncompressed
/// ```
fn ec_spki_der(curve: EcCurve, point: &[u8]) -> Result<Vec<u8>, SignerError> {
    let curve_oid = curve.oid();
    let spki = spki::SubjectPublicKeyInfo::<AnyRef<'_>, BitStringRef<'_>> {
        algorithm: AlgorithmIdentifierRef {
            oid: rfc5912::ID_EC_PUBLIC_KEY,
            parameters: Some(AnyRef::from(&curve_oid)),
        },
        subject_public_key: BitStringRef::from_bytes(point)
            .map_err(|e| SignerError::InvalidKey(format!("EC point: {e}")))?,
    };
    spki.to_der()
        .map_err(|e| SignerError::InvalidKey(format!("SubjectPublicKeyInfo: {e}")))
}

/// Describes a cryptoki error by the PKCS#11 call and return value
/// (e.g. "C_Login returned PinIncorrect"), shorter than the spec prose cryptoki prints.
fn describe(e: &Pkcs11Error) -> String {
    match e {
        Pkcs11Error::Pkcs11(rv, function) => format!("C_{function:?} returned {rv:?}"),
        other => other.to_string(),
    }
}

/// Modules initialised by this process, by canonical path.
///
/// Why a registry: `C_Initialize` and `C_Finalize` act on the whole process (PKCS#11
/// v2.40 §5.4), so two signers on one module must share one initialisation, and the
/// module is never finalised: finalising it for one signer would invalidate the
/// sessions of every other.
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

fn module_context(module: &Path) -> Result<Pkcs11, SignerError> {
    let module_err = |reason: String| SignerError::Module {
        module: module.to_path_buf(),
        reason,
    };
    let canonical = module
        .canonicalize()
        .map_err(|e| module_err(format!("cannot open the module file: {e}")))?;
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, context)) = modules.iter().find(|(path, _)| *path == canonical) {
        return Ok(context.clone());
    }
    let context = Pkcs11::new(&canonical)
        .map_err(|e| module_err(format!("cannot load it as a PKCS#11 module: {e}")))?;
    // OS locking: the session pool calls the module from several threads at once.
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Initialised by other code of this process (e.g. a test harness); sharing it is
        // what PKCS#11 expects.
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(module_err(format!(
                "initialisation failed: {}",
                describe(&e)
            )));
        }
    }
    modules.push((canonical, context.clone()));
    Ok(context)
}

fn find_token(context: &Pkcs11, token_label: &str) -> Result<Slot, SignerError> {
    let slots = context
        .get_slots_with_token()
        .map_err(|e| SignerError::Pkcs11(format!("listing slots: {}", describe(&e))))?;
    let mut present = Vec::new();
    let mut found = Vec::new();
    for slot in slots {
        let info = context.get_token_info(slot).map_err(|e| {
            SignerError::Pkcs11(format!(
                "reading token info of slot {slot}: {}",
                describe(&e)
            ))
        })?;
        let label = info.label().trim_end();
        if label == token_label {
            found.push(slot);
        } else if info.token_initialized() {
            present.push(format!("\"{label}\""));
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(SignerError::TokenNotFound {
            label: token_label.to_string(),
            present: if present.is_empty() {
                "none".to_string()
            } else {
                present.join(", ")
            },
        }),
        _ => Err(SignerError::Pkcs11(format!(
            "{} tokens are labelled \"{token_label}\"; the label must name exactly one",
            found.len()
        ))),
    }
}

/// Logs the application in as the normal user. PKCS#11 login state belongs to the
/// application, not the session (v2.40 §5.6): every session opened on the token
/// afterwards is logged in too, and if another signer of this process is already logged
/// in to the same token the module answers `CKR_USER_ALREADY_LOGGED_IN` without
/// checking this PIN.
fn login(session: &Session, token_label: &str, pin: &str) -> Result<(), SignerError> {
    let token = || token_label.to_string();
    match session.login(UserType::User, Some(&AuthPin::from(pin))) {
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(Pkcs11Error::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            Err(SignerError::WrongPin { token: token() })
        }
        Err(Pkcs11Error::Pkcs11(RvError::PinLocked, _)) => {
            Err(SignerError::PinLocked { token: token() })
        }
        Err(e) => Err(SignerError::Pkcs11(format!(
            "token \"{token_label}\": user login failed: {}",
            describe(&e)
        ))),
    }
}

fn find_key(
    session: &Session,
    token_label: &str,
    key_label: &str,
    class: ObjectClass,
) -> Result<ObjectHandle, SignerError> {
    let class_name = if class == ObjectClass::PRIVATE_KEY {
        "private key"
    } else {
        "public key"
    };
    let found = session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(key_label.as_bytes().to_vec()),
        ])
        .map_err(|e| {
            SignerError::Pkcs11(format!(
                "token \"{token_label}\": searching {class_name} \"{key_label}\": {}",
                describe(&e)
            ))
        })?;
    match found.as_slice() {
        [key] => Ok(*key),
        [] => Err(SignerError::KeyNotFound {
            token: token_label.to_string(),
            label: key_label.to_string(),
            class: class_name,
        }),
        _ => Err(SignerError::AmbiguousKey {
            token: token_label.to_string(),
            label: key_label.to_string(),
            class: class_name,
            count: found.len(),
        }),
    }
}

/// Reads the curve (`CKA_EC_PARAMS`, DER of the namedCurve OID) and the point
/// (`CKA_EC_POINT`) of an EC public key object.
fn ec_public_key(
    session: &Session,
    public_key: ObjectHandle,
    key_label: &str,
) -> Result<(EcCurve, Vec<u8>), SignerError> {
    let attributes = session
        .get_attributes(
            public_key,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
            ],
        )
        .map_err(|e| {
            SignerError::Pkcs11(format!(
                "reading public key \"{key_label}\": {}",
                describe(&e)
            ))
        })?;
    let (mut key_type, mut params, mut point) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    match key_type {
        Some(t) if t == KeyType::EC => {}
        Some(t) => return Err(SignerError::UnsupportedKey(format!("PKCS#11 key type {t}"))),
        None => {
            return Err(SignerError::Pkcs11(format!(
                "public key \"{key_label}\" has no readable CKA_KEY_TYPE"
            )));
        }
    }
    let missing = |attribute: &str| {
        SignerError::Pkcs11(format!(
            "public key \"{key_label}\" has no readable {attribute}"
        ))
    };
    let params = params.ok_or_else(|| missing("CKA_EC_PARAMS"))?;
    let point = point.ok_or_else(|| missing("CKA_EC_POINT"))?;
    // RFC 5480 §2.1.1: only namedCurve is allowed; explicit parameters do not decode
    // as an OID.
    let named_curve: der::Result<ObjectIdentifier> = ObjectIdentifier::from_der(&params);
    let curve = match named_curve {
        Ok(oid) => EcCurve::from_oid(oid)
            .ok_or_else(|| SignerError::UnsupportedKey(format!("ECDSA on curve {oid}")))?,
        Err(_) => {
            return Err(SignerError::UnsupportedKey(
                "ECDSA with explicit curve parameters".into(),
            ));
        }
    };
    Ok((curve, uncompressed_point(curve, &point)?))
}

/// PKCS#11 v2.40 §2.3.3 says `CKA_EC_POINT` is the DER of an OCTET STRING holding the
/// point, but some modules return the bare point; the two differ in length, so both are
/// accepted. Only uncompressed points are, as X.509 verifiers expect.
fn uncompressed_point(curve: EcCurve, ec_point: &[u8]) -> Result<Vec<u8>, SignerError> {
    let point_len = 1 + 2 * curve.field_len();
    let point = if ec_point.len() == point_len {
        ec_point
    } else {
        <&OctetStringRef>::from_der(ec_point)
            .map_err(|e| SignerError::InvalidKey(format!("CKA_EC_POINT: {e}")))?
            .as_bytes()
    };
    if point.len() != point_len || point.first() != Some(&0x04) {
        return Err(SignerError::InvalidKey(format!(
            "CKA_EC_POINT is not an uncompressed {curve} point"
        )));
    }
    Ok(point.to_vec())
}

/// Logged-in sessions, each used by one thread at a time.
///
/// Why a pool: a PKCS#11 session runs one operation at a time (`C_SignInit` … `C_Sign`
/// must not interleave, v2.40 §5.2), so one shared session would serialise issuance.
struct SessionPool {
    idle: Mutex<Vec<Session>>,
    returned: Condvar,
    size: usize,
}

impl SessionPool {
    fn new(sessions: Vec<Session>) -> Self {
        Self {
            size: sessions.len(),
            idle: Mutex::new(sessions),
            returned: Condvar::new(),
        }
    }

    /// Waits for an idle session. A poisoned lock is taken over: the list of idle
    /// sessions stays valid whatever a panicking holder was doing.
    fn take(&self) -> PooledSession<'_> {
        let mut idle: MutexGuard<'_, Vec<Session>> =
            self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(session) = idle.pop() {
                return PooledSession {
                    pool: self,
                    session: Some(session),
                };
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A session on loan from the pool; returned on drop, also when signing failed.
struct PooledSession<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl PooledSession<'_> {
    fn sign(&self, key: ObjectHandle, digest: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        match &self.session {
            Some(session) => session.sign(&Mechanism::Ecdsa, key, digest),
            // Unreachable: the session is only taken out in `drop`.
            None => Err(Pkcs11Error::InvalidValue),
        }
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
            self.pool.returned.notify_one();
        }
    }
}

/// Message signed at start-up to prove the private and public key objects are a pair.
const SELF_TEST_MESSAGE: &[u8] = b"certcentral PKCS#11 CA key start-up self-test";

/// The `pkcs11` backend: a CA key held in an HSM (or SoftHSM2), used through a PKCS#11
/// module with `CKM_ECDSA` over a digest computed here.
///
/// Holds no secret: the PIN is used once at [`Pkcs11CaSigner::open`] and dropped; the
/// sessions stay logged in for the signer's lifetime.
pub struct Pkcs11CaSigner {
    module: PathBuf,
    token_label: String,
    key_label: String,
    curve: EcCurve,
    private_key: ObjectHandle,
    spki: Vec<u8>,
    sessions: SessionPool,
}

impl Pkcs11CaSigner {
    /// Opens the key pair labelled `key_label` (a `CKO_PRIVATE_KEY` and a
    /// `CKO_PUBLIC_KEY` object) on the token labelled `token_label`, logging in as the
    /// normal user with `pin`.
    ///
    /// Opens one session per available core so parallel issuance is not serialised, and
    /// signs and verifies a test message before returning, so a mismatched or unusable
    /// key fails here, at start-up, rather than at the first issuance.
    ///
    /// PKCS#11 login state is shared by the whole process: if another signer of this
    /// process is already logged in to the same token, the module accepts the login
    /// without checking `pin` again.
    pub fn open(
        module: &Path,
        token_label: &str,
        key_label: &str,
        pin: &str,
    ) -> Result<Self, SignerError> {
        let context = module_context(module)?;
        let slot = find_token(&context, token_label)?;
        let open_session = || {
            context.open_ro_session(slot).map_err(|e| {
                SignerError::Pkcs11(format!(
                    "token \"{token_label}\": opening a session: {}",
                    describe(&e)
                ))
            })
        };
        let first = open_session()?;
        login(&first, token_label, pin)?;
        let private_key = find_key(&first, token_label, key_label, ObjectClass::PRIVATE_KEY)?;
        let public_key = find_key(&first, token_label, key_label, ObjectClass::PUBLIC_KEY)?;
        let (curve, point) = ec_public_key(&first, public_key, key_label)?;
        let spki = ec_spki_der(curve, &point)?;

        let wanted = std::thread::available_parallelism().map_or(1, usize::from);
        let mut sessions = vec![first];
        while sessions.len() < wanted {
            // A token may cap its sessions (CKR_SESSION_COUNT); fewer is still correct.
            match open_session() {
                Ok(session) => sessions.push(session),
                Err(_) => break,
            }
        }
        let signer = Self {
            module: module.to_path_buf(),
            token_label: token_label.to_string(),
            key_label: key_label.to_string(),
            curve,
            private_key,
            spki,
            sessions: SessionPool::new(sessions),
        };
        signer.self_test(&point)?;
        Ok(signer)
    }

    fn self_test(&self, point: &[u8]) -> Result<(), SignerError> {
        let signature = self.sign_der(SELF_TEST_MESSAGE)?;
        UnparsedPublicKey::new(self.curve.verification(), point)
            .verify(SELF_TEST_MESSAGE, &signature)
            .map_err(|_| SignerError::KeyPairMismatch {
                token: self.token_label.clone(),
                label: self.key_label.clone(),
            })
    }

    /// Hashes here and has the token sign the digest: `CKM_ECDSA` takes the hash as its
    /// input (PKCS#11 v2.40 §2.3.6), which works on tokens without the combined
    /// `CKM_ECDSA_SHA256/384` mechanisms.
    fn sign_der(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let digest = digest::digest(self.curve.digest(), message);
        let raw = self
            .sessions
            .take()
            .sign(self.private_key, digest.as_ref())
            .map_err(|e| {
                SignerError::Sign(format!(
                    "token \"{}\", key \"{}\": {}",
                    self.token_label,
                    self.key_label,
                    describe(&e)
                ))
            })?;
        raw_ecdsa_to_der(self.curve, &raw)
    }

    /// The key's curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }

    /// How many logged-in sessions sign in parallel.
    pub fn sessions(&self) -> usize {
        self.sessions.size
    }
}

impl fmt::Debug for Pkcs11CaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11CaSigner")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("curve", &self.curve)
            .field("sessions", &self.sessions.size)
            .finish()
    }
}

impl CaSigner for Pkcs11CaSigner {
    fn algorithm(&self) -> AlgorithmIdentifierOwned {
        self.curve.signature_algorithm()
    }

    fn sign(&self, tbs_der: &[u8]) -> Result<Vec<u8>, CertError> {
        self.sign_der(tbs_der)
            .map_err(|e| CertError::Sign(e.to_string()))
    }

    fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_signature_becomes_ecdsa_sig_value_with_minimal_integers() {
        // r has a leading zero byte (dropped), s has its top bit set (gets a 0x00 pad).
        let mut raw = vec![0u8; 64];
        raw[1] = 0x01;
        raw[32] = 0x80;
        let der = raw_ecdsa_to_der(EcCurve::P256, &raw).unwrap();
        assert_eq!(&der[..2], &[0x30, 2 + 31 + 2 + 33]);
        assert_eq!(&der[2..4], &[0x02, 31]);
        assert_eq!(der[4], 0x01);
        assert_eq!(&der[35..38], &[0x02, 33, 0x00]);
        assert_eq!(der[38], 0x80);
    }

    #[test]
    fn raw_signature_of_wrong_length_is_refused() {
        assert!(raw_ecdsa_to_der(EcCurve::P384, &[1u8; 64]).is_err());
    }

    #[test]
    fn raw_signature_converts_to_what_aws_lc_verifies() {
        let rng = SystemRandom::new();
        for curve in [EcCurve::P256, EcCurve::P384] {
            let fixed = match curve {
                EcCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                EcCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            };
            let key = EcdsaKeyPair::generate(fixed).unwrap();
            let raw = key.sign(&rng, b"tbs").unwrap();
            let der = raw_ecdsa_to_der(curve, raw.as_ref()).unwrap();
            UnparsedPublicKey::new(curve.verification(), key.public_key().as_ref())
                .verify(b"tbs", &der)
                .unwrap();
        }
    }

    #[test]
    fn ec_point_is_accepted_bare_or_der_wrapped() {
        let point = [&[0x04u8][..], &[7u8; 64]].concat();
        let wrapped = OctetStringRef::new(&point).unwrap().to_der().unwrap();
        assert_eq!(uncompressed_point(EcCurve::P256, &point).unwrap(), point);
        assert_eq!(uncompressed_point(EcCurve::P256, &wrapped).unwrap(), point);
        let compressed = [&[0x02u8][..], &[7u8; 32]].concat();
        assert!(uncompressed_point(EcCurve::P256, &compressed).is_err());
    }

    #[test]
    fn spki_built_from_a_point_equals_aws_lc_spki() {
        for curve in [EcCurve::P256, EcCurve::P384] {
            let signer = EcdsaCaSigner::generate(curve).unwrap();
            let point = signer.key.public_key().as_ref().to_vec();
            assert_eq!(ec_spki_der(curve, &point).unwrap(), signer.spki_der());
        }
    }

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

    #[test]
    fn debug_shows_no_key_material() {
        let signer = EcdsaCaSigner::generate(EcCurve::P256).unwrap();
        assert_eq!(format!("{signer:?}"), "EcdsaCaSigner { curve: P256, .. }");
    }
}
