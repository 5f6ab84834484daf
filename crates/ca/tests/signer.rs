//! CA signing backends: the `file` backend against keys the `openssl` CLI wrote, and the
//! `pkcs11` backend against a real SoftHSM2 token. Certificates signed through each are
//! checked by `openssl verify`, an independent X.509 implementation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, UnparsedPublicKey};
use ca::cert::{CaSigner, self_signed_ca};
use ca::signer::{EcCurve, EcdsaCaSigner, Pkcs11CaSigner, SignerError, load_encrypted_pkcs8_pem};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoRef;

const PASSWORD: &str = "correct horse battery staple";

/// 2026-01-01T00:00:00Z.
fn jan_2026() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Runs `openssl` in `dir`; panics clearly if it is missing. Returns (success, stdout+stderr).
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the openssl CLI is required for this test: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `openssl` and panics with its output when it fails.
fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{out}");
    out
}

/// Signs a self-signed CA certificate with `signer` and has `openssl verify` check it,
/// including the self-signature (`-check_ss_sig`: OpenSSL does not check a trust
/// anchor's own signature otherwise). Returns `openssl x509 -text` of the certificate.
fn assert_openssl_verifies_self_signed_ca(dir: &Path, signer: &dyn CaSigner) -> String {
    let cert = self_signed_ca(
        "certcentral signer test CA",
        [0x42; 20],
        jan_2026(),
        jan_2026() + Duration::from_secs(10 * 365 * 86_400),
        signer,
    )
    .unwrap();
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &cert).unwrap();
    std::fs::write(dir.join("ca.pem"), pem).unwrap();
    let (ok, out) = openssl(
        dir,
        &[
            "verify",
            "-x509_strict",
            "-check_ss_sig",
            "-attime",
            "1767225660",
            "-CAfile",
            "ca.pem",
            "ca.pem",
        ],
    );
    assert!(ok, "openssl verify rejected the CA certificate:\n{out}");
    openssl_ok(dir, &["x509", "-in", "ca.pem", "-noout", "-text"])
}

/// Verifies a DER ECDSA signature against the signer's SPKI with aws-lc.
fn assert_signature_verifies(signer: &dyn CaSigner, curve: EcCurve, message: &[u8], sig: &[u8]) {
    let spki_der = signer.spki_der();
    let spki = SubjectPublicKeyInfoRef::from_der(&spki_der).unwrap();
    let point = spki.subject_public_key.raw_bytes();
    let algorithm = match curve {
        EcCurve::P256 => &ECDSA_P256_SHA256_ASN1,
        EcCurve::P384 => &ECDSA_P384_SHA384_ASN1,
    };
    UnparsedPublicKey::new(algorithm, point)
        .verify(message, sig)
        .unwrap_or_else(|_| panic!("{curve} signature does not verify"));
}

// ---------------------------------------------------------------------------------------
// file backend
// ---------------------------------------------------------------------------------------

/// `openssl genpkey` of an EC key on `curve`, encrypted with PBES2/PBKDF2/AES-256-CBC.
fn genpkey_encrypted(dir: &Path, curve: &str, out: &str) -> String {
    openssl_ok(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-aes-256-cbc",
            "-pass",
            &format!("pass:{PASSWORD}"),
            "-out",
            out,
        ],
    );
    std::fs::read_to_string(dir.join(out)).unwrap()
}

/// The key's SubjectPublicKeyInfo as OpenSSL writes it.
fn openssl_spki(dir: &Path, key_file: &str) -> Vec<u8> {
    openssl_ok(
        dir,
        &[
            "pkey",
            "-in",
            key_file,
            "-passin",
            &format!("pass:{PASSWORD}"),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "pub.der",
        ],
    );
    std::fs::read(dir.join("pub.der")).unwrap()
}

#[test]
fn file_backend_signs_ca_certificates_openssl_verifies_p256_and_p384() {
    for (curve_name, curve, algorithm) in [
        ("P-256", EcCurve::P256, "ecdsa-with-SHA256"),
        ("P-384", EcCurve::P384, "ecdsa-with-SHA384"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pem = genpkey_encrypted(d, curve_name, "key.pem");
        assert!(pem.contains("BEGIN ENCRYPTED PRIVATE KEY"));
        let signer = load_encrypted_pkcs8_pem(&pem, PASSWORD.as_bytes()).unwrap();
        assert_eq!(signer.curve(), curve);
        assert_eq!(
            signer.spki_der(),
            openssl_spki(d, "key.pem"),
            "{curve_name}"
        );
        let text = assert_openssl_verifies_self_signed_ca(d, &signer);
        assert!(
            text.contains(&format!("Signature Algorithm: {algorithm}")),
            "{text}"
        );
        let sig = signer.sign(b"tbs").unwrap();
        assert_signature_verifies(&signer, curve, b"tbs", &sig);
    }
}

#[test]
fn file_backend_loads_scrypt_and_pbkdf2_aes128_keys_from_openssl_pkcs8_topk8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "plain.pem",
        ],
    );
    let passout = format!("pass:{PASSWORD}");
    for (scheme, out) in [
        (&["-scrypt"][..], "scrypt.pem"),
        (&["-v2", "aes-128-cbc"][..], "aes128.pem"),
    ] {
        let mut args = vec!["pkcs8", "-topk8", "-in", "plain.pem", "-passout", &passout];
        args.extend_from_slice(scheme);
        args.extend(["-out", out]);
        openssl_ok(d, &args);
        let pem = std::fs::read_to_string(d.join(out)).unwrap();
        let signer = load_encrypted_pkcs8_pem(&pem, PASSWORD.as_bytes())
            .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
        assert_eq!(signer.spki_der(), openssl_spki(d, out), "{scheme:?}");
        assert_openssl_verifies_self_signed_ca(d, &signer);
    }
}

#[test]
fn file_backend_wrong_password_says_so_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let pem = genpkey_encrypted(dir.path(), "P-256", "key.pem");
    let err = load_encrypted_pkcs8_pem(&pem, b"hunter2-not-the-password").unwrap_err();
    assert_eq!(err, SignerError::WrongPassword);
    let message = err.to_string();
    assert!(
        message.contains("wrong password or corrupt key"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn file_backend_corrupt_ciphertext_is_wrong_password_or_corrupt_key() {
    let dir = tempfile::tempdir().unwrap();
    let pem = genpkey_encrypted(dir.path(), "P-256", "key.pem");
    // Flip the last ciphertext block: CBC padding no longer checks out.
    let (_, mut der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0xff;
    let tampered =
        der::pem::encode_string("ENCRYPTED PRIVATE KEY", der::pem::LineEnding::LF, &der).unwrap();
    let err = load_encrypted_pkcs8_pem(&tampered, PASSWORD.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("wrong password or corrupt key"),
        "{err}"
    );
}

#[test]
fn file_backend_refuses_unencrypted_keys_and_says_how_to_encrypt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "plain.pem",
        ],
    );
    // The same key in OpenSSL's traditional "EC PRIVATE KEY" form.
    openssl_ok(d, &["ec", "-in", "plain.pem", "-out", "traditional.pem"]);
    let traditional = std::fs::read_to_string(d.join("traditional.pem")).unwrap();
    assert!(
        traditional.contains("BEGIN EC PRIVATE KEY"),
        "{traditional}"
    );
    for file in ["plain.pem", "traditional.pem"] {
        let pem = std::fs::read_to_string(d.join(file)).unwrap();
        let err = load_encrypted_pkcs8_pem(&pem, PASSWORD.as_bytes()).unwrap_err();
        assert!(
            matches!(err, SignerError::Unencrypted { .. }),
            "{file}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("unencrypted"), "{message}");
        assert!(
            message.contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
            "{message}"
        );
    }
}

#[test]
fn file_backend_refuses_legacy_openssl_pem_encryption() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let passout = format!("pass:{PASSWORD}");
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "plain.pem",
        ],
    );
    openssl_ok(
        d,
        &[
            "ec",
            "-in",
            "plain.pem",
            "-aes256",
            "-passout",
            &passout,
            "-out",
            "legacy.pem",
        ],
    );
    let pem = std::fs::read_to_string(d.join("legacy.pem")).unwrap();
    assert!(pem.contains("Proc-Type: 4,ENCRYPTED"), "{pem}");
    let err = load_encrypted_pkcs8_pem(&pem, PASSWORD.as_bytes()).unwrap_err();
    assert!(
        matches!(err, SignerError::UnsupportedEncryption(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
}

#[test]
fn file_backend_refuses_garbage_and_other_pem_documents() {
    let err = load_encrypted_pkcs8_pem("this is not a key", b"x").unwrap_err();
    assert!(matches!(err, SignerError::NotPem(_)), "{err:?}");
    assert!(err.to_string().contains("ENCRYPTED PRIVATE KEY"), "{err}");

    let broken =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n!!!!\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(load_encrypted_pkcs8_pem(broken, b"x").is_err());

    let not_pkcs8 = der::pem::encode_string(
        "ENCRYPTED PRIVATE KEY",
        der::pem::LineEnding::LF,
        &[0x30, 0x03, 0x02, 0x01, 0x00],
    )
    .unwrap();
    let err = load_encrypted_pkcs8_pem(&not_pkcs8, b"x").unwrap_err();
    assert!(matches!(err, SignerError::InvalidKey(_)), "{err:?}");

    let cert =
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &[0x30, 0x00]).unwrap();
    let err = load_encrypted_pkcs8_pem(&cert, b"x").unwrap_err();
    assert_eq!(
        err,
        SignerError::UnexpectedPem {
            label: "CERTIFICATE".into()
        }
    );
    assert!(err.to_string().contains("ENCRYPTED PRIVATE KEY"), "{err}");
}

#[test]
fn file_backend_refuses_rsa_ed25519_and_p521_naming_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pass = format!("pass:{PASSWORD}");
    let cases: [(&[&str], &str); 3] = [
        (
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "RSA",
        ),
        (&["-algorithm", "ED25519"], "Ed25519"),
        (
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "1.3.132.0.35",
        ),
    ];
    for (keygen, named) in cases {
        let mut args = vec!["genpkey"];
        args.extend_from_slice(keygen);
        args.extend(["-aes-256-cbc", "-pass", &pass, "-out", "key.pem"]);
        openssl_ok(d, &args);
        let pem = std::fs::read_to_string(d.join("key.pem")).unwrap();
        let err = load_encrypted_pkcs8_pem(&pem, PASSWORD.as_bytes()).unwrap_err();
        assert!(matches!(err, SignerError::UnsupportedKey(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(named), "{message}");
        assert!(
            message.contains("P-256") && message.contains("P-384"),
            "{message}"
        );
    }
}

#[test]
fn generated_in_memory_keys_sign_what_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    for curve in [EcCurve::P256, EcCurve::P384] {
        let signer = EcdsaCaSigner::generate(curve).unwrap();
        assert_openssl_verifies_self_signed_ca(dir.path(), &signer);
    }
}

// ---------------------------------------------------------------------------------------
// pkcs11 backend (SoftHSM2)
// ---------------------------------------------------------------------------------------

const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The token most tests use.
const TOKEN: &str = "certcentral-test";
/// A token used only by the wrong-PIN test: PKCS#11 login state is per application and
/// token, so a wrong PIN on a token another test has logged in to would not be checked.
const PIN_TEST_TOKEN: &str = "certcentral-pin-test";
const USER_PIN: &str = "1234";
const SO_PIN: &str = "5678";

/// Key labels on [`TOKEN`]: a P-256 pair, a P-384 pair, and a "pair" whose private and
/// public halves come from different key pairs.
const P256_KEY: &str = "ca-key";
const P384_KEY: &str = "ca-key-p384";
const MISMATCHED_KEY: &str = "mismatched";

/// The SoftHSM2 module when installed and its test tokens set up; `None` (after a loud
/// message) when it is not installed, except under CI where that fails the test.
fn softhsm() -> Option<&'static Path> {
    static SETUP: OnceLock<PathBuf> = OnceLock::new();
    if !Path::new(SOFTHSM_MODULE).exists() {
        let message = format!(
            "SoftHSM2 is not installed ({SOFTHSM_MODULE} missing): \
             `apt-get install softhsm2` to run the PKCS#11 signer tests"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
        return None;
    }
    Some(SETUP.get_or_init(setup_softhsm))
}

/// Creates a SoftHSM2 configuration and token directory of our own under the target
/// directory, initialises the two test tokens and generates their keys on the token.
fn setup_softhsm() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ca-signer-softhsm2");
    let _ = std::fs::remove_dir_all(&root);
    let tokens = root.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = root.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // SAFETY: runs once, before the first cryptoki call of this process, so SoftHSM2
    // (which reads the variable at C_Initialize) is not reading the environment yet; the
    // other tests touch the environment only through std (`Command`), which takes the
    // same lock as `set_var`.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };

    for label in [TOKEN, PIN_TEST_TOKEN] {
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label])
            .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util is installed with the module");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token {label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let context = Pkcs11::new(SOFTHSM_MODULE).unwrap();
    context
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let session = user_session(&context, TOKEN);
    generate_key_pair(&session, EcCurve::P256, P256_KEY, P256_KEY);
    generate_key_pair(&session, EcCurve::P384, P384_KEY, P384_KEY);
    generate_key_pair(&session, EcCurve::P256, MISMATCHED_KEY, "orphan-public-1");
    generate_key_pair(&session, EcCurve::P256, "orphan-private-2", MISMATCHED_KEY);
    let pin_session = user_session(&context, PIN_TEST_TOKEN);
    generate_key_pair(&pin_session, EcCurve::P256, P256_KEY, P256_KEY);
    // Closing the last sessions logs the application out of both tokens again.
    drop((session, pin_session));
    PathBuf::from(SOFTHSM_MODULE)
}

fn user_session(context: &Pkcs11, token_label: &str) -> Session {
    let slot = context
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|slot| context.get_token_info(*slot).unwrap().label() == token_label)
        .unwrap();
    let session = context.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from(USER_PIN)))
        .unwrap();
    session
}

/// Generates an EC key pair on the token (`CKA_TOKEN` true), the private key
/// non-extractable as a CA key would be.
fn generate_key_pair(session: &Session, curve: EcCurve, private_label: &str, public_label: &str) {
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Label(public_label.as_bytes().to_vec()),
        Attribute::EcParams(curve.oid().to_der().unwrap()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(private_label.as_bytes().to_vec()),
    ];
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .unwrap();
}

#[test]
fn pkcs11_backend_signs_ca_certificates_openssl_verifies_p256_and_p384() {
    let Some(module) = softhsm() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (label, curve, algorithm) in [
        (P256_KEY, EcCurve::P256, "ecdsa-with-SHA256"),
        (P384_KEY, EcCurve::P384, "ecdsa-with-SHA384"),
    ] {
        let signer = Pkcs11CaSigner::open(module, TOKEN, label, USER_PIN).unwrap();
        assert_eq!(signer.curve(), curve);
        assert!(signer.sessions() >= 1);
        let text = assert_openssl_verifies_self_signed_ca(dir.path(), &signer);
        assert!(
            text.contains(&format!("Signature Algorithm: {algorithm}")),
            "{text}"
        );
        // The SPKI built from CKA_EC_PARAMS/CKA_EC_POINT is what OpenSSL reads back.
        openssl_ok(
            dir.path(),
            &[
                "x509", "-in", "ca.pem", "-noout", "-pubkey", "-out", "pub.pem",
            ],
        );
        openssl_ok(
            dir.path(),
            &[
                "pkey", "-pubin", "-in", "pub.pem", "-outform", "DER", "-out", "pub.der",
            ],
        );
        assert_eq!(
            std::fs::read(dir.path().join("pub.der")).unwrap(),
            signer.spki_der()
        );
    }
}

#[test]
fn pkcs11_backend_signs_concurrently_from_several_threads() {
    let Some(module) = softhsm() else { return };
    let signer = Arc::new(Pkcs11CaSigner::open(module, TOKEN, P256_KEY, USER_PIN).unwrap());
    const THREADS: usize = 8;
    const PER_THREAD: usize = 25;
    let start = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let signer = Arc::clone(&signer);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let message = format!("thread {t} message {i}");
                    let sig = signer.sign(message.as_bytes()).unwrap();
                    assert_signature_verifies(&*signer, EcCurve::P256, message.as_bytes(), &sig);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let elapsed = start.elapsed();
    eprintln!(
        "SoftHSM2: {} P-256 signatures (sign + verify) on {} threads, {} sessions, in {elapsed:?}",
        THREADS * PER_THREAD,
        THREADS,
        signer.sessions()
    );
}

#[test]
fn pkcs11_backend_wrong_pin_is_refused_without_echoing_it() {
    let Some(module) = softhsm() else { return };
    let err = Pkcs11CaSigner::open(module, PIN_TEST_TOKEN, P256_KEY, "987654").unwrap_err();
    assert_eq!(
        err,
        SignerError::WrongPin {
            token: PIN_TEST_TOKEN.into()
        }
    );
    let message = err.to_string();
    assert!(message.contains("wrong PIN"), "{message}");
    assert!(!message.contains("987654"), "{message}");
}

#[test]
fn pkcs11_backend_unknown_token_is_named_with_the_tokens_present() {
    let Some(module) = softhsm() else { return };
    let err = Pkcs11CaSigner::open(module, "no-such-token", P256_KEY, USER_PIN).unwrap_err();
    assert!(matches!(err, SignerError::TokenNotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("no-such-token"), "{message}");
    assert!(message.contains(TOKEN), "{message}");
    assert!(!message.contains(USER_PIN), "{message}");
}

#[test]
fn pkcs11_backend_unknown_key_label_is_named() {
    let Some(module) = softhsm() else { return };
    let err = Pkcs11CaSigner::open(module, TOKEN, "no-such-key", USER_PIN).unwrap_err();
    assert_eq!(
        err,
        SignerError::KeyNotFound {
            token: TOKEN.into(),
            label: "no-such-key".into(),
            class: "private key",
        }
    );
    let message = err.to_string();
    assert!(message.contains("no-such-key"), "{message}");
    assert!(!message.contains(USER_PIN), "{message}");
}

#[test]
fn pkcs11_backend_mismatched_key_pair_fails_at_open() {
    let Some(module) = softhsm() else { return };
    let err = Pkcs11CaSigner::open(module, TOKEN, MISMATCHED_KEY, USER_PIN).unwrap_err();
    assert!(
        matches!(err, SignerError::KeyPairMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(MISMATCHED_KEY), "{err}");
}

#[test]
fn pkcs11_backend_missing_module_is_named() {
    // Needs no SoftHSM2: the module path is checked before anything is loaded.
    let missing = Path::new("/nonexistent/libpkcs11-module.so");
    let err = Pkcs11CaSigner::open(missing, TOKEN, P256_KEY, USER_PIN).unwrap_err();
    assert!(matches!(err, SignerError::Module { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("/nonexistent/libpkcs11-module.so"),
        "{message}"
    );
    assert!(!message.contains(USER_PIN), "{message}");
}

#[test]
fn pkcs11_backend_debug_shows_labels_not_the_pin() {
    let Some(module) = softhsm() else { return };
    let signer = Pkcs11CaSigner::open(module, TOKEN, P256_KEY, USER_PIN).unwrap();
    let debug = format!("{signer:?}");
    assert!(debug.contains(TOKEN) && debug.contains(P256_KEY), "{debug}");
    assert!(!debug.contains(USER_PIN), "{debug}");
}
