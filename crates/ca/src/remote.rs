//! SCTs from CT logs in other processes, over RFC 6962 `add-pre-chain` ([`RemoteLog`]).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use pki::ct::{DigitallySigned, SignedEntry, TimestampedEntry, sct_signed_data};
use pki::tls::Codec;
use pki::{SignedCertificateTimestamp, verify_digitally_signed};

use oidc::fetch::limited_body;

use crate::issue::{PrecertSubmission, SctError, SctFuture, SctSource};

/// Time limit for one request to a log.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
        let (signature, used) = DigitallySigned::read_prefix(&raw_signature)
            .map_err(|_| bad("a malformed signature"))?;
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
