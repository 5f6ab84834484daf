//! OIDC identity-token verification with Fulcio semantics: who may get a
//! code-signing certificate, and which identity goes into its SAN.
//!
//! A token is a compact JWS (RFC 7515 §7.1) carrying JWT claims (RFC 7519). We
//! accept only the asymmetric algorithms of RFC 7518 §3.1 / RFC 8037 §3.1 that
//! identity providers use; the signing key comes from the issuer's JWKS, found
//! through OpenID Connect Discovery 1.0 §4. Keys embedded in the token header
//! (`jwk`, `jku`, `x5u`, `x5c`) are never used: trusting them would let anyone
//! mint tokens.
//!
//! The module does no I/O: documents come through [`Fetch`], time through [`Clock`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clock::{Clock, format_time_ms};
use serde_json::{Map, Value};
use thiserror::Error;

/// Largest token accepted, in bytes. Real ID tokens are 1–3 KiB; the cap bounds
/// the work an unauthenticated caller can make us do before any signature check.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Largest discovery document or JWKS parsed, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Default minimum interval between two fetches of one issuer's keys, in seconds.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 60;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3: "2048 bits or larger").
pub const MIN_RSA_BITS: usize = 2048;

/// Most concrete issuers whose keys are cached at once. Meta-issuers let callers
/// name any number of concrete issuers, so the cache must be bounded.
pub const MAX_CACHED_ISSUERS: usize = 256;

/// How the verified token becomes a certificate identity (Fulcio issuer types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    /// SAN rfc822Name from the `email` claim; requires `email_verified`.
    Email,
    /// SAN URI from `sub`, a SPIFFE ID in the issuer host's trust domain.
    Spiffe,
    /// SAN URI from `sub`.
    Uri,
    /// Username identity from `sub`.
    Username,
    /// CI workflow identity (GitHub Actions, GitLab CI, …) from `sub`; the
    /// certificate code copies the workflow claims from [`VerifiedIdentity::claims`].
    CiWorkflow,
}

/// One trusted OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The issuer URL as it appears in `iss`. A `*` makes it a meta-issuer: each `*`
    /// stands for one or more of `[-_a-zA-Z0-9]`, so it never spans a `/` or a `.`
    /// (one DNS label or path segment), as in Fulcio.
    pub issuer_url: String,
    /// The audience the token must carry (Fulcio: `sigstore`).
    pub client_id: String,
    /// How the identity is derived.
    pub kind: IdentityKind,
}

/// The outcome of a successful [`Verifier::verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedIdentity {
    /// The token's `iss` (the concrete issuer, also for meta-issuers).
    pub issuer: String,
    /// The token's `sub`.
    pub subject: String,
    /// The value for the certificate SAN (email address, SPIFFE ID or `sub`).
    pub identity: String,
    /// The configured kind of the matching issuer.
    pub kind: IdentityKind,
    /// The token's `exp` (Unix seconds); a certificate should not outlive it by much.
    pub expires_at: u64,
    /// All claims, verified, for copying CI-workflow claims into the certificate.
    pub claims: Value,
}

/// Why a fetch failed (network, HTTP status, …), as told by the [`Fetch`] implementation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Retrieves a document (discovery or JWKS) by URL. Implemented by the server with an
/// HTTP client; the verifier calls it with its per-issuer lock held, so concurrent
/// requests for one issuer cause one fetch, not a stampede.
pub trait Fetch: Send + Sync {
    /// The response body of a successful `GET url`.
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
}

/// Errors of token verification and verifier configuration. Every message is meant
/// for the person who presented the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OidcError {
    /// The issuer list is unusable.
    #[error("invalid OIDC issuer configuration: {0}")]
    Config(String),
    /// The token exceeds [`MAX_TOKEN_BYTES`].
    #[error("token is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Token length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token is not three dot-separated base64url parts.
    #[error("token is not a compact JWS: {0}")]
    Malformed(String),
    /// The JOSE header is not usable.
    #[error("bad token header: {0}")]
    BadHeader(String),
    /// `alg` is `none`: an unsigned token.
    #[error("algorithm none is not accepted: the token must be signed")]
    AlgNone,
    /// An HMAC algorithm: the "key" would be public, so anyone could sign.
    #[error("algorithm {0} is not accepted: symmetric (HMAC) signatures are never trusted")]
    SymmetricAlg(String),
    /// Any other algorithm we do not implement.
    #[error(
        "algorithm {0} is not accepted (accepted: RS256, RS384, RS512, PS256, ES256, ES384, EdDSA)"
    )]
    UnsupportedAlg(String),
    /// The payload is not a JSON object of valid claims.
    #[error("bad token claims: {0}")]
    BadClaims(String),
    /// A required claim is absent.
    #[error("token has no {0} claim")]
    MissingClaim(&'static str),
    /// `iss` matches no configured issuer.
    #[error("unknown issuer {0}")]
    UnknownIssuer(String),
    /// The discovery document could not be fetched or is invalid.
    #[error("OpenID discovery for issuer {issuer} failed: {reason}")]
    Discovery {
        /// The token's issuer.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
    /// The JWKS could not be fetched or is invalid.
    #[error("fetching the signing keys of issuer {issuer} failed: {reason}")]
    Jwks {
        /// The token's issuer.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
    /// A previous fetch failed and the rate limit forbids another one yet.
    #[error(
        "the signing keys of issuer {issuer} are unavailable (last fetch failed: {reason}); retry in {retry_in} s"
    )]
    KeysUnavailable {
        /// The token's issuer.
        issuer: String,
        /// The last fetch failure.
        reason: String,
        /// Seconds until the next fetch is allowed.
        retry_in: u64,
    },
    /// The header's `kid` is not in the issuer's JWKS, even after a refetch (or a
    /// refetch was not yet allowed).
    #[error(
        "key id {kid} is not among the signing keys of issuer {issuer} (keys are refetched at most every {refresh_secs} s)"
    )]
    UnknownKeyId {
        /// The token's issuer.
        issuer: String,
        /// The header's `kid`.
        kid: String,
        /// The refetch interval.
        refresh_secs: u64,
    },
    /// No `kid` in the header and no key of the issuer fits the algorithm.
    #[error("issuer {issuer} publishes no key usable with algorithm {alg}")]
    NoUsableKey {
        /// The token's issuer.
        issuer: String,
        /// The header's `alg`.
        alg: String,
    },
    /// The key named by `kid` is of another type or declares another algorithm; this
    /// is what blocks algorithm-confusion attacks.
    #[error("algorithm {alg} does not match key {kid} ({key})")]
    KeyAlgMismatch {
        /// The header's `alg`.
        alg: String,
        /// The key's `kid`.
        kid: String,
        /// The key's type, curve or declared algorithm.
        key: String,
    },
    /// The key named by `kid` cannot be used (malformed, too small, wrong `use`).
    #[error("key {kid} of issuer {issuer} is unusable: {reason}")]
    BadKey {
        /// The token's issuer.
        issuer: String,
        /// The key's `kid`.
        kid: String,
        /// Why.
        reason: String,
    },
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` is in the past (beyond the skew).
    #[error("token expired at {expired_at} (now {now}, {CLOCK_SKEW_SECS} s clock skew allowed)")]
    Expired {
        /// `exp`, RFC 3339.
        expired_at: String,
        /// Current time, RFC 3339.
        now: String,
    },
    /// `nbf` is in the future (beyond the skew).
    #[error(
        "token is not valid before {not_before} (now {now}, {CLOCK_SKEW_SECS} s clock skew allowed)"
    )]
    NotYetValid {
        /// `nbf`, RFC 3339.
        not_before: String,
        /// Current time, RFC 3339.
        now: String,
    },
    /// `iat` is in the future (beyond the skew).
    #[error("token claims to be issued at {issued_at}, in the future (now {now})")]
    IssuedInFuture {
        /// `iat`, RFC 3339.
        issued_at: String,
        /// Current time, RFC 3339.
        now: String,
    },
    /// `aud` does not contain the client id.
    #[error("audience {audience} is not the configured client id {client_id}")]
    WrongAudience {
        /// The token's audience(s).
        audience: String,
        /// The configured client id.
        client_id: String,
    },
    /// Email issuer, but the provider did not verify the address.
    #[error("email address {0} is not verified by the issuer (email_verified is not true)")]
    EmailNotVerified(String),
    /// A SPIFFE issuer's `sub` is not a SPIFFE ID in its trust domain.
    #[error("subject {subject} is not a SPIFFE ID in trust domain {trust_domain}: {reason}")]
    BadSpiffeId {
        /// The token's `sub`.
        subject: String,
        /// The trust domain expected.
        trust_domain: String,
        /// Why.
        reason: String,
    },
}

/// JWS algorithms we verify (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JwsAlg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Es256,
    Es384,
    EdDsa,
}

impl JwsAlg {
    fn parse(alg: &str) -> Result<Self, OidcError> {
        Ok(match alg {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "EdDSA" => Self::EdDsa,
            // Case-insensitively, so that "None" or "NONE" gets the clear message too;
            // they are rejected either way.
            a if a.eq_ignore_ascii_case("none") => return Err(OidcError::AlgNone),
            a if a.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) => {
                return Err(OidcError::SymmetricAlg(printable(a)));
            }
            a => return Err(OidcError::UnsupportedAlg(printable(a))),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// A public key from a JWK (RFC 7518 §6, RFC 8037 §2), already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point `04 || x || y`.
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl PublicKey {
    fn description(&self) -> &'static str {
        match self {
            Self::Rsa { .. } => "an RSA key",
            Self::P256(_) => "an EC P-256 key",
            Self::P384(_) => "an EC P-384 key",
            Self::Ed25519(_) => "an Ed25519 key",
        }
    }

    fn fits(&self, alg: JwsAlg) -> bool {
        use JwsAlg::*;
        matches!(
            (self, alg),
            (Self::Rsa { .. }, Rs256 | Rs384 | Rs512 | Ps256)
                | (Self::P256(_), Es256)
                | (Self::P384(_), Es384)
                | (Self::Ed25519(_), EdDsa)
        )
    }

    /// Verifies `sig` over `msg`. The caller has checked [`Self::fits`].
    fn verify(&self, alg: JwsAlg, msg: &[u8], sig: &[u8]) -> bool {
        use JwsAlg::*;
        match self {
            Self::Rsa { n, e } => {
                let params = match alg {
                    Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    _ => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, msg, sig)
                    .is_ok()
            }
            // RFC 7518 §3.4: the JWS ECDSA signature is the fixed-size R || S.
            Self::P256(point) if alg == Es256 && sig.len() == 64 => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, sig)
                    .is_ok()
            }
            Self::P384(point) if alg == Es384 && sig.len() == 96 => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(msg, sig)
                    .is_ok()
            }
            Self::Ed25519(x) if alg == EdDsa => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(msg, sig)
                .is_ok(),
            _ => false,
        }
    }
}

/// One JWKS entry. Entries that fail to parse are kept with their error, so that a
/// token naming one gets the precise reason rather than "unknown key id".
#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    /// The JWK's optional `alg` (RFC 7517 §4.4); if present, it must equal the header's.
    alg: Option<String>,
    key: Result<PublicKey, String>,
}

impl Jwk {
    /// Whether `alg` may be used with this key; `Err` names what the key is instead.
    fn check_alg(&self, alg: JwsAlg) -> Result<&PublicKey, Result<String, String>> {
        let key = self.key.as_ref().map_err(|e| Err(e.clone()))?;
        if let Some(declared) = &self.alg
            && declared != alg.name()
        {
            return Err(Ok(format!("the key declares alg {}", printable(declared))));
        }
        if !key.fits(alg) {
            return Err(Ok(key.description().to_string()));
        }
        Ok(key)
    }
}

/// What we hold for one concrete issuer. `last_fetch` is the time of the last fetch
/// attempt, successful or not: it is what the rate limit counts from.
#[derive(Debug, Default)]
struct IssuerKeys {
    keys: Option<Arc<[Jwk]>>,
    last_fetch: Option<u64>,
    last_error: Option<OidcError>,
}

#[derive(Debug)]
struct CacheEntry {
    state: Arc<Mutex<IssuerKeys>>,
    /// For least-recently-used eviction: a flood of made-up meta-issuer names must
    /// push out its own entries, not the configured issuers that are in daily use.
    last_used: u64,
}

/// Verifies OIDC identity tokens against a fixed list of issuers. `Send + Sync`;
/// share one per process so the key cache is shared.
pub struct Verifier {
    issuers: Vec<IssuerConfig>,
    fetch: Arc<dyn Fetch>,
    clock: Arc<dyn Clock>,
    refresh_secs: u64,
    cache: Mutex<HashMap<String, CacheEntry>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers)
            .field("refresh_secs", &self.refresh_secs)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, ignoring poisoning: the guarded data stays consistent because every
/// update is a single assignment.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Verifier {
    /// Builds a verifier. Rejects empty issuer URLs or client ids, duplicate issuer
    /// URLs, and a `*` outside the host and path of an `http(s)://` URL.
    pub fn new(
        issuers: Vec<IssuerConfig>,
        fetch: Arc<dyn Fetch>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OidcError> {
        for (i, cfg) in issuers.iter().enumerate() {
            let url = &cfg.issuer_url;
            if url.is_empty() || cfg.client_id.is_empty() {
                return Err(OidcError::Config(format!(
                    "issuer #{i} needs a non-empty issuer URL and client id"
                )));
            }
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                Some(r) if !r.is_empty() => {}
                _ => {
                    return Err(OidcError::Config(format!(
                        "issuer URL {url} must start with https:// (or http:// for testing)"
                    )));
                }
            }
            if issuers[..i].iter().any(|o| o.issuer_url == *url) {
                return Err(OidcError::Config(format!("issuer {url} is listed twice")));
            }
        }
        Ok(Self {
            issuers,
            fetch,
            clock,
            refresh_secs: DEFAULT_JWKS_REFRESH_SECS,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Sets the minimum interval between two key fetches for one issuer (default
    /// [`DEFAULT_JWKS_REFRESH_SECS`]). The limit stops a stream of tokens with made-up
    /// `kid`s from turning us into a load generator against the identity provider.
    pub fn with_jwks_refresh_interval(mut self, secs: u64) -> Self {
        self.refresh_secs = secs;
        self
    }

    /// Now, in the whole seconds of JWT NumericDates (RFC 7519 §2).
    fn now_secs(&self) -> u64 {
        self.clock.now_ms() / 1000
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &[IssuerConfig] {
        &self.issuers
    }

    /// The configuration that accepts `iss`: an exact match first, then the first
    /// meta-issuer whose pattern matches.
    pub fn issuer_for(&self, iss: &str) -> Option<&IssuerConfig> {
        self.issuers
            .iter()
            .find(|c| c.issuer_url == iss)
            .or_else(|| {
                self.issuers
                    .iter()
                    .find(|c| c.issuer_url.contains('*') && meta_issuer_matches(&c.issuer_url, iss))
            })
    }

    /// Verifies `token` (a compact-serialised signed JWT) and derives the identity.
    ///
    /// Order: structure and header (cheap, no I/O) → issuer lookup → key lookup and
    /// signature → time and audience claims → identity. Claims other than `iss` are
    /// only interpreted after the signature verified.
    pub fn verify(&self, token: &str) -> Result<VerifiedIdentity, OidcError> {
        let jws = parse_compact(token)?;
        let iss = match jws.claims.get("iss") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(OidcError::BadClaims("iss is not a string".into())),
            None => return Err(OidcError::MissingClaim("iss")),
        };
        let cfg = self
            .issuer_for(iss)
            .ok_or_else(|| OidcError::UnknownIssuer(printable(iss)))?;

        self.verify_signature(iss, &jws)?;

        let now = self.now_secs();
        let claims = &jws.claims;
        let exp = numeric_date(claims, "exp")?.ok_or(OidcError::MissingClaim("exp"))?;
        if exp.saturating_add(CLOCK_SKEW_SECS) <= now {
            return Err(OidcError::Expired {
                expired_at: rfc3339(exp),
                now: rfc3339(now),
            });
        }
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && nbf > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(OidcError::NotYetValid {
                not_before: rfc3339(nbf),
                now: rfc3339(now),
            });
        }
        if let Some(iat) = numeric_date(claims, "iat")?
            && iat > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(OidcError::IssuedInFuture {
                issued_at: rfc3339(iat),
                now: rfc3339(now),
            });
        }
        check_audience(claims, &cfg.client_id)?;

        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) | None => return Err(OidcError::MissingClaim("sub")),
            Some(_) => return Err(OidcError::BadClaims("sub is not a string".into())),
        };
        let identity = match cfg.kind {
            IdentityKind::Email => email_identity(claims)?,
            IdentityKind::Spiffe => {
                check_spiffe_id(&subject, &host_of(iss))?;
                subject.clone()
            }
            IdentityKind::Uri | IdentityKind::Username | IdentityKind::CiWorkflow => {
                subject.clone()
            }
        };
        Ok(VerifiedIdentity {
            issuer: iss.to_string(),
            subject,
            identity,
            kind: cfg.kind,
            expires_at: exp,
            claims: Value::Object(jws.claims.clone()),
        })
    }

    /// Finds the key for the token and checks the signature, fetching or refetching
    /// the issuer's keys as the rate limit allows.
    fn verify_signature(&self, iss: &str, jws: &Jws<'_>) -> Result<(), OidcError> {
        let state = self.issuer_state(iss);
        let mut keys = self.keys(iss, &state, false)?;
        let msg = jws.signing_input.as_bytes();
        match &jws.kid {
            Some(kid) => {
                // RFC 7517 §4.5 lets keys of different types share a kid; prefer one
                // that fits the algorithm, else report why the first one does not.
                let find = |keys: &[Jwk]| {
                    let mut named = keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                    let first = named.clone().next();
                    named
                        .find(|k| k.check_alg(jws.alg).is_ok())
                        .or(first)
                        .cloned()
                };
                let mut jwk = find(&keys);
                if jwk.is_none() {
                    // Providers rotate keys; a new kid is the signal to look again.
                    keys = self.keys(iss, &state, true)?;
                    jwk = find(&keys);
                }
                let jwk = jwk.ok_or_else(|| OidcError::UnknownKeyId {
                    issuer: iss.to_string(),
                    kid: printable(kid),
                    refresh_secs: self.refresh_secs,
                })?;
                let key = jwk.check_alg(jws.alg).map_err(|e| match e {
                    Ok(key) => OidcError::KeyAlgMismatch {
                        alg: jws.alg.name().into(),
                        kid: printable(kid),
                        key,
                    },
                    Err(reason) => OidcError::BadKey {
                        issuer: iss.to_string(),
                        kid: printable(kid),
                        reason,
                    },
                })?;
                if key.verify(jws.alg, msg, &jws.signature) {
                    Ok(())
                } else {
                    Err(OidcError::BadSignature)
                }
            }
            None => {
                // RFC 7515 §6 allows a JWS without kid; try every key fitting the alg.
                let candidates: Vec<&PublicKey> = keys
                    .iter()
                    .filter_map(|k| k.check_alg(jws.alg).ok())
                    .collect();
                if candidates.is_empty() {
                    return Err(OidcError::NoUsableKey {
                        issuer: iss.to_string(),
                        alg: jws.alg.name().into(),
                    });
                }
                if candidates
                    .iter()
                    .any(|k| k.verify(jws.alg, msg, &jws.signature))
                {
                    Ok(())
                } else {
                    Err(OidcError::BadSignature)
                }
            }
        }
    }

    fn issuer_state(&self, iss: &str) -> Arc<Mutex<IssuerKeys>> {
        let now = self.now_secs();
        let mut cache = lock(&self.cache);
        if let Some(entry) = cache.get_mut(iss) {
            entry.last_used = now;
            return entry.state.clone();
        }
        if cache.len() >= MAX_CACHED_ISSUERS {
            let oldest = cache
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        let state = Arc::new(Mutex::new(IssuerKeys::default()));
        cache.insert(
            iss.to_string(),
            CacheEntry {
                state: state.clone(),
                last_used: now,
            },
        );
        state
    }

    /// The issuer's keys: the cached set, unless there is none or `refresh` asks for a
    /// new one — and then only if the rate limit allows a fetch.
    fn keys(
        &self,
        iss: &str,
        state: &Mutex<IssuerKeys>,
        refresh: bool,
    ) -> Result<Arc<[Jwk]>, OidcError> {
        let mut st = lock(state);
        if let (Some(keys), false) = (&st.keys, refresh) {
            return Ok(keys.clone());
        }
        let now = self.now_secs();
        let next_allowed = st.last_fetch.map(|t| t.saturating_add(self.refresh_secs));
        if let Some(next) = next_allowed
            && now < next
        {
            return match (&st.keys, &st.last_error) {
                (Some(keys), _) => Ok(keys.clone()),
                (None, Some(err)) => Err(OidcError::KeysUnavailable {
                    issuer: iss.to_string(),
                    reason: err.to_string(),
                    retry_in: next - now,
                }),
                (None, None) => Err(OidcError::KeysUnavailable {
                    issuer: iss.to_string(),
                    reason: "no keys".into(),
                    retry_in: next - now,
                }),
            };
        }
        st.last_fetch = Some(now);
        match self.fetch_keys(iss) {
            Ok(keys) => {
                let keys: Arc<[Jwk]> = keys.into();
                st.keys = Some(keys.clone());
                st.last_error = None;
                Ok(keys)
            }
            Err(e) => {
                st.last_error = Some(e.clone());
                // A failed refresh keeps the old keys: the IdP being down must not
                // invalidate tokens signed by keys we already trust.
                Err(e)
            }
        }
    }

    /// OpenID Connect Discovery 1.0 §4: `{iss}/.well-known/openid-configuration`
    /// names `jwks_uri`; its `issuer` must equal `iss` exactly (§4.3), or a
    /// compromised document could hand out another issuer's identities.
    fn fetch_keys(&self, iss: &str) -> Result<Vec<Jwk>, OidcError> {
        let discovery_err = |reason: String| OidcError::Discovery {
            issuer: iss.to_string(),
            reason,
        };
        let url = format!(
            "{}/.well-known/openid-configuration",
            iss.trim_end_matches('/')
        );
        let body = self
            .fetch
            .get(&url)
            .map_err(|e| discovery_err(format!("{url}: {e}")))?;
        let doc = parse_json_object(&body).map_err(|e| discovery_err(format!("{url}: {e}")))?;
        match doc.get("issuer") {
            Some(Value::String(s)) if s == iss => {}
            Some(Value::String(s)) => {
                return Err(discovery_err(format!(
                    "the discovery document names issuer {}, not {iss}",
                    printable(s)
                )));
            }
            _ => return Err(discovery_err("the discovery document has no issuer".into())),
        }
        let jwks_uri = match doc.get("jwks_uri") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => {
                return Err(discovery_err(
                    "the discovery document has no jwks_uri".into(),
                ));
            }
        };
        // An https issuer must not downgrade its keys to plain http.
        let scheme_ok = jwks_uri.starts_with("https://")
            || (jwks_uri.starts_with("http://") && iss.starts_with("http://"));
        if !scheme_ok {
            return Err(discovery_err(format!(
                "jwks_uri {} must be an https:// URL",
                printable(jwks_uri)
            )));
        }
        let jwks_err = |reason: String| OidcError::Jwks {
            issuer: iss.to_string(),
            reason: format!("{jwks_uri}: {reason}"),
        };
        let body = self
            .fetch
            .get(jwks_uri)
            .map_err(|e| jwks_err(e.to_string()))?;
        parse_jwks(&body).map_err(jwks_err)
    }
}

/// Fulcio's meta-issuer match: the pattern is literal except that each `*` matches
/// one or more of `[-_a-zA-Z0-9]`. Both strings are short (the token is capped), so
/// the quadratic dynamic programme is fine.
fn meta_issuer_matches(pattern: &str, iss: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), iss.as_bytes());
    let wild = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    // prev[j]: pattern[..i] matches iss[..j].
    let mut prev = vec![false; s.len() + 1];
    prev[0] = true;
    for &pc in p {
        let mut cur = vec![false; s.len() + 1];
        for j in 1..=s.len() {
            let c = s[j - 1];
            cur[j] = if pc == b'*' {
                // Either this char starts the star's run or extends it.
                wild(c) && (prev[j - 1] || cur[j - 1])
            } else {
                pc == c && prev[j - 1]
            };
        }
        prev = cur;
    }
    prev[s.len()]
}

/// A parsed, not yet verified, compact JWS.
struct Jws<'a> {
    alg: JwsAlg,
    kid: Option<String>,
    claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)` (RFC 7515 §5.2 step 8).
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// RFC 7515 §5.2 steps 1–7, strictly: three parts, canonical unpadded base64url,
/// a JSON-object header with a supported `alg` and no `crit`, a JSON-object payload.
fn parse_compact(token: &str) -> Result<Jws<'_>, OidcError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(OidcError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(OidcError::Malformed(format!(
            "expected 3 dot-separated parts, found {}",
            parts.len()
        )));
    }
    let decode = |part: &str, name: &str| {
        if part.is_empty() {
            return Err(OidcError::Malformed(format!("the {name} is empty")));
        }
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| OidcError::Malformed(format!("the {name} is not unpadded base64url")))
    };
    // The header first: an unsigned (`alg: none`) token has an empty signature part,
    // and deserves the error that says why it is refused.
    let header_bytes = decode(parts[0], "header")?;
    let header = parse_json_object(&header_bytes).map_err(OidcError::BadHeader)?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) => JwsAlg::parse(a)?,
        Some(_) => return Err(OidcError::BadHeader("alg is not a string".into())),
        None => return Err(OidcError::BadHeader("no alg".into())),
    };
    // RFC 7515 §4.1.11: extensions listed in crit that we do not understand (all of
    // them) MUST make the JWS invalid.
    if header.contains_key("crit") {
        return Err(OidcError::BadHeader(
            "critical header extensions (crit) are not supported".into(),
        ));
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) => Some(k.clone()),
        None => None,
        Some(_) => return Err(OidcError::BadHeader("kid is not a string".into())),
    };
    let payload_bytes = decode(parts[1], "payload")?;
    let signature = decode(parts[2], "signature")?;
    let claims = parse_json_object(&payload_bytes).map_err(OidcError::BadClaims)?;
    let signing_input = &token[..parts[0].len() + 1 + parts[1].len()];
    Ok(Jws {
        alg,
        kid,
        claims,
        signing_input,
        signature,
    })
}

fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "document of {} bytes exceeds the {MAX_DOCUMENT_BYTES}-byte limit",
            bytes.len()
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not valid JSON ({e})")),
    }
}

/// RFC 7517 §5: `{"keys": [JWK, …]}`. Keys with `use` other than `sig` are dropped
/// (RFC 7517 §4.2), as are key types we never verify with (`oct` above all: a
/// symmetric JWKS entry must never become an HMAC secret).
fn parse_jwks(bytes: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc = parse_json_object(bytes)?;
    let Some(Value::Array(keys)) = doc.get("keys") else {
        return Err("the JWKS has no keys array".into());
    };
    let mut out = Vec::new();
    for k in keys {
        let Value::Object(k) = k else { continue };
        let str_member = |name: &str| match k.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        if str_member("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let kty = str_member("kty").unwrap_or_default();
        if !matches!(kty.as_str(), "RSA" | "EC" | "OKP") {
            continue;
        }
        out.push(Jwk {
            kid: str_member("kid"),
            alg: str_member("alg"),
            key: parse_public_key(&kty, k),
        });
    }
    Ok(out)
}

fn parse_public_key(kty: &str, k: &Map<String, Value>) -> Result<PublicKey, String> {
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        match k.get(name) {
            Some(Value::String(s)) => URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| format!("member {name} is not unpadded base64url")),
            _ => Err(format!("member {name} is missing")),
        }
    };
    let crv = match k.get("crv") {
        Some(Value::String(s)) => s.as_str(),
        _ => "",
    };
    match kty {
        "RSA" => {
            // RFC 7518 §6.3.1.1 forbids leading zeros, but some providers emit one;
            // it does not change the value.
            let strip = |v: Vec<u8>| match v.iter().position(|&b| b != 0) {
                Some(i) => Ok(v[i..].to_vec()),
                None => Err("RSA component is zero".to_string()),
            };
            let n = strip(bytes("n")?)?;
            let e = strip(bytes("e")?)?;
            let bits = n.len() * 8 - n[0].leading_zeros() as usize;
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA key of {bits} bits is too small (minimum {MIN_RSA_BITS})"
                ));
            }
            Ok(PublicKey::Rsa { n, e })
        }
        "EC" => {
            let len = match crv {
                "P-256" => 32,
                "P-384" => 48,
                other => return Err(format!("EC curve {} is not supported", printable(other))),
            };
            let (x, y) = (bytes("x")?, bytes("y")?);
            // RFC 7518 §6.2.1.2: coordinates MUST be the full field size.
            if x.len() != len || y.len() != len {
                return Err(format!("{crv} coordinates must be {len} bytes each"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok(if len == 32 {
                PublicKey::P256(point)
            } else {
                PublicKey::P384(point)
            })
        }
        _ => {
            if crv != "Ed25519" {
                return Err(format!("OKP curve {} is not supported", printable(crv)));
            }
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err("an Ed25519 key is 32 bytes".into());
            }
            Ok(PublicKey::Ed25519(x))
        }
    }
}

/// RFC 7519 §2 NumericDate: a JSON number of seconds, possibly fractional. Fractions
/// are truncated; negative, non-finite or non-numeric values are errors.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, OidcError> {
    let Some(v) = claims.get(name) else {
        return Ok(None);
    };
    if let Some(n) = v.as_u64() {
        return Ok(Some(n));
    }
    match v.as_f64() {
        // `as` saturates, so absurdly large dates become u64::MAX, not garbage.
        Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
        _ => Err(OidcError::BadClaims(format!(
            "{name} is not a non-negative number of seconds"
        ))),
    }
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings, and must name us.
fn check_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), OidcError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| OidcError::BadClaims("aud array holds a non-string".into()))?,
        Some(_) => return Err(OidcError::BadClaims("aud is not a string or array".into())),
        None => return Err(OidcError::MissingClaim("aud")),
    };
    if audiences.contains(&client_id) {
        return Ok(());
    }
    let audience = match audiences.as_slice() {
        [one] => printable(one),
        many => format!(
            "[{}]",
            many.iter()
                .map(|a| printable(a))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(OidcError::WrongAudience {
        audience,
        client_id: client_id.to_string(),
    })
}

/// Fulcio's email principal: the `email` claim, and `email_verified` true (some
/// providers send the string "true").
fn email_identity(claims: &Map<String, Value>) -> Result<String, OidcError> {
    let email = match claims.get("email") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) | None => return Err(OidcError::MissingClaim("email")),
        Some(_) => return Err(OidcError::BadClaims("email is not a string".into())),
    };
    match claims.get("email_verified") {
        Some(Value::Bool(true)) => Ok(email),
        Some(Value::String(s)) if s == "true" => Ok(email),
        _ => Err(OidcError::EmailNotVerified(printable(&email))),
    }
}

/// The host of an `http(s)://` URL, lower-cased, without port or userinfo.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("");
    host.to_ascii_lowercase()
}

/// SPIFFE ID (SPIFFE-ID specification §2): `spiffe://<trust domain>/<path>`, trust
/// domain in `[a-z0-9.-_]`, path segments in `[a-zA-Z0-9.-_]`, none empty, `.` or
/// `..`. The trust domain must be the issuer's host, so one SPIFFE issuer cannot
/// vouch for another domain's workloads.
fn check_spiffe_id(sub: &str, trust_domain: &str) -> Result<(), OidcError> {
    let bad = |reason: &str| OidcError::BadSpiffeId {
        subject: printable(sub),
        trust_domain: trust_domain.to_string(),
        reason: reason.to_string(),
    };
    let rest = sub
        .strip_prefix("spiffe://")
        .ok_or_else(|| bad("it does not start with spiffe://"))?;
    let (td, path) = rest
        .split_once('/')
        .ok_or_else(|| bad("it has no workload path"))?;
    if td.is_empty()
        || !td
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-_".contains(&c))
    {
        return Err(bad("the trust domain is not valid"));
    }
    for seg in path.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(bad("the path has an empty, . or .. segment"));
        }
        if !seg
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-_".contains(&c))
        {
            return Err(bad("the path has a character outside [a-zA-Z0-9.-_]"));
        }
    }
    if td != trust_domain {
        return Err(bad("it belongs to another trust domain"));
    }
    Ok(())
}

/// Echoes untrusted text into error messages: bounded, control characters escaped, so
/// that a token cannot flood logs or forge log lines.
fn printable(s: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// Unix seconds as RFC 3339 UTC (`2026-11-23T18:41:49Z`), for error messages.
fn rfc3339(secs: u64) -> String {
    format_time_ms(secs.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Verifier>();
    }

    #[test]
    fn meta_issuer_star_is_one_label_or_segment() {
        let p = "https://oidc.eks.*.amazonaws.com/id/*";
        assert!(meta_issuer_matches(
            p,
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB"
        ));
        assert!(!meta_issuer_matches(
            p,
            "https://oidc.eks.evil.com/x.amazonaws.com/id/1"
        ));
        assert!(!meta_issuer_matches(
            p,
            "https://oidc.eks.a.b.amazonaws.com/id/1"
        ));
        assert!(!meta_issuer_matches(
            p,
            "https://oidc.eks..amazonaws.com/id/1"
        ));
        assert!(!meta_issuer_matches(
            p,
            "https://oidc.eks.x.amazonaws.com/id/"
        ));
        assert!(!meta_issuer_matches(
            p,
            "https://oidc.eks.x.amazonaws.com/id/a/b"
        ));
        assert!(!meta_issuer_matches(
            p,
            "https://oidc.eks.x.amazonaws.com/id/a.b"
        ));
        assert!(meta_issuer_matches(
            "https://*-x.example",
            "https://a-b-x.example"
        ));
        assert!(!meta_issuer_matches(
            "https://a.example",
            "https://b.example"
        ));
        assert!(meta_issuer_matches(
            "https://a.example",
            "https://a.example"
        ));
    }

    #[test]
    fn base64_must_be_canonical_and_unpadded() {
        // "eyJ" with a padding char, or with non-zero trailing bits, must not decode.
        assert!(URL_SAFE_NO_PAD.decode("YQ==").is_err());
        assert!(URL_SAFE_NO_PAD.decode("YR").is_err());
        assert!(URL_SAFE_NO_PAD.decode("YQ").is_ok());
        assert!(URL_SAFE_NO_PAD.decode("a+b/").is_err());
    }

    #[test]
    fn spiffe_ids_are_checked() {
        assert!(check_spiffe_id("spiffe://example.org/ns/prod/sa/web", "example.org").is_ok());
        for bad in [
            "spiffe://other.org/ns",
            "spiffe://example.org",
            "spiffe://example.org/",
            "spiffe://example.org/a//b",
            "spiffe://example.org/../x",
            "spiffe://Example.org/x",
            "https://example.org/x",
            "spiffe://example.org/a?b",
        ] {
            assert!(
                matches!(
                    check_spiffe_id(bad, "example.org"),
                    Err(OidcError::BadSpiffeId { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_of_strips_port_path_and_userinfo() {
        assert_eq!(host_of("https://U@Example.org:8443/a?b"), "example.org");
        assert_eq!(host_of("https://example.org"), "example.org");
    }

    #[test]
    fn printable_escapes_and_bounds() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable(&"x".repeat(500)).chars().count(), 201);
    }
}
