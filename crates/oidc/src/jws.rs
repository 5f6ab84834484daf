//! Compact JWS (RFC 7515 §7.1) parsing: the token's structure, its header and its
//! JSON payload, before any key is looked at.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::MAX_DOCUMENT_BYTES;
use crate::error::{OidcError, printable};

/// Largest token accepted, in bytes. Real ID tokens are 1–3 KiB; the cap bounds
/// the work an unauthenticated caller can make us do before any signature check.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// JWS algorithms we verify (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwsAlg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Es256,
    Es384,
    EdDsa,
}

impl JwsAlg {
    pub(crate) fn parse(alg: &str) -> Result<Self, OidcError> {
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

    pub(crate) fn name(self) -> &'static str {
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

/// A parsed, not yet verified, compact JWS.
pub(crate) struct Jws<'a> {
    pub(crate) alg: JwsAlg,
    pub(crate) kid: Option<String>,
    pub(crate) claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)` (RFC 7515 §5.2 step 8).
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// RFC 7515 §5.2 steps 1–7, strictly: three parts, canonical unpadded base64url,
/// a JSON-object header with a supported `alg` and no `crit`, a JSON-object payload.
pub(crate) fn parse_compact(token: &str) -> Result<Jws<'_>, OidcError> {
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

pub(crate) fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_must_be_canonical_and_unpadded() {
        // "eyJ" with a padding char, or with non-zero trailing bits, must not decode.
        assert!(URL_SAFE_NO_PAD.decode("YQ==").is_err());
        assert!(URL_SAFE_NO_PAD.decode("YR").is_err());
        assert!(URL_SAFE_NO_PAD.decode("YQ").is_ok());
        assert!(URL_SAFE_NO_PAD.decode("a+b/").is_err());
    }
}
