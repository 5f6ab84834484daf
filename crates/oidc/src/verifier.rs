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
//! Verification is async because a key fetch may wait for an identity provider; it
//! holds no thread while it waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use clock::Clock;
use serde_json::Value;

use egress::Destinations;

use crate::cache::{CacheEntry, DEFAULT_JWKS_REFRESH_SECS, DEFAULT_NEW_ISSUER_FETCHES};
use crate::claims::{CLOCK_SKEW_SECS, check_audience, numeric_date, rfc3339};
use crate::discovery::Fetch;
use crate::error::{OidcError, printable};
use crate::identity::{IdentityKind, VerifiedIdentity, check_spiffe_id, email_identity, host_of};
use crate::jwk::{Jwk, PublicKey};
use crate::jws::{Jws, parse_compact};

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
    /// Hosts besides the issuer's own that its discovery document may name in
    /// `jwks_uri` (Google's `https://accounts.google.com` serves its keys from
    /// `www.googleapis.com`). Any other host is refused.
    pub jwks_hosts: Vec<String>,
    /// Whether the issuer's discovery document and keys may be fetched from loopback
    /// or private addresses (an identity provider on the operator's own network, or
    /// the `--dev` issuer). Off: public addresses only.
    pub private_network: bool,
    /// `CiWorkflow` only: the CI server's base URL (`https://github.example.com`) that
    /// certificate URIs are built on. It comes from configuration, never from the
    /// token: a `server_url` claim is whatever the issuer's tenant put there.
    pub ci_server_url: Option<String>,
}

impl IssuerConfig {
    /// An issuer whose keys are on its own host and on public addresses.
    pub fn new(
        issuer_url: impl Into<String>,
        client_id: impl Into<String>,
        kind: IdentityKind,
    ) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            client_id: client_id.into(),
            kind,
            jwks_hosts: Vec::new(),
            private_network: false,
            ci_server_url: None,
        }
    }

    /// Where its documents may be fetched from.
    pub fn destinations(&self) -> Destinations {
        if self.private_network {
            Destinations::Any
        } else {
            Destinations::PublicOnly
        }
    }
}

/// Verifies OIDC identity tokens against a fixed list of issuers. `Send + Sync`;
/// share one per process so the key cache is shared.
pub struct Verifier {
    pub(crate) issuers: Vec<IssuerConfig>,
    pub(crate) fetch: Arc<dyn Fetch>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) refresh_secs: u64,
    pub(crate) cache: Mutex<HashMap<String, CacheEntry>>,
    /// Permits for fetching the keys of meta-issuer names never fetched before.
    pub(crate) new_issuer_fetches: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers)
            .field("refresh_secs", &self.refresh_secs)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds a verifier. Rejects empty issuer URLs or client ids, duplicate issuer
    /// URLs, and misplaced `*` (see [`check_meta_issuer`]).
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
            if url.contains('*') {
                check_meta_issuer(url)
                    .map_err(|why| OidcError::Config(format!("meta-issuer {url}: {why}")))?;
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
            new_issuer_fetches: tokio::sync::Semaphore::new(DEFAULT_NEW_ISSUER_FETCHES),
        })
    }

    /// Sets the minimum interval between two key fetches for one issuer (default
    /// [`DEFAULT_JWKS_REFRESH_SECS`]). The limit stops a stream of tokens with made-up
    /// `kid`s from turning us into a load generator against the identity provider.
    pub fn with_jwks_refresh_interval(mut self, secs: u64) -> Self {
        self.refresh_secs = secs;
        self
    }

    /// Sets how many key fetches for meta-issuer names never fetched before may run at
    /// once (default [`DEFAULT_NEW_ISSUER_FETCHES`]); a token needing one more is
    /// answered [`OidcError::Busy`] at once.
    pub fn with_new_issuer_fetch_limit(mut self, fetches: usize) -> Self {
        self.new_issuer_fetches = tokio::sync::Semaphore::new(fetches);
        self
    }

    /// Now, in the whole seconds of JWT NumericDates (RFC 7519 §2).
    pub(crate) fn now_secs(&self) -> u64 {
        self.clock.now_ms() / 1000
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &[IssuerConfig] {
        &self.issuers
    }

    /// Whether `iss` is a configured issuer URL (not a meta-issuer match).
    pub(crate) fn is_configured_exactly(&self, iss: &str) -> bool {
        self.issuers.iter().any(|c| c.issuer_url == iss)
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
    pub async fn verify(&self, token: &str) -> Result<VerifiedIdentity, OidcError> {
        self.verify_inner(token, None).await
    }

    /// [`Verifier::verify`], except that `aud` must name `audience` instead of the
    /// issuer's configured client id: for a second service (the registry) that
    /// trusts the same issuers, shares their key cache, and must not accept tokens
    /// minted for the first.
    pub async fn verify_for_audience(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<VerifiedIdentity, OidcError> {
        self.verify_inner(token, Some(audience)).await
    }

    async fn verify_inner(
        &self,
        token: &str,
        audience: Option<&str>,
    ) -> Result<VerifiedIdentity, OidcError> {
        let jws = parse_compact(token)?;
        let iss = match jws.claims.get("iss") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(OidcError::BadClaims("iss is not a string".into())),
            None => return Err(OidcError::MissingClaim("iss")),
        };
        let cfg = self
            .issuer_for(iss)
            .ok_or_else(|| OidcError::UnknownIssuer(printable(iss)))?;

        self.verify_signature(iss, cfg, &jws).await?;

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
        let issued_at = numeric_date(claims, "iat")?;
        if let Some(iat) = issued_at
            && iat > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(OidcError::IssuedInFuture {
                issued_at: rfc3339(iat),
                now: rfc3339(now),
            });
        }
        check_audience(claims, audience.unwrap_or(&cfg.client_id))?;

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
            issued_at,
            token_id: token_id(jws.signing_input),
            claims: Value::Object(jws.claims.clone()),
        })
    }

    /// Finds the key for the token and checks the signature, fetching or refetching
    /// the issuer's keys as the rate limit allows.
    async fn verify_signature(
        &self,
        iss: &str,
        cfg: &IssuerConfig,
        jws: &Jws<'_>,
    ) -> Result<(), OidcError> {
        let entry = self.issuer_entry(iss);
        let mut keys = self.keys(iss, cfg, &entry, false).await?;
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
                    keys = self.keys(iss, cfg, &entry, true).await?;
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
}

/// Where a meta-issuer may have its `*`: in the host, but not in the last two labels
/// (so the pattern stays inside one registrable domain: `https://*` would accept any
/// single-label host, `https://*.com` a whole top-level domain), and in path
/// segments; never in the scheme, userinfo, port, query or fragment.
fn check_meta_issuer(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("a * cannot be in the scheme")?;
    let (before_query, query) = rest.split_once(['?', '#']).unwrap_or((rest, ""));
    if query.contains('*') {
        return Err("a * cannot be in the query or fragment");
    }
    let authority = before_query.split('/').next().unwrap_or_default();
    let (userinfo, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
    if userinfo.contains('*') {
        return Err("a * cannot be in the userinfo");
    }
    let host_end = match host_port.strip_prefix('[') {
        Some(v6) => v6.find(']').map_or(host_port.len(), |i| i + 2),
        None => host_port.find(':').unwrap_or(host_port.len()),
    };
    let (host, port) = host_port.split_at(host_end);
    if port.contains('*') {
        return Err("a * cannot be in the port");
    }
    let labels: Vec<&str> = host.split('.').collect();
    let literal_tail = labels.len() >= 2 && labels.iter().rev().take(2).all(|l| !l.contains('*'));
    if host.contains('*') && !literal_tail {
        return Err(
            "a * in the host must leave the last two labels literal (e.g. https://*.example.com)",
        );
    }
    Ok(())
}

/// SHA-256 of what the issuer signed: see [`VerifiedIdentity::token_id`].
fn token_id(signing_input: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signing_input.as_bytes()).as_ref(),
    );
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Verifier>();
    }

    #[test]
    fn a_star_only_where_the_doc_allows_it() {
        for good in [
            "https://oidc.eks.*.amazonaws.com/id/*",
            "https://*.example.com",
            "https://container.googleapis.com/v1/projects/*/locations/*/clusters/*",
            "http://*.localhost.test:8080/x",
        ] {
            assert_eq!(check_meta_issuer(good), Ok(()), "{good}");
        }
        for bad in [
            "https://*",
            "https://*/",
            "https://*.com",
            "https://example.*",
            "https://a.*.c*m/x",
            "https://*:443",
            "https://example.com:*",
            "https://*@example.com",
            "https://example.com/x?a=*",
            "https://example.com/#*",
            "*://example.com",
        ] {
            assert!(check_meta_issuer(bad).is_err(), "{bad}");
        }
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
}
