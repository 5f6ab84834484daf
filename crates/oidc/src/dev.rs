//! The built-in development OIDC issuer, for `certcentral serve --dev` only: serves a
//! discovery document and a JWKS at `/dev/oidc`, and mints RS256 identity tokens for
//! any email address on `POST /dev/oidc/token {"email": …}`, for the audience
//! `sigstore` (the CA's) unless the body names another (`"audience": …`, e.g. the
//! registry's).
//!
//! Anyone who can reach the server can get a token for any address, so it must never
//! run outside development; the server enables it only with `--dev` and says so in its
//! banner. The CA verifies these tokens exactly like real ones: discovery and JWKS over
//! HTTP, signature, audience, expiry.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Deserialize;
use serde_json::{Value, json};
use webapi::{ApiError, body_error, json_response};

use crate::{IdentityKind, IssuerConfig};

/// The audience of dev tokens: what sigstore clients ask for.
pub const DEV_CLIENT_ID: &str = "sigstore";
/// Longest audience a token can be asked for.
pub const MAX_AUDIENCE_CHARS: usize = 128;
/// Lifetime of a minted token.
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Path prefix of the dev issuer on the server.
pub const DEV_ISSUER_PATH: &str = "/dev/oidc";

/// Errors of the development issuer.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    /// Key generation or signing failed.
    #[error("development issuer: {0}")]
    Crypto(String),
}

/// The development issuer: an RSA-2048 key generated at start-up (tokens do not
/// survive a restart, which is fine for tokens that live ten minutes).
pub struct DevIssuer {
    issuer_url: String,
    key: RsaKeyPair,
    kid: String,
    jwks: Value,
    rng: SystemRandom,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer_url", &self.issuer_url)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    email: String,
    #[serde(default)]
    audience: Option<String>,
}

impl DevIssuer {
    /// A new issuer at `public_url` + [`DEV_ISSUER_PATH`].
    pub fn generate(public_url: &str) -> Result<Self, DevIssuerError> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| DevIssuerError::Crypto("RSA key generation failed".into()))?;
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &n);
        let kid = B64URL.encode(&digest.as_ref()[..12]);
        let jwks = json!({ "keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": B64URL.encode(&n), "e": B64URL.encode(&e),
        }]});
        Ok(Self {
            issuer_url: format!("{}{DEV_ISSUER_PATH}", public_url.trim_end_matches('/')),
            key,
            kid,
            jwks,
            rng: SystemRandom::new(),
        })
    }

    /// The issuer URL (`iss` of minted tokens).
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The JWKS with the issuer's public key, as `/dev/oidc/jwks` serves it.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// The issuer entry the CA needs to accept these tokens.
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig {
            // Served by this server, which listens on loopback in development.
            private_network: true,
            ..IssuerConfig::new(self.issuer_url.clone(), DEV_CLIENT_ID, IdentityKind::Email)
        }
    }

    /// Mints a token for `email` (sub = email, email_verified = true) and the CA's
    /// audience [`DEV_CLIENT_ID`], valid from `now` for [`DEV_TOKEN_LIFETIME`].
    pub fn mint(&self, email: &str, now: SystemTime) -> Result<String, DevIssuerError> {
        self.mint_for(email, DEV_CLIENT_ID, now)
    }

    /// [`DevIssuer::mint`] for another audience.
    pub fn mint_for(
        &self,
        email: &str,
        audience: &str,
        now: SystemTime,
    ) -> Result<String, DevIssuerError> {
        let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        // A unique `jti` (RFC 7519 §4.1.7): two tokens minted for one address in the
        // same second are two tokens, each usable once where tokens are single-use.
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::SecureRandom::fill(&self.rng, &mut jti)
            .map_err(|_| DevIssuerError::Crypto("no randomness".into()))?;
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid });
        let claims = json!({
            "iss": self.issuer_url,
            "sub": email,
            "aud": audience,
            "email": email,
            "email_verified": true,
            "iat": iat,
            "nbf": iat,
            "exp": iat + DEV_TOKEN_LIFETIME.as_secs(),
            "jti": B64URL.encode(jti),
        });
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| DevIssuerError::Crypto("RS256 signing failed".into()))?;
        Ok(format!("{signing_input}.{}", B64URL.encode(signature)))
    }
}

/// Accepts `local@domain` with printable ASCII and at most 254 characters: enough to
/// keep junk out of certificates, without pretending to implement RFC 5322.
fn check_email(email: &str) -> Result<(), ApiError> {
    let ok = email.len() <= 254
        && email.bytes().all(|b| b.is_ascii_graphic())
        && matches!(email.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "email must look like name@domain (printable ASCII, at most 254 characters)",
        ))
    }
}

/// `/dev/oidc/.well-known/openid-configuration`, `/dev/oidc/jwks`, `POST /dev/oidc/token`.
pub fn router(issuer: Arc<DevIssuer>) -> Router {
    Router::new()
        .route(
            &format!("{DEV_ISSUER_PATH}/.well-known/openid-configuration"),
            get(discovery),
        )
        .route(&format!("{DEV_ISSUER_PATH}/jwks"), get(jwks))
        .route(
            &format!("{DEV_ISSUER_PATH}/token"),
            post(token).layer(DefaultBodyLimit::max(4096)),
        )
        .with_state(issuer)
}

async fn discovery(State(issuer): State<Arc<DevIssuer>>) -> Response {
    let base = &issuer.issuer_url;
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": base,
            "jwks_uri": format!("{base}/jwks"),
            "token_endpoint": format!("{base}/token"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "email", "email_verified"],
        }),
    )
}

async fn jwks(State(issuer): State<Arc<DevIssuer>>) -> Response {
    json_response(StatusCode::OK, &issuer.jwks)
}

/// An audience as a client may ask for it: printable ASCII without spaces.
fn check_audience(audience: &str) -> Result<(), ApiError> {
    if (1..=MAX_AUDIENCE_CHARS).contains(&audience.len())
        && audience.bytes().all(|b| b.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "audience must be 1 to {MAX_AUDIENCE_CHARS} printable ASCII characters without spaces"
        )))
    }
}

async fn token(
    State(issuer): State<Arc<DevIssuer>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let request: TokenRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "body must be {{\"email\": \"name@domain\"}}, optionally with \"audience\": {e}"
        ))
    })?;
    check_email(&request.email)?;
    let audience = request.audience.as_deref().unwrap_or(DEV_CLIENT_ID);
    check_audience(audience)?;
    let token = issuer
        .mint_for(&request.email, audience, SystemTime::now())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id_token": token,
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": DEV_TOKEN_LIFETIME.as_secs(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Destinations, Fetch, FetchError, FetchFuture, Verifier};

    /// Serves the issuer's documents from memory, as the HTTP routes would.
    struct Local(Arc<DevIssuer>);

    impl Fetch for Local {
        fn get<'a>(&'a self, url: &'a str, destinations: Destinations) -> FetchFuture<'a> {
            // The dev issuer is on loopback: its config must allow that.
            assert_eq!(destinations, Destinations::Any);
            let base = &self.0.issuer_url;
            let answer = if url == format!("{base}/.well-known/openid-configuration") {
                Ok(
                    json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") })
                        .to_string()
                        .into_bytes(),
                )
            } else if url == format!("{base}/jwks") {
                Ok(self.0.jwks.to_string().into_bytes())
            } else {
                Err(FetchError::Provider(format!("no {url}")))
            };
            Box::pin(std::future::ready(answer))
        }
    }

    #[test]
    fn minted_tokens_verify_with_the_published_keys() {
        let issuer = Arc::new(DevIssuer::generate("http://127.0.0.1:8080/").unwrap());
        assert_eq!(issuer.issuer_url(), "http://127.0.0.1:8080/dev/oidc");
        let verifier = Verifier::new(
            vec![issuer.issuer_config()],
            Arc::new(Local(issuer.clone())),
            Arc::new(clock::SystemClock),
        )
        .unwrap();
        let token = issuer.mint("alice@example.com", SystemTime::now()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let id = rt.block_on(verifier.verify(&token)).unwrap();
        assert_eq!(id.identity, "alice@example.com");
        assert_eq!(id.subject, "alice@example.com");
        // Expired once its lifetime (plus the verifier's skew) has passed.
        let old = SystemTime::now() - DEV_TOKEN_LIFETIME - Duration::from_secs(120);
        let stale = issuer.mint("alice@example.com", old).unwrap();
        assert!(rt.block_on(verifier.verify(&stale)).is_err());
    }

    /// sigstore clients read a token before sending it: sigstore-python requires `aud`
    /// "sigstore" (its default client ID), `sub`, `iat`, `exp`, `iss`, and takes the
    /// identity of an email issuer from `email`; Fulcio-style CAs want it verified.
    #[test]
    fn minted_tokens_carry_the_claims_sigstore_clients_require() {
        let issuer = DevIssuer::generate("http://127.0.0.1:8080").unwrap();
        let now = SystemTime::now();
        let token = issuer.mint("alice@example.com", now).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&B64URL.decode(payload).unwrap()).unwrap();
        let iat = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(claims["aud"], "sigstore");
        assert_eq!(claims["iss"], "http://127.0.0.1:8080/dev/oidc");
        assert_eq!(claims["sub"], "alice@example.com");
        assert_eq!(claims["email"], "alice@example.com");
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["iat"], iat);
        assert_eq!(claims["exp"], iat + DEV_TOKEN_LIFETIME.as_secs());
        // Single-use consumers tell two tokens of one second apart by their jti.
        assert_eq!(
            B64URL
                .decode(claims["jti"].as_str().unwrap())
                .unwrap()
                .len(),
            16
        );
        assert_ne!(token, issuer.mint("alice@example.com", now).unwrap());
        // The CA's entry for this issuer expects the same audience.
        assert_eq!(issuer.issuer_config().client_id, claims["aud"]);
    }

    #[test]
    fn tokens_can_be_minted_for_another_audience_which_the_ca_refuses() {
        let issuer = Arc::new(DevIssuer::generate("http://127.0.0.1:8080").unwrap());
        let verifier = Verifier::new(
            vec![issuer.issuer_config()],
            Arc::new(Local(issuer.clone())),
            Arc::new(clock::SystemClock),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let token = issuer
            .mint_for(
                "alice@example.com",
                "certcentral-registry",
                SystemTime::now(),
            )
            .unwrap();
        assert!(matches!(
            rt.block_on(verifier.verify(&token)),
            Err(crate::OidcError::WrongAudience { .. })
        ));
        let id = rt
            .block_on(verifier.verify_for_audience(&token, "certcentral-registry"))
            .unwrap();
        assert_eq!(id.subject, "alice@example.com");
        let ca_token = issuer.mint("alice@example.com", SystemTime::now()).unwrap();
        assert!(
            rt.block_on(verifier.verify_for_audience(&ca_token, "certcentral-registry"))
                .is_err()
        );
    }

    #[test]
    fn audiences_are_checked() {
        for bad in ["", "a b", "\u{e9}", &"a".repeat(MAX_AUDIENCE_CHARS + 1)] {
            assert!(check_audience(bad).is_err(), "{bad:?}");
        }
        check_audience("certcentral-registry").unwrap();
    }

    #[test]
    fn emails_are_checked() {
        for bad in ["", "alice", "@x", "a@", "a b@x", "a@b@c", &"a".repeat(300)] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        check_email("alice+ci@example.com").unwrap();
    }
}
