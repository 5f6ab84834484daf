//! The one error type of token verification and verifier configuration, and how
//! untrusted text is echoed into its messages.

use thiserror::Error;

use crate::CLOCK_SKEW_SECS;

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
    /// The discovery document could not be fetched or is invalid. The caller is told
    /// no more than that (the reason names URLs and network errors of the server's
    /// side; it goes to the server log).
    #[error("the signing keys of issuer {issuer} could not be fetched; retry later")]
    Discovery {
        /// The token's issuer.
        issuer: String,
        /// What went wrong, for the log.
        reason: String,
    },
    /// The JWKS could not be fetched or is invalid (told as little as [`Self::Discovery`]).
    #[error("the signing keys of issuer {issuer} could not be fetched; retry later")]
    Jwks {
        /// The token's issuer.
        issuer: String,
        /// What went wrong, for the log.
        reason: String,
    },
    /// A previous fetch failed and the rate limit forbids another one yet.
    #[error("the signing keys of issuer {issuer} are unavailable; retry in {retry_in} s")]
    KeysUnavailable {
        /// The token's issuer.
        issuer: String,
        /// Seconds until the next fetch is allowed.
        retry_in: u64,
    },
    /// This server is fetching as many new issuers' keys as it allows at once, or had
    /// no resources to make the request: nothing is known about the token yet.
    #[error("the server is busy fetching identity providers' keys; retry shortly")]
    Busy,
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

impl OidcError {
    /// Whether the token could not be checked because the issuer's keys are out of
    /// reach (the identity provider, or this server, is unavailable): a 503, not the
    /// token's fault.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Discovery { .. } | Self::Jwks { .. } | Self::KeysUnavailable { .. } | Self::Busy
        )
    }

    /// The message with the detail the caller is not told, for the server log.
    pub fn detail(&self) -> String {
        match self {
            Self::Discovery { issuer, reason } => {
                format!("OpenID discovery for issuer {issuer} failed: {reason}")
            }
            Self::Jwks { issuer, reason } => {
                format!("fetching the JWKS of issuer {issuer} failed: {reason}")
            }
            other => other.to_string(),
        }
    }
}

/// Echoes untrusted text into error messages: bounded, control characters escaped, so
/// that a token cannot flood logs or forge log lines.
pub(crate) fn printable(s: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_and_bounds() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable(&"x".repeat(500)).chars().count(), 201);
    }
}
