//! HTTP reads from logs and log-list servers, with every response body bounded: a log
//! under observation is not trusted to send reasonable amounts of data.

use std::time::Duration;

use pki::ct_api::JsonError;
use serde::Deserialize;

/// Largest JSON answer read (a get-entries page of 256 certificates with chains).
pub const MAX_JSON_BYTES: usize = 32 * 1024 * 1024;
/// Largest data tile read: 256 entries of at most a few 64 KiB certificates each
/// would be absurd; real tiles are a few hundred KiB.
pub const MAX_TILE_BYTES: usize = 64 * 1024 * 1024;
/// Largest checkpoint read.
pub const MAX_CHECKPOINT_BYTES: usize = merkle::note::MAX_NOTE_BYTES;

/// A failed request: transport, status, size or shape. Not evidence against a log.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: response larger than {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("{url}: {reason}")]
    Malformed { url: String, reason: String },
}

impl HttpError {
    /// The HTTP status, if the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client shared by all requests of a run.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
}

impl Client {
    /// A client with connect and whole-request timeouts, so a stalled log cannot hang
    /// the monitor.
    pub fn new() -> Result<Self, HttpError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("certcentral-monitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| HttpError::Transport {
                url: String::new(),
                source,
            })?;
        Ok(Self { http })
    }

    /// The underlying reqwest client (webhooks reuse its connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// GETs `url` and reads at most `max` bytes of a 200 answer.
    pub async fn get_bytes(&self, url: &str, max: usize) -> Result<Vec<u8>, HttpError> {
        let transport = |source| HttpError::Transport {
            url: url.to_owned(),
            source,
        };
        let mut resp = self.http.get(url).send().await.map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(HttpError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            });
        }
        if resp.content_length().is_some_and(|l| l > max as u64) {
            return Err(HttpError::TooLarge {
                url: url.to_owned(),
                max,
            });
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if out.len() + chunk.len() > max {
                return Err(HttpError::TooLarge {
                    url: url.to_owned(),
                    max,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// GETs and parses a bounded JSON answer.
    pub async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T, HttpError> {
        let bytes = self.get_bytes(url, MAX_JSON_BYTES).await?;
        serde_json::from_slice(&bytes).map_err(|e| HttpError::Malformed {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }

    /// GETs one of the RFC 6962 §4 answers (`pki::ct_api`). An answer of the right
    /// shape whose binary fields do not decode is the log's own misbehaviour, not a
    /// failed request: it comes back as `Ok(Err(reason))` for the caller to raise an
    /// alert with.
    pub async fn get_ct_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
    ) -> Result<Result<T, String>, HttpError> {
        let bytes = self.get_bytes(url, MAX_JSON_BYTES).await?;
        match pki::ct_api::from_json(&bytes) {
            Ok(value) => Ok(Ok(value)),
            Err(JsonError::Field(e)) => Ok(Err(e.to_string())),
            Err(JsonError::Shape(e)) => Err(HttpError::Malformed {
                url: url.to_owned(),
                reason: e.to_string(),
            }),
        }
    }
}

/// Appends `s` percent-encoded as a query value (base64's `+`, `/`, `=` included).
pub fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A log URL with exactly one trailing slash, so endpoint paths join by concatenation.
pub fn log_base(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}
