//! Error text a person can act on, from what HTTP clients and servers hand back.

/// `e: its source: its source…` — reqwest's top-level message alone ("error sending
/// request") does not say what failed.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The first 200 bytes of a response body as text, for error messages.
pub fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    let text = text.trim();
    if body.len() > MAX {
        format!("{text}…")
    } else {
        text.to_owned()
    }
}
