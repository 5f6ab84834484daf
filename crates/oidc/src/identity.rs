//! From verified claims to a certificate identity (Fulcio issuer types): email,
//! SPIFFE ID, URI, username, CI workflow.

use serde_json::{Map, Value};

use crate::error::{OidcError, printable};

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
    /// The token's `iat` (Unix seconds), if it has one: how fresh the token is.
    pub issued_at: Option<u64>,
    /// SHA-256 of the JWS signing input (`header.payload`, RFC 7515 §5.2): names the
    /// token for single-use bookkeeping. Not of the whole token, because a signature
    /// can be re-encoded (an ECDSA `s` negated) into another valid token that says
    /// exactly the same thing.
    pub token_id: [u8; 32],
    /// All claims, verified, for copying CI-workflow claims into the certificate.
    pub claims: Value,
}

/// Fulcio's email principal: the `email` claim, and `email_verified` true (some
/// providers send the string "true").
pub(crate) fn email_identity(claims: &Map<String, Value>) -> Result<String, OidcError> {
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
pub(crate) fn host_of(url: &str) -> String {
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
pub(crate) fn check_spiffe_id(sub: &str, trust_domain: &str) -> Result<(), OidcError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
