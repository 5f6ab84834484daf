//! A blocking facade over reqwest for one command: one runtime, one client, every
//! answer's size bounded and every refusal turned into an error that names the
//! request, the status and the server's `{code, message}` text.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;

use crate::cert::server_root;
use crate::fulcio::error_message;

/// The largest answer read: a full tlog-tiles entry bundle of 256 entries of at most
/// 64 KiB each is 16 MiB; nothing this client asks for is larger.
pub const MAX_ANSWER_BYTES: usize = 17 << 20;

pub struct Http {
    pub runtime: tokio::runtime::Runtime,
    pub client: reqwest::Client,
    /// The server root, without a trailing slash.
    pub base: String,
}

impl Http {
    /// A client for the server at `url`; `purpose` goes into the User-Agent.
    pub fn new(url: &str, purpose: &str) -> anyhow::Result<Self> {
        Ok(Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .user_agent(format!("ccc/{} ({purpose})", env!("CARGO_PKG_VERSION")))
                .build()
                .context("building the HTTP client")?,
            base: server_root(url)?,
        })
    }

    /// Sends `request` and returns the body of a 2xx answer; anything else becomes an
    /// error naming the URL, the status and the server's `message`.
    pub fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Vec<u8>> {
        self.runtime
            .block_on(send_async(request, what))
            .map(|(_, body)| body)
    }

    pub fn get(&self, path: &str, what: &str) -> anyhow::Result<Vec<u8>> {
        self.send(self.client.get(format!("{}{path}", self.base)), what)
    }

    /// [`Http::send`], the answer read as `T`.
    pub fn send_json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<T> {
        let body = self.send(request, what)?;
        serde_json::from_slice(&body).with_context(|| format!("{what}: unexpected answer"))
    }

    pub fn get_json<T: DeserializeOwned>(&self, path: &str, what: &str) -> anyhow::Result<T> {
        self.send_json(self.client.get(format!("{}{path}", self.base)), what)
    }

    pub fn get_text(&self, path: &str, what: &str) -> anyhow::Result<String> {
        String::from_utf8(self.get(path, what)?).with_context(|| format!("{what}: not UTF-8"))
    }
}

/// Sends `request`; a 2xx answer's status and body (at most [`MAX_ANSWER_BYTES`]), any
/// other status an error with the server's message.
pub async fn send_async(
    request: reqwest::RequestBuilder,
    what: &str,
) -> anyhow::Result<(reqwest::StatusCode, Vec<u8>)> {
    let (status, _, body) = exchange(request, what).await?;
    if !status.is_success() {
        bail!(
            "{what}: the server answered {status}: {}",
            error_message(&body)
        );
    }
    Ok((status, body))
}

/// Sends `request` and reads the whole answer, whatever its status.
pub async fn exchange(
    request: reqwest::RequestBuilder,
    what: &str,
) -> anyhow::Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>)> {
    let mut response = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{what}: {}", crate::error_text::error_chain(&e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("{what}: reading the answer"))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            bail!("{what}: the answer is larger than {MAX_ANSWER_BYTES} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body))
}
