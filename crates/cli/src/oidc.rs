//! The OIDC identity token a certificate request carries: read from a file, minted by a
//! `--dev` server, and the one claim the client itself needs (`sub`).
//!
//! The client never verifies the token — the CA does, against the issuer's keys. It only
//! reads the `sub` claim because Fulcio's proof of possession is a signature over
//! exactly those bytes, so the client must sign what the CA will check.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};

/// Why a token's `sub` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// RFC 7519 §7.2 step 1: a JWS compact serialization has exactly three
    /// dot-separated parts (header.payload.signature).
    #[error("not a JWT: expected 3 dot-separated parts, found {0}")]
    NotThreeParts(usize),
    /// The payload is not base64url (RFC 7515 §2: unpadded, URL-safe alphabet).
    #[error("JWT payload is not base64url: {0}")]
    PayloadEncoding(String),
    /// The payload is not a JSON object.
    #[error("JWT payload is not a JSON object: {0}")]
    PayloadJson(String),
    /// No usable `sub` claim.
    #[error("JWT has no `sub` claim (a string) — the CA needs it for the proof of possession")]
    NoSubject,
}

/// The `sub` claim of a compact JWT, without verifying anything.
pub fn subject(token: &str) -> Result<String, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts[..] else {
        return Err(TokenError::NotThreeParts(parts.len()));
    };
    // Some encoders pad despite RFC 7515; accept that rather than fail on '='.
    let json = B64URL
        .decode(payload.trim_end_matches('='))
        .map_err(|e| TokenError::PayloadEncoding(e.to_string()))?;
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&json).map_err(|e| TokenError::PayloadJson(e.to_string()))?;
    match claims.get("sub") {
        Some(serde_json::Value::String(sub)) if !sub.is_empty() => Ok(sub.clone()),
        _ => Err(TokenError::NoSubject),
    }
}

/// Reads a token from `path` (`-` = stdin), surrounding whitespace removed (files written
/// by editors and `echo` end in a newline that is not part of the token).
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the token from stdin")?;
        s
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the token from {}", path.display()))?
    };
    let token = text.trim();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(token.to_owned())
}

/// `POST /dev/oidc/token` request body.
#[derive(Debug, Serialize)]
struct DevTokenRequest<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience: Option<&'a str>,
}

/// `POST /dev/oidc/token` answer (only the field the client uses).
#[derive(Debug, Deserialize)]
struct DevTokenResponse {
    id_token: String,
}

/// Mints a token for `email` and the CA's audience from a `certcentral serve --dev`
/// server at `base` (its root URL). The dev issuer exists only in dev mode; a 404 is
/// explained as such.
pub async fn mint_dev_token(
    client: &reqwest::Client,
    base: &str,
    email: &str,
) -> anyhow::Result<String> {
    mint_dev_token_for(client, base, email, None).await
}

/// [`mint_dev_token`] for `audience` (`None`: the CA's), e.g. the registry's.
pub async fn mint_dev_token_for(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    audience: Option<&str>,
) -> anyhow::Result<String> {
    let url = format!("{base}/dev/oidc/token");
    let resp = client
        .post(&url)
        .json(&DevTokenRequest { email, audience })
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST {url}: {}", crate::error_text::error_chain(&e)))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .with_context(|| format!("POST {url}: reading the answer"))?;
    if status == reqwest::StatusCode::NOT_FOUND {
        bail!("POST {url}: 404 — the dev OIDC issuer exists only on `certcentral serve --dev`");
    }
    if !status.is_success() {
        bail!(
            "POST {url}: HTTP {status}: {}",
            crate::fulcio::error_message(&body)
        );
    }
    let answer: DevTokenResponse =
        serde_json::from_slice(&body).with_context(|| format!("POST {url}: decoding JSON"))?;
    Ok(answer.id_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.{}",
            B64URL.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            B64URL.encode(payload),
            B64URL.encode(b"not-a-real-signature")
        )
    }

    #[test]
    fn sub_is_read_from_the_payload() {
        let token =
            jwt(r#"{"iss":"http://x/dev/oidc","sub":"alice@example.com","aud":"sigstore"}"#);
        assert_eq!(subject(&token).unwrap(), "alice@example.com");
    }

    #[test]
    fn padded_payload_is_tolerated() {
        let payload = base64::engine::general_purpose::URL_SAFE.encode(br#"{"sub":"abc"}"#);
        assert!(payload.ends_with('='), "test needs a padded encoding");
        assert_eq!(subject(&format!("h.{payload}.s")).unwrap(), "abc");
    }

    #[test]
    fn token_without_three_parts_is_not_a_jwt() {
        assert_eq!(subject("abc"), Err(TokenError::NotThreeParts(1)));
        assert_eq!(subject("a.b"), Err(TokenError::NotThreeParts(2)));
        assert_eq!(subject("a.b.c.d.e"), Err(TokenError::NotThreeParts(5)));
    }

    #[test]
    fn payload_must_be_base64url_json_object() {
        assert!(matches!(
            subject("h.!!!.s"),
            Err(TokenError::PayloadEncoding(_))
        ));
        let not_json = format!("h.{}.s", B64URL.encode(b"hello"));
        assert!(matches!(
            subject(&not_json),
            Err(TokenError::PayloadJson(_))
        ));
        let array = format!("h.{}.s", B64URL.encode(b"[1,2]"));
        assert!(matches!(subject(&array), Err(TokenError::PayloadJson(_))));
    }

    #[test]
    fn missing_empty_or_non_string_sub_is_refused() {
        for payload in [r#"{"email":"a@b"}"#, r#"{"sub":""}"#, r#"{"sub":42}"#] {
            assert_eq!(
                subject(&jwt(payload)),
                Err(TokenError::NoSubject),
                "{payload}"
            );
        }
        let msg = TokenError::NoSubject.to_string();
        assert!(msg.contains("sub"), "{msg}");
    }

    #[test]
    fn token_file_is_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  aaa.bbb.ccc\n").unwrap();
        assert_eq!(read_token(&path).unwrap(), "aaa.bbb.ccc");
        std::fs::write(&path, "\n").unwrap();
        assert!(format!("{:#}", read_token(&path).unwrap_err()).contains("empty"));
        assert!(read_token(&dir.path().join("missing")).is_err());
    }
}
