//! [`Fetch`] over HTTP(S): how the verifier reaches real identity providers.
//!
//! Asynchronous end to end: a verification waiting for an identity provider holds no
//! thread. Requests go through the `egress` policy — no redirects, public addresses
//! only unless the issuer is configured as private, and name look-ups on threads of
//! their own rather than the runtime's blocking pool.

use std::time::Duration;

use egress::{Destinations, Resolver};

use crate::discovery::FetchFuture;
use crate::{Fetch, FetchError};

/// Largest discovery document or JWKS accepted. Real ones are a few KiB.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Time limit for one request to an identity provider, name look-up included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a response body, refusing more than `max` bytes (a hostile or broken server
/// must not make us buffer without bound).
pub async fn limited_body(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(format!("response larger than {max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(format!("response larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`Fetch`] over HTTP(S) with reqwest (rustls, the platform's trust store): one
/// client for public destinations, one for issuers configured as private.
#[derive(Debug, Clone)]
pub struct HttpFetch {
    public: reqwest::Client,
    any: reqwest::Client,
}

impl HttpFetch {
    /// A fetcher; requests run on the caller's runtime.
    pub fn new() -> Result<Self, FetchError> {
        let build = |destinations| {
            egress::client_builder(&Resolver::new(destinations))
                .timeout(REQUEST_TIMEOUT)
                .user_agent(concat!("certcentral/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FetchError::Saturated(format!("HTTP client: {e}")))
        };
        Ok(Self {
            public: build(Destinations::PublicOnly)?,
            any: build(Destinations::Any)?,
        })
    }
}

/// The error and its causes on one line (reqwest's own message is only the outline).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

impl Fetch for HttpFetch {
    fn get<'a>(&'a self, url: &'a str, destinations: Destinations) -> FetchFuture<'a> {
        Box::pin(async move {
            let provider = |reason: String| FetchError::Provider(format!("GET {url}: {reason}"));
            let parsed = reqwest::Url::parse(url).map_err(|e| provider(e.to_string()))?;
            // IP literals never reach the resolver: check them here.
            egress::check_url(&parsed, destinations).map_err(|e| provider(e.to_string()))?;
            let client = match destinations {
                Destinations::PublicOnly => &self.public,
                Destinations::Any => &self.any,
            };
            let resp = client.get(parsed).send().await.map_err(|e| {
                if egress::saturated(&e) {
                    FetchError::Saturated(format!("GET {url}: {}", chain(&e)))
                } else {
                    provider(chain(&e))
                }
            })?;
            let status = resp.status();
            if !status.is_success() {
                // Redirects are not followed: a 3xx ends here too.
                return Err(provider(format!("HTTP {status}")));
            }
            limited_body(resp, MAX_DOCUMENT_BYTES)
                .await
                .map_err(provider)
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A one-request-at-a-time HTTP server answering every request with `answer`;
    /// returns its address and the number of requests it saw.
    async fn serve(answer: &'static str) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = tokio::spawn(async move {
            let mut requests = 0;
            while let Ok(Ok((mut conn, _))) =
                tokio::time::timeout(Duration::from_millis(300), listener.accept()).await
            {
                requests += 1;
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(answer.as_bytes()).await;
            }
            requests
        });
        (format!("http://{addr}"), seen)
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (base, seen) = serve(
            "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let fetch = HttpFetch::new().unwrap();
        let err = fetch
            .get(
                &format!("{base}/.well-known/openid-configuration"),
                Destinations::Any,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Provider(e) if e.contains("HTTP 302")),
            "{err:?}"
        );
        assert_eq!(seen.await.unwrap(), 1, "the redirect was followed");
    }

    #[tokio::test]
    async fn private_addresses_are_refused_unless_allowed() {
        let (base, seen) =
            serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
        let fetch = HttpFetch::new().unwrap();
        let url = format!("{base}/keys");
        let err = fetch.get(&url, Destinations::PublicOnly).await.unwrap_err();
        assert!(
            matches!(&err, FetchError::Provider(e) if e.contains("not a public address")),
            "{err:?}"
        );
        let by_name = url.replace("127.0.0.1", "localhost");
        let err = fetch
            .get(&by_name, Destinations::PublicOnly)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Provider(_)), "{err:?}");
        assert_eq!(fetch.get(&url, Destinations::Any).await.unwrap(), b"{}");
        assert_eq!(seen.await.unwrap(), 1);
    }
}
