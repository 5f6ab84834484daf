//! Finding an issuer's keys: OpenID Connect Discovery 1.0 §4, then its JWKS, through
//! the injected [`Fetch`].

use serde_json::Value;
use thiserror::Error;

use crate::Verifier;
use crate::error::{OidcError, printable};
use crate::jwk::{Jwk, parse_jwks};
use crate::jws::parse_json_object;

/// Largest discovery document or JWKS parsed, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

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

impl Verifier {
    /// OpenID Connect Discovery 1.0 §4: `{iss}/.well-known/openid-configuration`
    /// names `jwks_uri`; its `issuer` must equal `iss` exactly (§4.3), or a
    /// compromised document could hand out another issuer's identities.
    pub(crate) fn fetch_keys(&self, iss: &str) -> Result<Vec<Jwk>, OidcError> {
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
