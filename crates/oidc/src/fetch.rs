//! [`Fetch`] over HTTP(S): how the verifier reaches real identity providers.

use std::time::Duration;

use crate::{Fetch, FetchError};

/// Largest discovery document or JWKS accepted. Real ones are a few KiB.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Time limit for one request to an identity provider.
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

/// [`Fetch`] over HTTP(S) with reqwest (rustls, the platform's trust store).
///
/// The OIDC verifier is synchronous (it holds a per-issuer lock while fetching, so a
/// burst of tokens causes one fetch); this drives the async client on the runtime
/// whose handle it holds. It must therefore be called from a blocking thread
/// (`spawn_blocking`), which is where the CA runs token verification.
#[derive(Debug, Clone)]
pub struct HttpFetch {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl HttpFetch {
    /// A fetcher driving requests on `runtime`.
    pub fn new(runtime: tokio::runtime::Handle) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("certcentral/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError(format!("HTTP client: {e}")))?;
        Ok(Self { client, runtime })
    }
}

impl Fetch for HttpFetch {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.runtime.block_on(async {
            let resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| FetchError(format!("GET {url}: {e}")))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(FetchError(format!("GET {url}: HTTP {status}")));
            }
            limited_body(resp, MAX_DOCUMENT_BYTES)
                .await
                .map_err(|e| FetchError(format!("GET {url}: {e}")))
        })
    }
}
