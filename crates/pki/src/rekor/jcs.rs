//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that
//! signatures over JSON are made on (Rekor's Signed Entry Timestamp).
//!
//! RFC 8785 §3.2: no whitespace; strings escaped as ECMAScript's `JSON.stringify`
//! does (§3.2.2.2); numbers as ECMAScript's `Number.prototype.toString` (§3.2.2.3);
//! object members sorted by the UTF-16 code units of their names (§3.2.3).

use serde::Serialize;
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// Nesting deeper than this is refused rather than recursed into: `serde_json` itself
/// stops parsing at 128 levels, and a value built in memory must not overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JcsError {
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    #[error("JSON nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// NaN and the infinities are not JSON numbers (RFC 8785 §3.2.2.3: "MUST cause an
    /// error").
    #[error("number {0} has no JSON form")]
    NonFinite(String),
    /// The value does not serialize to JSON at all.
    #[error("not serializable as JSON: {0}")]
    Serialize(String),
}

/// The canonical JSON of any serializable value (through `serde_json::Value`).
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JcsError> {
    let value = serde_json::to_value(value).map_err(|e| JcsError::Serialize(e.to_string()))?;
    canonicalize(&value)
}

/// The canonical JSON of `value`, as UTF-8 bytes.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value, 0)?;
    Ok(out.into_bytes())
}

fn write_value(out: &mut String, value: &Value, depth: usize) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            let depth = deeper(depth)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, depth)?;
            }
            out.push(']');
        }
        Value::Object(members) => write_object(out, members, deeper(depth)?)?,
    }
    Ok(())
}

fn deeper(depth: usize) -> Result<usize, JcsError> {
    if depth >= MAX_DEPTH {
        return Err(JcsError::TooDeep);
    }
    Ok(depth + 1)
}

/// RFC 8785 §3.2.3: "JSON object members MUST be sorted ... by their names ... formatted
/// as arrays of UTF-16 code units", which differs from sorting UTF-8 bytes once a name
/// holds characters beyond U+FFFF next to ones in U+E000..U+FFFF.
fn write_object(
    out: &mut String,
    members: &Map<String, Value>,
    depth: usize,
) -> Result<(), JcsError> {
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (i, (name, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, value, depth)?;
    }
    out.push('}');
    Ok(())
}

/// RFC 8785 §3.2.2.2: only `"`, `\` and the controls below U+0020 are escaped; the
/// controls with a short form use it, the others `\u00xx` in lower-case hex; every other
/// character (U+007F, U+2028 included) is written as itself.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c < '\u{20}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// RFC 8785 §3.2.2.3: a number is an IEEE 754 double written as ECMAScript writes it.
/// An integer beyond ±2^53 therefore becomes the nearest double, as it would in
/// `JSON.parse`; I-JSON (RFC 7493 §2.2) tells senders not to rely on more.
fn write_number(out: &mut String, n: &Number) -> Result<(), JcsError> {
    let value = match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i as f64,
        (None, Some(u), _) => u as f64,
        (None, None, Some(f)) => f,
        (None, None, None) => return Err(JcsError::NonFinite(n.to_string())),
    };
    out.push_str(&ecmascript_number(value)?);
    Ok(())
}

/// ECMAScript `Number::toString(x)` (ECMA-262 §6.1.6.1.20) for a finite `x`: the
/// shortest digits that read back as `x`, placed by the exponent rules of that section.
pub fn ecmascript_number(x: f64) -> Result<String, JcsError> {
    if !x.is_finite() {
        return Err(JcsError::NonFinite(x.to_string()));
    }
    // Step 2: +0 and -0 are both "0".
    if x == 0.0 {
        return Ok("0".into());
    }
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` writes the shortest round-tripping digits: "d[.ddd]e[-]x".
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .ok_or_else(|| JcsError::NonFinite(scientific.clone()))?;
    let exponent: i32 = exponent
        .parse()
        .map_err(|_| JcsError::NonFinite(scientific.clone()))?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let (digits, exponent) = round_half_even(x.abs(), digits, exponent);
    // ECMA-262 names: k digits, and n such that x = 0.digits × 10^n.
    let k = digits.len() as i32;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        // Step 6: an integer of at most 21 digits.
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        // Step 7: a decimal point inside the digits.
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        // Step 8: "0." and up to five zeros.
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        // Steps 9-10: exponent form, the sign of the exponent always written.
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n - 1 < 0 { '-' } else { '+' });
        out.push_str(&(n - 1).abs().to_string());
    }
    Ok(out)
}

/// ECMA-262 §6.1.6.1.20 step 5: when two shortest digit strings are equally near `x`,
/// "choose the one that is even". Rust's shortest formatting picks the upper one of such
/// a tie (RFC 8785 Appendix B's `1424953923781206.2`), so a tie is looked for here: `x`
/// is then exactly the midpoint, a decimal of one digit more ending in 5.
fn round_half_even(x: f64, digits: String, exponent: i32) -> (String, i32) {
    // 800 significant digits hold every double's exact decimal expansion.
    let exact = format!("{x:.800e}");
    let Some((mantissa, exact_exponent)) = exact.split_once('e') else {
        return (digits, exponent);
    };
    let Ok(exact_exponent) = exact_exponent.parse::<i32>() else {
        return (digits, exponent);
    };
    let exact_digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exact_digits = exact_digits.trim_end_matches('0');
    if exact_digits.len() != digits.len() + 1 || !exact_digits.ends_with('5') {
        return (digits, exponent);
    }
    let k = digits.len();
    let Ok(low) = exact_digits[..k].parse::<u64>() else {
        return (digits, exponent);
    };
    // The even one of the two neighbours, as an integer times a power of ten.
    let even = if low % 2 == 0 { low } else { low + 1 };
    let scale = exact_exponent - (k as i32 - 1);
    if format!("{even}e{scale}").parse::<f64>() != Ok(x) {
        // Only a tie of two forms that both read back as `x` is resolved here.
        return (digits, exponent);
    }
    let text = even.to_string();
    let exponent = scale + text.len() as i32 - 1;
    (text.trim_end_matches('0').to_string(), exponent)
}
