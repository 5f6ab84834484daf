//! I/O the CA needs from elsewhere: OIDC discovery documents and key sets over HTTP(S)
//! ([`HttpFetch`]), and SCTs from CT logs in other processes over RFC 6962
//! `add-pre-chain` ([`RemoteLog`]).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use pki::ct::{DigitallySigned, SignedEntry, TimestampedEntry, sct_signed_data};
use pki::{SignedCertificateTimestamp, verify_digitally_signed};

use crate::issue::{PrecertSubmission, SctError, SctFuture, SctSource};
use crate::oidc::{Fetch, FetchError};

/// Largest discovery document or JWKS accepted. Real ones are a few KiB.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Time limit for one request to an identity provider or a log.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a response body, refusing more than `max` bytes (a hostile or broken server
/// must not make us buffer without bound).
async fn limited_body(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
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

/// RFC 6962 §4.1 `add-chain`/`add-pre-chain` answer.
#[derive(Debug, Deserialize)]
struct AddChainResponse {
    sct_version: u8,
    id: String,
    timestamp: u64,
    extensions: String,
    signature: String,
}

/// A CT log reached over HTTP. Its SCTs are verified against its key before they are
/// embedded: a certificate must never carry an SCT that clients would reject.
#[derive(Debug, Clone)]
pub struct RemoteLog {
    url: String,
    spki_der: Vec<u8>,
    log_id: [u8; 32],
    client: reqwest::Client,
}

impl RemoteLog {
    /// A log at `url` (the prefix before `/ct/v1/`) with public key `spki_der`.
    pub fn new(url: &str, spki_der: Vec<u8>) -> Result<Self, SctError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(SctError(format!(
                "log URL {url} must start with https:// or http://"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| SctError(format!("HTTP client: {e}")))?;
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            log_id: pki::ct::log_id(&spki_der),
            spki_der,
            client,
        })
    }

    async fn add_pre_chain(
        &self,
        submission: &PrecertSubmission,
    ) -> Result<SignedCertificateTimestamp, SctError> {
        let chain: Vec<String> = submission.chain.iter().map(|c| BASE64.encode(c)).collect();
        let endpoint = format!("{}/ct/v1/add-pre-chain", self.url);
        let resp = self
            .client
            .post(&endpoint)
            .json(&serde_json::json!({ "chain": chain }))
            .send()
            .await
            .map_err(|e| SctError(format!("POST {endpoint}: {e}")))?;
        let status = resp.status();
        let body = limited_body(resp, 64 * 1024)
            .await
            .map_err(|e| SctError(format!("POST {endpoint}: {e}")))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(200).collect();
            return Err(SctError(format!("POST {endpoint}: HTTP {status}: {text}")));
        }
        self.parse_and_verify(&body, submission)
    }

    /// Decodes the log's answer and checks it is an SCT by this log over this entry.
    fn parse_and_verify(
        &self,
        body: &[u8],
        submission: &PrecertSubmission,
    ) -> Result<SignedCertificateTimestamp, SctError> {
        let bad = |what: &str| SctError(format!("log {} answered {what}", self.url));
        let answer: AddChainResponse =
            serde_json::from_slice(body).map_err(|e| bad(&format!("malformed JSON: {e}")))?;
        if answer.sct_version != 0 {
            return Err(bad("an SCT version other than v1"));
        }
        let id = BASE64.decode(&answer.id).map_err(|_| bad("a bad log id"))?;
        if id != self.log_id {
            return Err(bad("an SCT with another log's id"));
        }
        let extensions = BASE64
            .decode(&answer.extensions)
            .map_err(|_| bad("bad extensions"))?;
        let raw_signature = BASE64
            .decode(&answer.signature)
            .map_err(|_| bad("a bad signature encoding"))?;
        let (signature, used) =
            DigitallySigned::decode(&raw_signature).map_err(|_| bad("a malformed signature"))?;
        if used != raw_signature.len() {
            return Err(bad("trailing bytes after the signature"));
        }
        let entry = TimestampedEntry {
            timestamp: answer.timestamp,
            entry: SignedEntry::Precert {
                issuer_key_hash: submission.issuer_key_hash,
                tbs_certificate: submission.tbs_certificate.clone(),
            },
            extensions: extensions.clone(),
        };
        verify_digitally_signed(&self.spki_der, &sct_signed_data(&entry), &signature)
            .map_err(|e| bad(&format!("an SCT whose signature does not verify ({e})")))?;
        Ok(SignedCertificateTimestamp {
            log_id: self.log_id,
            timestamp: answer.timestamp,
            extensions,
            signature,
        })
    }
}

impl SctSource for RemoteLog {
    fn name(&self) -> &str {
        &self.url
    }

    fn submit_precert(&self, submission: Arc<PrecertSubmission>) -> SctFuture<'_> {
        Box::pin(async move { self.add_pre_chain(&submission).await })
    }
}
