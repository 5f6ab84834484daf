//! The `pkcs11` backend: a CA key in an HSM (or SoftHSM2), used through a PKCS#11
//! module.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use aws_lc_rs::digest;
use aws_lc_rs::signature::UnparsedPublicKey;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Decode;
use der::asn1::OctetStringRef;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};

use super::asn1::{ec_spki_der, raw_ecdsa_to_der};
use super::{EcCurve, SignerError};
use crate::cert::{CaSigner, CertError};

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
    use der::Encode;

    use super::*;

    #[test]
    fn ec_point_is_accepted_bare_or_der_wrapped() {
        let point = [&[0x04u8][..], &[7u8; 64]].concat();
        let wrapped = OctetStringRef::new(&point).unwrap().to_der().unwrap();
        assert_eq!(uncompressed_point(EcCurve::P256, &point).unwrap(), point);
        assert_eq!(uncompressed_point(EcCurve::P256, &wrapped).unwrap(), point);
        let compressed = [&[0x02u8][..], &[7u8; 32]].concat();
        assert!(uncompressed_point(EcCurve::P256, &compressed).is_err());
    }
}
