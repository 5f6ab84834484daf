//! Server-side webhooks: how a delivery is signed and checked, and where it may point.
//!
//! A webhook URL is chosen by whoever holds a registry account, but the POST leaves
//! from inside the operator's network. So, by default, a webhook must reach a public
//! address: IP literals are checked when the subscription is made and before every
//! delivery, host names at connect time, redirects are not followed and no proxy is
//! used — the `egress` crate's policy, shared with the OIDC key fetch.

use std::time::Duration;

pub use egress::{Destinations, Refused, Resolver, check_url, refusal};
use hmac::{KeyInit, Mac};

/// Header that signs a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
/// `"<t>.<body>"` under the subscription's secret. The timestamp is signed so a
/// receiver can refuse replays of old deliveries.
pub const SIGNATURE_HEADER: &str = "certcentral-signature";
/// Header naming a delivery: the same on every retry, and after a failover to another
/// process, so a receiver can drop the repeats that at-least-once delivery allows.
pub const DELIVERY_HEADER: &str = "certcentral-delivery";
/// Prefix of subscription secrets, so a leaked one is recognisable in a scan.
pub const SECRET_PREFIX: &str = "ccwh_";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A subscription secret from 32 random bytes: [`SECRET_PREFIX`] and their unpadded
/// base64url. The whole string is the HMAC key.
pub fn secret_from(random: &[u8; 32]) -> String {
    use base64::Engine;
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    )
}

fn mac(secret: &str, timestamp: u64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The [`SIGNATURE_HEADER`] value for `body` sent at `timestamp` (unix seconds).
pub fn signature_header(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Why a receiver refused a delivery's signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    #[error("signature header is not `t=<seconds>,v1=<hex>`")]
    Malformed,
    #[error("signed {age} s away from now, more than the {tolerance} s allowed")]
    Stale { age: u64, tolerance: u64 },
    #[error("signature does not match the body")]
    Mismatch,
}

/// What a receiver does with a delivery: checks [`SIGNATURE_HEADER`] `header` over
/// `body` with the subscription's `secret` (in constant time), and that it was signed
/// within `tolerance_secs` of `now` (unix seconds).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: u64,
    tolerance_secs: u64,
) -> Result<(), BadSignature> {
    let mut timestamp = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => tag = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(tag)) = (timestamp, tag) else {
        return Err(BadSignature::Malformed);
    };
    let age = now.abs_diff(timestamp);
    if age > tolerance_secs {
        return Err(BadSignature::Stale {
            age,
            tolerance: tolerance_secs,
        });
    }
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| BadSignature::Mismatch)
}

/// The HTTP client for webhook deliveries: the `egress` policy of `resolver` (no
/// redirects; under [`Destinations::PublicOnly`] no proxy and public answers only).
pub fn client(resolver: &Resolver) -> reqwest::Result<reqwest::Client> {
    egress::client_builder(resolver)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("certcentral-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A failed delivery as logged and recorded: the error and its causes, without the
/// webhook URL, whose path or query often carries the receiver's secret token
/// (Slack, Discord and most chat webhooks work that way).
pub fn failure_text(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a log line may say about a webhook: its scheme, host and port only.
pub fn loggable(webhook: &str) -> String {
    match reqwest::Url::parse(webhook) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            (Some(host), None) => format!("{}://{host}", url.scheme()),
            (None, _) => url.scheme().to_owned(),
        },
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token in a webhook's path or query never reaches a log line.
    #[tokio::test]
    async fn delivery_failures_and_log_lines_leave_out_the_url() {
        // A port nothing listens on: the connection is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/services/T0/B0/s3cr3t-path?token=s3cr3t-query");
        let error = client(&Resolver::new(Destinations::Any))
            .unwrap()
            .post(&url)
            .send()
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("s3cr3t"),
            "reqwest names the URL"
        );
        let text = failure_text(error);
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("error sending request"), "{text}");
        assert_eq!(loggable(&url), format!("http://127.0.0.1:{port}"));
        assert_eq!(
            loggable("https://user:pw@hooks.example.com/x?k=v"),
            "https://hooks.example.com"
        );
        assert_eq!(loggable("not a url"), "(unparsable URL)");
    }

    #[test]
    fn signatures_verify_and_any_change_is_refused() {
        let secret = secret_from(&[7; 32]);
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(secret.len(), SECRET_PREFIX.len() + 43);
        let body = br#"{"leaf_index":3}"#;
        let header = signature_header(&secret, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="), "{header}");
        verify_signature(&secret, &header, body, 1_700_000_100, 300).unwrap();

        let other = secret_from(&[8; 32]);
        let err = |secret: &str, header: &str, body: &[u8], now| {
            verify_signature(secret, header, body, now, 300).unwrap_err()
        };
        assert_eq!(
            err(&other, &header, body, 1_700_000_000),
            BadSignature::Mismatch
        );
        assert_eq!(
            err(&secret, &header, br#"{"leaf_index":4}"#, 1_700_000_000),
            BadSignature::Mismatch
        );
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(
            err(&secret, &moved, body, 1_700_000_000),
            BadSignature::Mismatch
        );
        assert!(matches!(
            err(&secret, &header, body, 1_700_001_000),
            BadSignature::Stale { age: 1000, .. }
        ));
        for malformed in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert_eq!(err(&secret, malformed, body, 1), BadSignature::Malformed);
        }
    }
}
