//! HTTP reads from logs and log-list servers, with every response body bounded: a log
//! under observation is not trusted to send reasonable amounts of data.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pki::DigitallySigned;
use pki::tls::Codec;
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
}

/// RFC 6962 §4.3 `get-sth` output.
#[derive(Debug, Deserialize)]
pub struct GetSth {
    pub tree_size: u64,
    pub timestamp: u64,
    pub sha256_root_hash: String,
    pub tree_head_signature: String,
}

/// RFC 6962 §4.4 `get-sth-consistency` output.
#[derive(Debug, Deserialize)]
pub struct GetConsistency {
    pub consistency: Vec<String>,
}

/// RFC 6962 §4.5 `get-proof-by-hash` output.
#[derive(Debug, Deserialize)]
pub struct GetProofByHash {
    pub leaf_index: u64,
    pub audit_path: Vec<String>,
}

/// RFC 6962 §4.6 `get-entries` output.
#[derive(Debug, Deserialize)]
pub struct GetEntries {
    pub entries: Vec<EntryJson>,
}

/// One entry of [`GetEntries`]; `extra_data` is not needed to check or match entries.
#[derive(Debug, Deserialize)]
pub struct EntryJson {
    pub leaf_input: String,
}

/// A tree head whose fields decoded (its signature is checked by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub timestamp: u64,
    pub root_hash: merkle::Hash,
    pub signature: DigitallySigned,
}

/// Decodes a base64 SHA-256 hash.
pub fn b64_hash(s: &str) -> Option<merkle::Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

impl GetSth {
    /// Decodes the binary fields; `None` if they are malformed.
    pub fn decode(&self) -> Option<SignedTreeHead> {
        let raw = B64.decode(&self.tree_head_signature).ok()?;
        let (signature, used) = DigitallySigned::read_prefix(&raw).ok()?;
        if used != raw.len() {
            return None;
        }
        Some(SignedTreeHead {
            tree_size: self.tree_size,
            timestamp: self.timestamp,
            root_hash: b64_hash(&self.sha256_root_hash)?,
            signature,
        })
    }
}

impl SignedTreeHead {
    /// Verifies the RFC 6962 §3.5 signature with the log key.
    pub fn verify(&self, spki_der: &[u8]) -> Result<(), pki::VerifyError> {
        let msg = pki::ct::tree_head_signed_data(self.timestamp, self.tree_size, &self.root_hash);
        pki::verify_digitally_signed(spki_der, &msg, &self.signature)
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
