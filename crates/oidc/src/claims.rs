//! JWT claims (RFC 7519 §4.1) checked after the signature: times and audience.

use clock::format_time_ms;
use serde_json::{Map, Value};

use crate::error::{OidcError, printable};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// RFC 7519 §2 NumericDate: a JSON number of seconds, possibly fractional. Fractions
/// are truncated; negative, non-finite or non-numeric values are errors.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, OidcError> {
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
pub(crate) fn check_audience(
    claims: &Map<String, Value>,
    client_id: &str,
) -> Result<(), OidcError> {
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

/// Unix seconds as RFC 3339 UTC (`2026-11-23T18:41:49Z`), for error messages.
pub(crate) fn rfc3339(secs: u64) -> String {
    format_time_ms(secs.saturating_mul(1000))
}
