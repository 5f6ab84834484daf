//! The issuance pipeline with injected time and serials: a certificate issued at a
//! fixed instant with a fixed serial carries exactly those.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use ca::cert::{
    CaSigner, CertError, EcdsaP256CaSigner, SerialSource, self_signed_ca, serial_from_random,
};
use ca::issue::{CertificateAuthority, PrecertSubmission, Proof, SctError, SctFuture, SctSource};
use clock::{Clock, ManualClock};
use der::Decode;
use oidc::dev::DevIssuer;
use oidc::{Destinations, Fetch, FetchError, FetchFuture, Verifier};
use pki::ct::{SignedEntry, TimestampedEntry, sct_signed_data};
use pki::{EcdsaP256Signer, SignedCertificateTimestamp};
use x509_cert::Certificate;

/// 2026-01-01T00:00:00.750Z: the fraction shows that validity is cut to whole seconds.
const NOW_MS: u64 = 1_767_225_600_750;
const EMAIL: &str = "alice@example.com";

/// The dev issuer's discovery document and JWKS, served in memory.
struct DevFetch(Arc<DevIssuer>);

impl Fetch for DevFetch {
    fn get<'a>(&'a self, url: &'a str, _: Destinations) -> FetchFuture<'a> {
        Box::pin(std::future::ready(self.answer(url)))
    }
}

impl DevFetch {
    fn answer(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let base = self.0.issuer_url();
        if url == format!("{base}/.well-known/openid-configuration") {
            Ok(
                serde_json::json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") })
                    .to_string()
                    .into_bytes(),
            )
        } else if url == format!("{base}/jwks") {
            Ok(self.0.jwks().to_string().into_bytes())
        } else {
            Err(FetchError::Provider(format!("no {url}")))
        }
    }
}

/// Serials handed out in order, each made from one repeated byte.
struct FixedSerials(std::sync::Mutex<u8>);

impl SerialSource for FixedSerials {
    fn next_serial(&self) -> Result<[u8; 20], CertError> {
        let mut next = self.0.lock().map_err(|_| CertError::Random)?;
        let serial = [*next; 20];
        *next += 1;
        Ok(serial)
    }
}

/// A log in memory that signs an SCT at the clock's time.
struct TestLog {
    key: EcdsaP256Signer,
    clock: Arc<dyn Clock>,
}

impl SctSource for TestLog {
    fn name(&self) -> &str {
        "test log"
    }

    fn submit_precert(&self, submission: Arc<PrecertSubmission>) -> SctFuture<'_> {
        Box::pin(async move {
            let entry = TimestampedEntry {
                timestamp: self.clock.now_ms(),
                entry: SignedEntry::Precert {
                    issuer_key_hash: submission.issuer_key_hash,
                    tbs_certificate: submission.tbs_certificate.clone(),
                },
                extensions: vec![],
            };
            let signature = self
                .key
                .sign_digitally_signed(&sct_signed_data(&entry))
                .map_err(|e| SctError(e.to_string()))?;
            Ok(SignedCertificateTimestamp {
                log_id: self.key.log_id(),
                timestamp: entry.timestamp,
                extensions: vec![],
                signature,
            })
        })
    }
}

#[test]
fn validity_and_serial_come_from_the_injected_clock_and_serial_source() {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let dev = Arc::new(DevIssuer::generate("https://dev.example").unwrap());
    let verifier = Verifier::new(
        vec![dev.issuer_config()],
        Arc::new(DevFetch(dev.clone())),
        clock.clone(),
    )
    .unwrap();
    let signer = EcdsaP256CaSigner::new(EcdsaP256Signer::generate().unwrap());
    let year = Duration::from_secs(365 * 86_400);
    let root = self_signed_ca(
        "certcentral test CA",
        serial_from_random([0x42; 20]),
        UNIX_EPOCH + Duration::from_millis(NOW_MS) - year,
        UNIX_EPOCH + Duration::from_millis(NOW_MS) + year,
        &signer,
    )
    .unwrap();
    let log = TestLog {
        key: EcdsaP256Signer::generate().unwrap(),
        clock: clock.clone(),
    };
    let signer: Arc<dyn CaSigner> = Arc::new(signer);
    let lifetime = Duration::from_secs(600);
    let ca = Arc::new(
        CertificateAuthority::new(
            Arc::new(verifier),
            signer,
            vec![root],
            vec![Arc::new(log)],
            clock.clone(),
            Arc::new(FixedSerials(std::sync::Mutex::new(0x81))),
        )
        .unwrap()
        .with_lifetime(lifetime),
    );

    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let public: PublicKeyX509Der<'static> = key.public_key().as_der().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let issue = |n: u64| {
        clock.set_ms(NOW_MS + n * 1000);
        let token = dev
            .mint(EMAIL, UNIX_EPOCH + Duration::from_millis(clock.now_ms()))
            .unwrap();
        let signature = key.sign(&SystemRandom::new(), EMAIL.as_bytes()).unwrap();
        let proof = Proof::SignedChallenge {
            public_key: public.as_ref().to_vec(),
            signature: signature.as_ref().to_vec(),
        };
        let issued = runtime.block_on(ca.issue(token, proof)).unwrap();
        Certificate::from_der(&issued.chain[0]).unwrap()
    };

    let first = issue(0);
    let tbs = first.tbs_certificate();
    let start = Duration::from_secs(NOW_MS / 1000);
    assert_eq!(tbs.validity().not_before.to_unix_duration(), start);
    assert_eq!(
        tbs.validity().not_after.to_unix_duration(),
        start + lifetime
    );
    // The top bit is cleared so the INTEGER stays positive in 20 octets.
    let mut serial = [0x81; 20];
    serial[0] = 0x01;
    assert_eq!(tbs.serial_number().as_bytes(), serial);

    // The next issuance takes the next serial and the clock's new time.
    let second = issue(5);
    let tbs = second.tbs_certificate();
    assert_eq!(
        tbs.validity().not_before.to_unix_duration(),
        start + Duration::from_secs(5)
    );
    let mut serial = [0x82; 20];
    serial[0] = 0x02;
    assert_eq!(tbs.serial_number().as_bytes(), serial);
}
