//! Finding an issuer's keys: OpenID Connect Discovery 1.0 §4, then its JWKS, through
//! the injected [`Fetch`].

use std::future::Future;
use std::pin::Pin;

use egress::Destinations;
use serde_json::Value;
use thiserror::Error;

use crate::Verifier;
use crate::error::{OidcError, printable};
use crate::jwk::{Jwk, parse_jwks};
use crate::jws::parse_json_object;
use crate::verifier::IssuerConfig;

/// Largest discovery document or JWKS parsed, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a fetch failed, as told by the [`Fetch`] implementation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FetchError {
    /// The identity provider's side: network, HTTP status, size, a destination the
    /// policy refuses. Counts against the issuer (its next fetch waits the refresh
    /// interval).
    #[error("{0}")]
    Provider(String),
    /// This process could not make the request (e.g. no name look-up thread free): not
    /// the issuer's fault, never held against it.
    #[error("{0}")]
    Saturated(String),
}

/// The future of a [`Fetch::get`].
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + 'a>>;

/// Retrieves a document (discovery or JWKS) by URL. Implemented by the server with an
/// HTTP client ([`crate::fetch::HttpFetch`]); the verifier makes one issuer's fetches
/// single-flight, so concurrent requests for one issuer cause one fetch, not a
/// stampede.
pub trait Fetch: Send + Sync {
    /// The response body of a successful `GET url`, reaching only `destinations`.
    fn get<'a>(&'a self, url: &'a str, destinations: Destinations) -> FetchFuture<'a>;
}

/// Why the keys could not be fetched: the provider's failure (a typed error for the
/// caller, its detail for the log), or this process's saturation.
pub(crate) enum KeyFetchError {
    Provider(OidcError),
    Saturated(String),
}

impl Verifier {
    /// OpenID Connect Discovery 1.0 §4: `{iss}/.well-known/openid-configuration`
    /// names `jwks_uri`; its `issuer` must equal `iss` exactly (§4.3), or a
    /// compromised document could hand out another issuer's identities. The
    /// `jwks_uri` must be on the issuer's host (or one `cfg` allows): a document
    /// answered by a made-up meta-issuer name must not aim the server elsewhere.
    pub(crate) async fn fetch_keys(
        &self,
        iss: &str,
        cfg: &IssuerConfig,
    ) -> Result<Vec<Jwk>, KeyFetchError> {
        let discovery_err = |reason: String| {
            KeyFetchError::Provider(OidcError::Discovery {
                issuer: iss.to_string(),
                reason,
            })
        };
        let destinations = cfg.destinations();
        let url = format!(
            "{}/.well-known/openid-configuration",
            iss.trim_end_matches('/')
        );
        let body = match self.fetch.get(&url, destinations).await {
            Ok(body) => body,
            Err(FetchError::Saturated(e)) => return Err(KeyFetchError::Saturated(e)),
            Err(FetchError::Provider(e)) => return Err(discovery_err(e)),
        };
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
        let jwks_host = reqwest::Url::parse(jwks_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let issuer_host = reqwest::Url::parse(iss)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let host_ok = match &jwks_host {
            Some(host) => {
                Some(host) == issuer_host.as_ref()
                    || cfg.jwks_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
            }
            None => false,
        };
        if !host_ok {
            return Err(discovery_err(format!(
                "jwks_uri {} is not on the issuer's host (allowed others: {:?})",
                printable(jwks_uri),
                cfg.jwks_hosts
            )));
        }
        let jwks_err = |reason: String| {
            KeyFetchError::Provider(OidcError::Jwks {
                issuer: iss.to_string(),
                reason: format!("{jwks_uri}: {reason}"),
            })
        };
        let body = match self.fetch.get(jwks_uri, destinations).await {
            Ok(body) => body,
            Err(FetchError::Saturated(e)) => return Err(KeyFetchError::Saturated(e)),
            Err(FetchError::Provider(e)) => return Err(jwks_err(e)),
        };
        parse_jwks(&body).map_err(jwks_err)
    }
}
