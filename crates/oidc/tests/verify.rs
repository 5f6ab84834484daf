//! OIDC token verification against real keys (aws-lc-rs here, Python `cryptography`
//! for the cross-check), an in-memory `Fetch` that counts calls, and an injected clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RsaEncoding,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clock::{Clock, ManualClock};
use der::Decode;
use oidc::{
    Destinations, Fetch, FetchError, FetchFuture, IdentityKind, IssuerConfig, MAX_TOKEN_BYTES,
    OidcError, Verifier,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const ISS: &str = "https://issuer.example";
const AUD: &str = "sigstore";
/// 2026-11-23T18:41:49Z
const NOW: u64 = 1_795_459_309;
const REFRESH: u64 = 60;

// ---------------------------------------------------------------- keys

struct Keys {
    rsa: RsaKeyPair,
    p256: EcdsaKeyPair,
    p384: EcdsaKeyPair,
    ed: Ed25519KeyPair,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rng = SystemRandom::new();
        let p256 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let p384 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Keys {
            rsa: RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            p256: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p256.as_ref())
                .unwrap(),
            p384: EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, p384.as_ref())
                .unwrap(),
            ed: Ed25519KeyPair::from_pkcs8(ed.as_ref()).unwrap(),
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 8017 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    n: der::asn1::UintRef<'a>,
    e: der::asn1::UintRef<'a>,
}

fn rsa_jwk(kp: &RsaKeyPair, kid: &str) -> Value {
    let pk = RsaPublicKey::from_der(kp.public_key().as_ref()).unwrap();
    json!({"kty": "RSA", "kid": kid, "use": "sig",
           "n": b64(pk.n.as_bytes()), "e": b64(pk.e.as_bytes())})
}

fn ec_jwk(kp: &EcdsaKeyPair, crv: &str, kid: &str) -> Value {
    let point = kp.public_key().as_ref();
    let len = (point.len() - 1) / 2;
    json!({"kty": "EC", "kid": kid, "crv": crv,
           "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..])})
}

fn ed_jwk(kp: &Ed25519KeyPair, kid: &str) -> Value {
    json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(kp.public_key().as_ref())})
}

fn default_jwks() -> Value {
    let k = keys();
    json!({"keys": [
        rsa_jwk(&k.rsa, "rsa"),
        ec_jwk(&k.p256, "P-256", "p256"),
        ec_jwk(&k.p384, "P-384", "p384"),
        ed_jwk(&k.ed, "ed"),
        // Must never be used: a symmetric key in a JWKS.
        {"kty": "oct", "kid": "oct", "k": b64(b"secret")},
    ]})
}

// ---------------------------------------------------------------- tokens

fn rsa_sign(enc: &'static dyn RsaEncoding) -> impl Fn(&[u8]) -> Vec<u8> {
    move |msg| {
        let kp = &keys().rsa;
        let mut sig = vec![0; kp.public_modulus_len()];
        kp.sign(enc, &SystemRandom::new(), msg, &mut sig).unwrap();
        sig
    }
}

/// Signs a JWS signing input, returning the raw JWS signature bytes.
type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn signer(alg: &str) -> Signer {
    match alg {
        "RS256" => Box::new(rsa_sign(&RSA_PKCS1_SHA256)),
        "RS384" => Box::new(rsa_sign(&RSA_PKCS1_SHA384)),
        "RS512" => Box::new(rsa_sign(&RSA_PKCS1_SHA512)),
        "PS256" => Box::new(rsa_sign(&RSA_PSS_SHA256)),
        "ES256" => Box::new(|m: &[u8]| {
            let s = keys().p256.sign(&SystemRandom::new(), m).unwrap();
            s.as_ref().to_vec()
        }),
        "ES384" => Box::new(|m: &[u8]| {
            let s = keys().p384.sign(&SystemRandom::new(), m).unwrap();
            s.as_ref().to_vec()
        }),
        "EdDSA" => Box::new(|m: &[u8]| keys().ed.sign(m).as_ref().to_vec()),
        other => panic!("no signer for {other}"),
    }
}

fn kid_for(alg: &str) -> &'static str {
    match alg {
        "ES256" => "p256",
        "ES384" => "p384",
        "EdDSA" => "ed",
        _ => "rsa",
    }
}

fn make_token(header: &Value, claims: &Value, sign: &dyn Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1234",
        "email": "dev@example.com",
        "email_verified": true,
        "iat": NOW - 10,
        "exp": NOW + 600,
    })
}

/// A token signed with `alg` by the matching test key, kid set.
fn token_with(alg: &str, claims: &Value) -> String {
    make_token(
        &json!({"alg": alg, "kid": kid_for(alg), "typ": "JWT"}),
        claims,
        &*signer(alg),
    )
}

fn token(alg: &str) -> String {
    token_with(alg, &claims())
}

// ---------------------------------------------------------------- fixture

struct MemFetch {
    docs: Mutex<HashMap<String, Vec<u8>>>,
    calls: Mutex<HashMap<String, usize>>,
    /// URLs starting with one of these never answer (an identity provider that
    /// accepts the connection and says nothing).
    hang: Mutex<Vec<String>>,
    /// URLs that answer only once `gate` has permits.
    gated: Mutex<Vec<String>>,
    gate: tokio::sync::Semaphore,
    /// URLs whose next fetch fails on this server's side.
    saturated_once: Mutex<Vec<String>>,
}

impl Default for MemFetch {
    fn default() -> Self {
        Self {
            docs: Mutex::default(),
            calls: Mutex::default(),
            hang: Mutex::default(),
            gated: Mutex::default(),
            gate: tokio::sync::Semaphore::new(0),
            saturated_once: Mutex::default(),
        }
    }
}

impl MemFetch {
    fn put(&self, url: &str, doc: &Value) {
        self.docs
            .lock()
            .unwrap()
            .insert(url.into(), doc.to_string().into_bytes());
    }

    fn publish(&self, iss: &str, jwks: &Value) {
        let jwks_uri = format!("{iss}/keys");
        self.put(
            &format!("{iss}/.well-known/openid-configuration"),
            &json!({"issuer": iss, "jwks_uri": jwks_uri}),
        );
        self.put(&jwks_uri, jwks);
    }

    fn calls(&self, url: &str) -> usize {
        self.calls.lock().unwrap().get(url).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.calls.lock().unwrap().values().sum()
    }
}

impl Fetch for MemFetch {
    fn get<'a>(&'a self, url: &'a str, _: Destinations) -> FetchFuture<'a> {
        *self.calls.lock().unwrap().entry(url.into()).or_default() += 1;
        let mut saturated = self.saturated_once.lock().unwrap();
        if let Some(i) = saturated.iter().position(|u| u == url) {
            saturated.remove(i);
            let busy = FetchError::Saturated("all name look-up threads are busy".into());
            return Box::pin(std::future::ready(Err(busy)));
        }
        let hang = self.hang.lock().unwrap().iter().any(|p| url.starts_with(p));
        let gated = self.gated.lock().unwrap().iter().any(|u| u == url);
        Box::pin(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            if gated {
                let _open = self.gate.acquire().await;
            }
            self.docs
                .lock()
                .unwrap()
                .get(url)
                .cloned()
                .ok_or_else(|| FetchError::Provider(format!("HTTP 404 for {url}")))
        })
    }
}

struct Fixture {
    verifier: Verifier,
    fetch: Arc<MemFetch>,
    now: Arc<ManualClock>,
    rt: tokio::runtime::Runtime,
}

impl Fixture {
    fn with(issuers: Vec<IssuerConfig>) -> Self {
        let fetch = Arc::new(MemFetch::default());
        fetch.publish(ISS, &default_jwks());
        let now = Arc::new(ManualClock::new(NOW * 1000));
        let verifier = Verifier::new(issuers, fetch.clone(), now.clone())
            .unwrap()
            .with_jwks_refresh_interval(REFRESH);
        Self {
            verifier,
            fetch,
            now,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn new(kind: IdentityKind) -> Self {
        Self::with(vec![issuer(ISS, kind)])
    }

    fn advance(&self, secs: u64) {
        self.now.advance_ms(secs * 1000);
    }

    fn verify(&self, token: &str) -> Result<oidc::VerifiedIdentity, OidcError> {
        self.rt.block_on(self.verifier.verify(token))
    }
}

fn issuer(url: &str, kind: IdentityKind) -> IssuerConfig {
    IssuerConfig::new(url, AUD, kind)
}

fn jwks_url() -> String {
    format!("{ISS}/keys")
}

fn discovery_url() -> String {
    format!("{ISS}/.well-known/openid-configuration")
}

// ---------------------------------------------------------------- accepted tokens

#[test]
fn each_accepted_algorithm_verifies() {
    let f = Fixture::new(IdentityKind::Email);
    for alg in [
        "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA",
    ] {
        let id = f
            .verify(&token(alg))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(id.issuer, ISS);
        assert_eq!(id.subject, "user-1234");
        assert_eq!(id.identity, "dev@example.com");
        assert_eq!(id.kind, IdentityKind::Email);
        assert_eq!(id.expires_at, NOW + 600);
        assert_eq!(id.claims["email"], "dev@example.com");
    }
    // Discovery and JWKS are fetched once and cached.
    assert_eq!(f.fetch.calls(&discovery_url()), 1);
    assert_eq!(f.fetch.calls(&jwks_url()), 1);
}

#[test]
fn token_without_kid_is_verified_with_any_key_fitting_the_algorithm() {
    let f = Fixture::new(IdentityKind::Uri);
    for alg in ["RS256", "ES256", "EdDSA"] {
        let t = make_token(&json!({"alg": alg}), &claims(), &*signer(alg));
        assert_eq!(f.verify(&t).unwrap().identity, "user-1234", "{alg}");
    }
}

#[test]
fn identity_is_sub_for_uri_username_and_ci_workflow_issuers() {
    for kind in [
        IdentityKind::Uri,
        IdentityKind::Username,
        IdentityKind::CiWorkflow,
    ] {
        let f = Fixture::new(kind);
        let mut c = claims();
        c["job_workflow_ref"] = json!("octo/repo/.github/workflows/release.yml@refs/tags/v1");
        let id = f.verify(&token_with("RS256", &c)).unwrap();
        assert_eq!((id.identity.as_str(), id.kind), ("user-1234", kind));
        assert_eq!(
            id.claims["job_workflow_ref"],
            "octo/repo/.github/workflows/release.yml@refs/tags/v1"
        );
    }
}

#[test]
fn fractional_numeric_dates_are_accepted() {
    let f = Fixture::new(IdentityKind::Uri);
    let mut c = claims();
    c["exp"] = json!((NOW + 600) as f64 + 0.5);
    c["iat"] = json!((NOW - 1) as f64 + 0.25);
    assert_eq!(
        f.verify(&token_with("ES256", &c)).unwrap().expires_at,
        NOW + 600
    );
}

// ---------------------------------------------------------------- time claims

#[test]
fn expired_token_is_rejected_beyond_the_skew() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["exp"] = json!(NOW - 30);
    f.verify(&token_with("ES256", &c))
        .expect("within 60 s skew");
    c["exp"] = json!(NOW - 61);
    let err = f.verify(&token_with("ES256", &c)).unwrap_err();
    assert!(matches!(err, OidcError::Expired { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("token expired at 2026-11-23T18:40:48Z"),
        "{err}"
    );
    c["exp"] = json!(NOW - 60);
    assert!(matches!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::Expired { .. })
    ));
}

#[test]
fn missing_exp_is_rejected() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::MissingClaim("exp"))
    );
    c["exp"] = json!("tomorrow");
    assert!(matches!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::BadClaims(_))
    ));
    c["exp"] = json!(-5);
    assert!(matches!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::BadClaims(_))
    ));
}

#[test]
fn nbf_in_the_future_is_rejected() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["nbf"] = json!(NOW + 30);
    f.verify(&token_with("ES256", &c)).expect("within skew");
    c["nbf"] = json!(NOW + 120);
    let err = f.verify(&token_with("ES256", &c)).unwrap_err();
    assert!(matches!(err, OidcError::NotYetValid { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not valid before 2026-11-23T18:43:49Z")
    );
}

#[test]
fn iat_in_the_future_is_rejected() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["iat"] = json!(NOW + 3600);
    assert!(matches!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::IssuedInFuture { .. })
    ));
}

// ---------------------------------------------------------------- audience and issuer

#[test]
fn wrong_audience_is_rejected() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["aud"] = json!("sigstore-x");
    let err = f.verify(&token_with("ES256", &c)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "audience sigstore-x is not the configured client id sigstore"
    );
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::MissingClaim("aud"))
    );
}

#[test]
fn audience_array_must_contain_the_client_id() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["aud"] = json!(["other", AUD]);
    f.verify(&token_with("ES256", &c)).unwrap();
    c["aud"] = json!(["other", "sigstore-x"]);
    let err = f.verify(&token_with("ES256", &c)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "audience [other, sigstore-x] is not the configured client id sigstore"
    );
    c["aud"] = json!([AUD, 7]);
    assert!(matches!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::BadClaims(_))
    ));
}

#[test]
fn unknown_issuer_is_rejected_without_fetching() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    let err = f.verify(&token_with("ES256", &c)).unwrap_err();
    assert_eq!(err.to_string(), "unknown issuer https://evil.example");
    // A trailing slash is another issuer (OIDC Core §3.1.3.7: exact match).
    c["iss"] = json!(format!("{ISS}/"));
    assert!(matches!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::UnknownIssuer(_))
    ));
    assert_eq!(f.fetch.total(), 0);
}

#[test]
fn meta_issuer_matches_one_label_or_segment_per_star() {
    let pattern = "https://oidc.eks.*.amazonaws.com/id/*";
    let f = Fixture::with(vec![issuer(pattern, IdentityKind::Uri)]);
    let concrete = "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB";
    f.fetch.publish(concrete, &default_jwks());
    let mut c = claims();
    c["iss"] = json!(concrete);
    let id = f.verify(&token_with("RS256", &c)).unwrap();
    assert_eq!(id.issuer, concrete);

    for bad in [
        // `*` must not span a `.` …
        "https://oidc.eks.evil.example.amazonaws.com/id/X",
        // … nor a `/`.
        "https://oidc.eks.us-west-2.amazonaws.com/id/X/Y",
        "https://oidc.eks.evil.com/x.amazonaws.com/id/X",
        "https://oidc.eks..amazonaws.com/id/X",
        "https://oidc.eks.us-west-2.amazonaws.com/id/",
    ] {
        f.fetch.publish(bad, &default_jwks());
        c["iss"] = json!(bad);
        assert!(
            matches!(
                f.verify(&token_with("RS256", &c)),
                Err(OidcError::UnknownIssuer(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn discovery_document_must_name_the_token_issuer() {
    let f = Fixture::new(IdentityKind::Email);
    f.fetch.put(
        &discovery_url(),
        &json!({"issuer": "https://other.example", "jwks_uri": jwks_url()}),
    );
    let err = f.verify(&token("ES256")).unwrap_err();
    assert!(
        matches!(&err, OidcError::Discovery { reason, .. } if reason.contains("names issuer https://other.example")),
        "{err:?}"
    );
}

#[test]
fn https_issuer_may_not_serve_keys_over_http() {
    let f = Fixture::new(IdentityKind::Email);
    f.fetch.put(
        &discovery_url(),
        &json!({"issuer": ISS, "jwks_uri": "http://issuer.example/keys"}),
    );
    assert!(matches!(
        f.verify(&token("ES256")),
        Err(OidcError::Discovery { .. })
    ));
}

// ---------------------------------------------------------------- algorithms and keys

#[test]
fn alg_none_is_rejected() {
    let f = Fixture::new(IdentityKind::Email);
    for alg in ["none", "None", "NONE"] {
        let t = format!(
            "{}.{}.",
            b64(json!({"alg": alg}).to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let err = f.verify(&t).unwrap_err();
        assert_eq!(err, OidcError::AlgNone);
        assert!(err.to_string().contains("algorithm none is not accepted"));
    }
    assert_eq!(f.fetch.total(), 0);
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    // The classic key-confusion attack: use the issuer's public RSA key as an HMAC
    // secret. It must fail however the key is serialised.
    let f = Fixture::new(IdentityKind::Email);
    let k = keys();
    let der = k.rsa.public_key().as_ref().to_vec();
    let jwk_text = rsa_jwk(&k.rsa, "rsa").to_string().into_bytes();
    for secret in [der, jwk_text] {
        for alg in ["HS256", "HS384", "HS512"] {
            let h = match alg {
                "HS256" => aws_lc_rs::hmac::HMAC_SHA256,
                "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
                _ => aws_lc_rs::hmac::HMAC_SHA512,
            };
            let key = aws_lc_rs::hmac::Key::new(h, &secret);
            let t = make_token(&json!({"alg": alg, "kid": "rsa"}), &claims(), &|m| {
                aws_lc_rs::hmac::sign(&key, m).as_ref().to_vec()
            });
            let err = f.verify(&t).unwrap_err();
            assert_eq!(err, OidcError::SymmetricAlg(alg.into()));
        }
    }
    // Even naming the `oct` key in the JWKS does not help.
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
    let t = make_token(&json!({"alg": "HS256", "kid": "oct"}), &claims(), &|m| {
        aws_lc_rs::hmac::sign(&key, m).as_ref().to_vec()
    });
    assert!(matches!(f.verify(&t), Err(OidcError::SymmetricAlg(_))));
}

#[test]
fn unknown_algorithms_are_rejected() {
    let f = Fixture::new(IdentityKind::Email);
    for alg in ["ES512", "PS384", "RS1", "Ed25519", "es256", "", "Hé", "é"] {
        let t = make_token(&json!({"alg": alg, "kid": "rsa"}), &claims(), &|_| vec![1]);
        assert_eq!(
            f.verify(&t),
            Err(OidcError::UnsupportedAlg(alg.into())),
            "{alg}"
        );
    }
}

#[test]
fn header_alg_must_match_the_jwk() {
    let f = Fixture::new(IdentityKind::Email);
    // ES256 header naming the RSA key (signed with the P-256 key).
    let t = make_token(
        &json!({"alg": "ES256", "kid": "rsa"}),
        &claims(),
        &*signer("ES256"),
    );
    let err = f.verify(&t).unwrap_err();
    assert!(matches!(err, OidcError::KeyAlgMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "algorithm ES256 does not match key rsa (an RSA key)"
    );
    // ES384 header naming the P-256 key; EdDSA naming an EC key.
    for (alg, kid) in [("ES384", "p256"), ("EdDSA", "p256"), ("RS256", "ed")] {
        let t = make_token(&json!({"alg": alg, "kid": kid}), &claims(), &*signer(alg));
        assert!(
            matches!(f.verify(&t), Err(OidcError::KeyAlgMismatch { .. })),
            "{alg} {kid}"
        );
    }
}

#[test]
fn jwk_alg_member_binds_the_key_to_one_algorithm() {
    let f = Fixture::new(IdentityKind::Email);
    let mut jwk = rsa_jwk(&keys().rsa, "rsa");
    jwk["alg"] = json!("RS256");
    f.fetch.publish(ISS, &json!({"keys": [jwk]}));
    f.verify(&token("RS256")).unwrap();
    let err = f.verify(&token("PS256")).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not match key rsa (the key declares alg RS256)"),
        "{err}"
    );
}

#[test]
fn tampered_payload_fails_the_signature() {
    let f = Fixture::new(IdentityKind::Email);
    for alg in ["RS256", "PS256", "ES256", "ES384", "EdDSA"] {
        let t = token(alg);
        let parts: Vec<&str> = t.split('.').collect();
        let mut c = claims();
        c["email"] = json!("attacker@example.com");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(c.to_string().as_bytes()),
            parts[2]
        );
        assert_eq!(f.verify(&forged), Err(OidcError::BadSignature), "{alg}");
    }
    // A wrong-length ECDSA signature is a bad signature, not a panic.
    let t = token("ES256");
    let (head, _) = t.rsplit_once('.').unwrap();
    assert_eq!(
        f.verify(&format!("{head}.{}", b64(&[0; 63]))),
        Err(OidcError::BadSignature)
    );
}

#[test]
fn keys_sharing_a_kid_are_told_apart_by_algorithm() {
    let f = Fixture::new(IdentityKind::Email);
    let k = keys();
    f.fetch.publish(
        ISS,
        &json!({"keys": [rsa_jwk(&k.rsa, "shared"), ec_jwk(&k.p256, "P-256", "shared")]}),
    );
    for alg in ["RS256", "ES256"] {
        let t = make_token(
            &json!({"alg": alg, "kid": "shared"}),
            &claims(),
            &*signer(alg),
        );
        f.verify(&t).unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
    let t = make_token(
        &json!({"alg": "EdDSA", "kid": "shared"}),
        &claims(),
        &*signer("EdDSA"),
    );
    assert!(matches!(
        f.verify(&t),
        Err(OidcError::KeyAlgMismatch { .. })
    ));
}

#[test]
fn small_rsa_keys_are_unusable() {
    let f = Fixture::new(IdentityKind::Email);
    let jwk = json!({"kty": "RSA", "kid": "small", "n": b64(&[0xc5; 128]), "e": "AQAB"});
    f.fetch.publish(ISS, &json!({"keys": [jwk]}));
    let t = make_token(
        &json!({"alg": "RS256", "kid": "small"}),
        &claims(),
        &*signer("RS256"),
    );
    let err = f.verify(&t).unwrap_err();
    assert!(matches!(err, OidcError::BadKey { .. }), "{err}");
    assert!(err.to_string().contains("1024 bits is too small"), "{err}");
}

// ---------------------------------------------------------------- key refresh

#[test]
fn unknown_kid_triggers_exactly_one_refetch_then_fails() {
    let f = Fixture::new(IdentityKind::Email);
    f.verify(&token("ES256")).unwrap();
    assert_eq!(
        (f.fetch.calls(&discovery_url()), f.fetch.calls(&jwks_url())),
        (1, 1)
    );

    f.advance(REFRESH);
    let t = make_token(
        &json!({"alg": "ES256", "kid": "rotated"}),
        &claims(),
        &*signer("ES256"),
    );
    let err = f.verify(&t).unwrap_err();
    assert!(matches!(err, OidcError::UnknownKeyId { .. }), "{err}");
    assert!(err.to_string().contains("key id rotated"));
    assert_eq!(
        (f.fetch.calls(&discovery_url()), f.fetch.calls(&jwks_url())),
        (2, 2)
    );
    // Known kids still verify from the cache.
    f.verify(&token("EdDSA")).unwrap();
    assert_eq!(f.fetch.total(), 4);
}

#[test]
fn refetch_rate_limit_is_honoured() {
    let f = Fixture::new(IdentityKind::Email);
    f.verify(&token("ES256")).unwrap();
    let unknown = make_token(
        &json!({"alg": "ES256", "kid": "rotated"}),
        &claims(),
        &*signer("ES256"),
    );
    // Right after the first fetch: no refetch allowed.
    for _ in 0..5 {
        assert!(matches!(
            f.verify(&unknown),
            Err(OidcError::UnknownKeyId { .. })
        ));
        f.advance(REFRESH / 10);
    }
    assert_eq!(f.fetch.calls(&jwks_url()), 1);

    // The key appears; after the interval the next unknown kid picks it up.
    let mut jwks = default_jwks();
    let mut rotated = ec_jwk(&keys().p256, "P-256", "rotated");
    rotated["use"] = json!("sig");
    jwks["keys"].as_array_mut().unwrap().push(rotated);
    f.fetch.publish(ISS, &jwks);
    assert!(f.verify(&unknown).is_err(), "still rate limited");
    f.advance(REFRESH);
    f.verify(&unknown).unwrap();
    assert_eq!(f.fetch.calls(&jwks_url()), 2);
}

#[test]
fn failed_fetch_is_reported_and_rate_limited() {
    let f = Fixture::new(IdentityKind::Email);
    f.fetch.docs.lock().unwrap().clear();
    let err = f.verify(&token("ES256")).unwrap_err();
    assert!(
        matches!(&err, OidcError::Discovery { reason, .. } if reason.contains("HTTP 404")),
        "{err:?}"
    );
    // The caller is told the keys are unavailable, not what the server saw.
    assert_eq!(
        err.to_string(),
        format!("the signing keys of issuer {ISS} could not be fetched; retry later")
    );
    assert!(err.detail().contains("HTTP 404"), "{}", err.detail());
    let err = f.verify(&token("ES256")).unwrap_err();
    assert!(matches!(err, OidcError::KeysUnavailable { .. }), "{err}");
    assert_eq!(f.fetch.total(), 1);

    f.fetch.publish(ISS, &default_jwks());
    f.advance(REFRESH);
    f.verify(&token("ES256")).unwrap();
}

#[test]
fn failed_refresh_keeps_the_cached_keys() {
    let f = Fixture::new(IdentityKind::Email);
    f.verify(&token("RS256")).unwrap();
    f.fetch.docs.lock().unwrap().clear();
    f.advance(REFRESH);
    let t = make_token(
        &json!({"alg": "ES256", "kid": "rotated"}),
        &claims(),
        &*signer("ES256"),
    );
    assert!(matches!(f.verify(&t), Err(OidcError::Discovery { .. })));
    f.verify(&token("RS256")).unwrap();
}

#[test]
fn unknown_issuer_variants_under_a_meta_issuer_have_separate_caches() {
    let f = Fixture::with(vec![issuer("https://*.issuer.example", IdentityKind::Uri)]);
    for tenant in ["a", "b"] {
        let iss = format!("https://{tenant}.issuer.example");
        f.fetch.publish(&iss, &default_jwks());
        let mut c = claims();
        c["iss"] = json!(iss);
        f.verify(&token_with("ES256", &c)).unwrap();
        f.verify(&token_with("ES256", &c)).unwrap();
        assert_eq!(f.fetch.calls(&format!("{iss}/keys")), 1);
    }
}

// ---------------------------------------------------------------- fetching under load

#[test]
fn jwks_uri_must_be_on_the_issuer_host_unless_configured() {
    let elsewhere = "https://keys.elsewhere.example/keys";
    let moved = json!({"issuer": ISS, "jwks_uri": elsewhere});
    let f = Fixture::new(IdentityKind::Email);
    f.fetch.put(&discovery_url(), &moved);
    f.fetch.put(elsewhere, &default_jwks());
    let err = f.verify(&token("ES256")).unwrap_err();
    assert!(
        matches!(&err, OidcError::Discovery { reason, .. } if reason.contains("not on the issuer's host")),
        "{err:?}"
    );
    assert_eq!(f.fetch.calls(elsewhere), 0, "the other host was contacted");

    let mut cfg = issuer(ISS, IdentityKind::Email);
    cfg.jwks_hosts = vec!["KEYS.elsewhere.example".into()];
    let f = Fixture::with(vec![cfg]);
    f.fetch.put(&discovery_url(), &moved);
    f.fetch.put(elsewhere, &default_jwks());
    f.verify(&token("ES256")).unwrap();
}

/// The old code recorded a time-out caused by its own exhausted thread pool as the
/// issuer's failure and refused the issuer's tokens for the whole refresh interval.
#[test]
fn a_fetch_this_server_could_not_make_is_not_held_against_the_issuer() {
    let f = Fixture::new(IdentityKind::Email);
    f.fetch.saturated_once.lock().unwrap().push(discovery_url());
    assert_eq!(f.verify(&token("ES256")), Err(OidcError::Busy));
    assert!(OidcError::Busy.is_unavailable());
    // No waiting out the refresh interval: the next token fetches and verifies.
    f.verify(&token("ES256")).unwrap();
    assert_eq!(f.fetch.calls(&discovery_url()), 2);
}

#[test]
fn concurrent_tokens_for_one_issuer_cause_one_fetch() {
    let fetch = Arc::new(MemFetch::default());
    fetch.publish(ISS, &default_jwks());
    fetch.gated.lock().unwrap().push(discovery_url());
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let verifier = Arc::new(
        Verifier::new(vec![issuer(ISS, IdentityKind::Email)], fetch.clone(), clock).unwrap(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let v = verifier.clone();
                tokio::spawn(async move { v.verify(&token("ES256")).await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        fetch.gate.add_permits(100);
        for w in waiting {
            w.await.unwrap().unwrap();
        }
    });
    assert_eq!(fetch.calls(&discovery_url()), 1);
    assert_eq!(fetch.calls(&jwks_url()), 1);
}

/// Made-up names under a meta-issuer cost a forger nothing: only a few of their fetches
/// run at once, the rest are refused at once (and not held against those names), and
/// configured issuers are not slowed down.
#[test]
fn fetches_for_new_meta_issuer_names_are_bounded() {
    let fetch = Arc::new(MemFetch::default());
    fetch.publish(ISS, &default_jwks());
    fetch.hang.lock().unwrap().push("https://t".into());
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let verifier = Arc::new(
        Verifier::new(
            vec![
                issuer(ISS, IdentityKind::Email),
                issuer("https://*.tenant.example", IdentityKind::Uri),
            ],
            fetch.clone(),
            clock,
        )
        .unwrap()
        .with_new_issuer_fetch_limit(2),
    );
    let tenant_token = |i: usize| {
        let mut c = claims();
        c["iss"] = json!(format!("https://t{i}.tenant.example"));
        token_with("ES256", &c)
    };
    let discovery_of =
        |i: usize| format!("https://t{i}.tenant.example/.well-known/openid-configuration");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let hung: Vec<_> = (0..2)
            .map(|i| {
                let (v, t) = (verifier.clone(), tenant_token(i));
                tokio::spawn(async move { v.verify(&t).await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            (fetch.calls(&discovery_of(0)), fetch.calls(&discovery_of(1))),
            (1, 1)
        );
        for i in 2..10 {
            assert_eq!(
                verifier.verify(&tenant_token(i)).await,
                Err(OidcError::Busy)
            );
            assert_eq!(fetch.calls(&discovery_of(i)), 0);
        }
        verifier.verify(&token("ES256")).await.unwrap();

        // Once the hung fetches end, a refused name is fetched at once (it hangs too).
        for h in &hung {
            h.abort();
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let retry = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            verifier.verify(&tenant_token(2)),
        )
        .await;
        assert!(
            retry.is_err(),
            "expected a fetch in progress, got {retry:?}"
        );
        assert_eq!(fetch.calls(&discovery_of(2)), 1);
    });
}

// ---------------------------------------------------------------- identities

#[test]
fn email_issuer_requires_email_verified() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("email_verified");
    let err = f.verify(&token_with("ES256", &c)).unwrap_err();
    assert_eq!(err, OidcError::EmailNotVerified("dev@example.com".into()));
    for v in [json!(false), json!("false"), json!("yes"), json!(1)] {
        c["email_verified"] = v;
        assert!(matches!(
            f.verify(&token_with("ES256", &c)),
            Err(OidcError::EmailNotVerified(_))
        ));
    }
    c["email_verified"] = json!("true");
    assert_eq!(
        f.verify(&token_with("ES256", &c)).unwrap().identity,
        "dev@example.com"
    );
    c.as_object_mut().unwrap().remove("email");
    assert_eq!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::MissingClaim("email"))
    );
}

#[test]
fn spiffe_subject_must_be_in_the_issuer_trust_domain() {
    let f = Fixture::new(IdentityKind::Spiffe);
    let mut c = claims();
    c["sub"] = json!("spiffe://issuer.example/ns/prod/sa/builder");
    assert_eq!(
        f.verify(&token_with("ES256", &c)).unwrap().identity,
        "spiffe://issuer.example/ns/prod/sa/builder"
    );
    for bad in [
        "spiffe://other.example/ns/prod",
        "user-1234",
        "spiffe://issuer.example",
    ] {
        c["sub"] = json!(bad);
        assert!(
            matches!(
                f.verify(&token_with("ES256", &c)),
                Err(OidcError::BadSpiffeId { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn missing_sub_is_rejected() {
    let f = Fixture::new(IdentityKind::Uri);
    let mut c = claims();
    c["sub"] = json!("");
    assert_eq!(
        f.verify(&token_with("ES256", &c)),
        Err(OidcError::MissingClaim("sub"))
    );
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_tokens_are_rejected_without_fetching() {
    let f = Fixture::new(IdentityKind::Email);
    let good = token("ES256");
    let parts: Vec<&str> = good.split('.').collect();
    let hdr = |v: &str| b64(v.as_bytes());
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "Malformed"),
        ("abc".into(), "Malformed"),
        (format!("{}.{}", parts[0], parts[1]), "Malformed"),
        (format!("{good}.x"), "Malformed"),
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            "Malformed",
        ),
        (
            format!("{}.{}.{}!", parts[0], parts[1], parts[2]),
            "Malformed",
        ),
        (format!("{}.{}.{}", "e30+", parts[1], parts[2]), "Malformed"),
        (
            format!("{}.{}.{}", hdr("not json"), parts[1], parts[2]),
            "BadHeader",
        ),
        (
            format!("{}.{}.{}", hdr("[1]"), parts[1], parts[2]),
            "BadHeader",
        ),
        (
            format!("{}.{}.{}", hdr("{}"), parts[1], parts[2]),
            "BadHeader",
        ),
        (
            format!("{}.{}.{}", hdr(r#"{"alg":5}"#), parts[1], parts[2]),
            "BadHeader",
        ),
        (
            format!(
                "{}.{}.{}",
                hdr(r#"{"alg":"ES256","kid":1}"#),
                parts[1],
                parts[2]
            ),
            "BadHeader",
        ),
        (
            format!(
                "{}.{}.{}",
                hdr(r#"{"alg":"ES256","crit":["exp"],"exp":1}"#),
                parts[1],
                parts[2]
            ),
            "BadHeader",
        ),
        (
            format!("{}.{}.{}", parts[0], hdr("[]"), parts[2]),
            "BadClaims",
        ),
        (
            format!("{}.{}.{}", parts[0], hdr("\u{0}"), parts[2]),
            "BadClaims",
        ),
        (format!("{}..{}", parts[0], parts[2]), "Malformed"),
        (format!("{}.{}.", parts[0], parts[1]), "Malformed"),
        (
            format!("{}.{}.{}", parts[0], hdr(&"[".repeat(5000)), parts[2]),
            "BadClaims",
        ),
    ];
    for (t, want) in cases {
        let err = f.verify(&t).unwrap_err();
        let got = format!("{err:?}");
        assert!(got.starts_with(want), "{t:?}: {got}");
    }
    assert_eq!(f.fetch.total(), 0);
}

#[test]
fn oversized_tokens_are_rejected_before_parsing() {
    let f = Fixture::new(IdentityKind::Email);
    let mut c = claims();
    c["pad"] = json!("x".repeat(MAX_TOKEN_BYTES));
    let t = token_with("ES256", &c);
    assert!(matches!(f.verify(&t), Err(OidcError::TooLarge { .. })));
    assert_eq!(f.fetch.total(), 0);
}

#[test]
fn config_is_validated() {
    let fetch: Arc<dyn Fetch> = Arc::new(MemFetch::default());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(NOW * 1000));
    for bad in [
        vec![issuer("", IdentityKind::Email)],
        vec![issuer("ftp://x", IdentityKind::Email)],
        vec![issuer("*://x", IdentityKind::Email)],
        // A `*` for a whole host, or for a registrable domain, accepts anyone's issuer.
        vec![issuer("https://*", IdentityKind::Email)],
        vec![issuer("https://*.com/x", IdentityKind::Email)],
        vec![issuer(
            "https://issuer.example/x?tenant=*",
            IdentityKind::Email,
        )],
        vec![
            issuer(ISS, IdentityKind::Email),
            issuer(ISS, IdentityKind::Uri),
        ],
        vec![IssuerConfig {
            client_id: String::new(),
            ..issuer(ISS, IdentityKind::Email)
        }],
    ] {
        assert!(matches!(
            Verifier::new(bad, fetch.clone(), clock.clone()),
            Err(OidcError::Config(_))
        ));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,400}") {
        let f = Fixture::new(IdentityKind::Email);
        let _ = f.verify(&s);
    }

    #[test]
    fn arbitrary_base64_parts_never_panic(
        h in proptest::collection::vec(any::<u8>(), 0..64),
        p in proptest::collection::vec(any::<u8>(), 0..64),
        s in proptest::collection::vec(any::<u8>(), 0..64),
        alg in prop::sample::select(vec!["RS256", "ES256", "ES384", "EdDSA", "PS256"]),
    ) {
        let f = Fixture::new(IdentityKind::Email);
        let _ = f.verify(&format!("{}.{}.{}", b64(&h), b64(&p), b64(&s)));
        // A valid header and claims with a random signature must fail cleanly.
        let header = json!({"alg": alg, "kid": kid_for(alg)});
        let t = make_token(&header, &claims(), &|_| s.clone());
        prop_assert!(f.verify(&t).is_err());
    }
}

// ---------------------------------------------------------------- cross-check

/// Tokens made by Python `cryptography` (tests/python/make_tokens.py), an
/// implementation independent of ours, must verify.
#[test]
fn tokens_signed_by_python_cryptography_verify() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/make_tokens.py");
    let out = std::process::Command::new("python3")
        .args([script, ISS, AUD, &NOW.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for this cross-check test: {e}"));
    assert!(
        out.status.success(),
        "make_tokens.py failed (is python3-cryptography installed?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();

    let f = Fixture::new(IdentityKind::Email);
    f.fetch.publish(ISS, &doc["jwks"]);
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let t = doc["tokens"][alg].as_str().unwrap();
        let id = f
            .verify(t)
            .unwrap_or_else(|e| panic!("python {alg} token: {e}"));
        assert_eq!(
            (id.subject.as_str(), id.identity.as_str()),
            ("python-subject", "py@example.com")
        );
        // …and a one-bit change to the Python token's signature breaks it.
        let (head, sig) = t.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[0] ^= 1;
        assert_eq!(
            f.verify(&format!("{head}.{}", b64(&sig))),
            Err(OidcError::BadSignature),
            "{alg}"
        );
    }
}
