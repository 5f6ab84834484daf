//! sigstore trust distribution: this instance's trusted root, signing config and
//! client trust config (`pki::sigstore_trust`), built once at start from the running
//! configuration and served under `/sigstore/`, so that
//! `sigstore --trust-config client_trust_config.json sign|verify …` works against it.
//!
//! What goes in: the CA's chain (issuing certificate first, root last, as
//! `X509CertificateChain` in a `CertificateAuthority` is ordered), every CT log's key
//! (this server's logs and the CA's remote ones), every artifact log's key
//! ([`ArtifactLogTrust`], filled in where the artifact logs are opened), the TSA's
//! chain; the CA, OIDC issuer, artifact log and TSA URLs; and one operator name for
//! all of them, so that a client picks one artifact log per version rule (sigstore
//! clients keep, per operator, the highest API version they speak).
//!
//! A key is rendered as a list of periods ([`LogKeyPeriod`]): a rotated-out key keeps
//! its entry with a closed `validFor`, so what it signed still verifies. No log keeps a
//! key history in its configuration yet; each key is one open period.

use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use pki::sigstore_trust::{
    CertificateAuthority, ClientTrustConfig, PublicKey, PublicKeyDetails, Service,
    ServiceConfiguration, ServiceSelector, SigningConfig, SigningConfigMediaType, TimeRange,
    TransparencyLogInstance, TrustedRoot,
};
use pki::verify::HashAlgorithm;

use crate::app::{OpenedLog, generated_key_path};
use crate::config::{Config, CtLogRef};

/// The trusted root: keys and certificates.
pub const TRUSTED_ROOT_PATH: &str = "/sigstore/trusted_root.json";
/// The signing config: which services to call.
pub const SIGNING_CONFIG_PATH: &str = "/sigstore/signing_config.v0.2.json";
/// Both in one document, what `sigstore --trust-config` reads.
pub const CLIENT_TRUST_CONFIG_PATH: &str = "/sigstore/client_trust_config.json";

/// Start of a key's period when nothing says when the key was made (a key file named
/// in the configuration, a remote log's key): the epoch, so that nothing the key signed
/// falls before it. sigstore-python only checks that a period has started.
pub const UNKNOWN_KEY_START_MS: u64 = 0;

/// The Fulcio, OIDC and TSA API versions sigstore clients speak (`major_api_version`).
const API_VERSION_1: u32 = 1;

/// One key of a log and the period it signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKeyPeriod {
    /// DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// How clients find the key: the SHA-256 of the key for CT logs and Rekor v1, the
    /// C2SP signed-note key hash of origin and key for Rekor v2 (sigstore's
    /// `log2025-1.rekor.sigstore.dev` is listed so).
    pub log_id: [u8; 32],
    /// Milliseconds since the epoch.
    pub valid_from_ms: u64,
    /// `None` while the key is the log's current one.
    pub valid_until_ms: Option<u64>,
}

impl LogKeyPeriod {
    /// The current key of an RFC 6962 log or a Rekor v1 log (log ID = SHA-256 of the
    /// SubjectPublicKeyInfo).
    pub fn current_sha256(spki_der: Vec<u8>, valid_from_ms: u64) -> Self {
        Self {
            log_id: pki::ct::log_id(&spki_der),
            spki_der,
            valid_from_ms,
            valid_until_ms: None,
        }
    }

    fn valid_for(&self) -> TimeRange {
        TimeRange {
            start_ms: self.valid_from_ms,
            end_ms: self.valid_until_ms,
        }
    }
}

/// What the trust documents say of one artifact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactLogTrust {
    /// `<public_url>/rekor/<name>`: clients append `/api/v1/…` or `/api/v2/…`.
    pub base_url: String,
    /// 1 for the Rekor v1 API, 2 for Rekor v2.
    pub major_api_version: u32,
    /// The log's keys, oldest first.
    pub keys: Vec<LogKeyPeriod>,
}

/// What the trusted root says of one CT log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtLogTrust {
    /// The prefix before `/ct/v1/`, without a final slash.
    pub base_url: String,
    /// The log's keys, oldest first.
    pub keys: Vec<LogKeyPeriod>,
}

/// Everything the documents are made of.
#[derive(Debug, Clone, Default)]
pub struct InstanceTrust {
    /// The URL clients reach the server at.
    pub public_url: String,
    /// The one operator name of every service.
    pub operator: String,
    /// The CA's chain, issuing certificate first, root last.
    pub ca_chain: Option<Vec<Vec<u8>>>,
    /// OIDC issuers a signer may sign in with.
    pub oidc_issuers: Vec<String>,
    /// CT logs.
    pub ct_logs: Vec<CtLogTrust>,
    /// Artifact logs.
    pub artifact_logs: Vec<ArtifactLogTrust>,
    /// The TSA's chain, time-stamping certificate first, root last.
    pub tsa_chain: Option<Vec<Vec<u8>>>,
}

/// The three documents, as served.
#[derive(Debug, Clone)]
pub struct TrustDocuments {
    trusted_root_json: Bytes,
    signing_config_json: Bytes,
    client_trust_config_json: Bytes,
}

impl InstanceTrust {
    /// The documents of this instance.
    pub fn documents(&self) -> anyhow::Result<TrustDocuments> {
        let base = self.public_url.trim_end_matches('/');
        let operator = || Some(self.operator.clone());
        let ca = self
            .ca_chain
            .as_ref()
            .map(|chain| {
                CertificateAuthority::from_chain(chain.clone(), Some(base.to_owned()), operator())
            })
            .transpose()
            .context("the CA chain")?;
        let tsa_url = format!("{base}/api/v1/timestamp");
        let tsa = self
            .tsa_chain
            .as_ref()
            .map(|chain| {
                CertificateAuthority::from_chain(chain.clone(), Some(tsa_url.clone()), operator())
            })
            .transpose()
            .context("the TSA chain")?;
        let mut ctlogs = Vec::new();
        for log in &self.ct_logs {
            ctlogs.extend(self.instances(&log.base_url, &log.keys)?);
        }
        let mut tlogs = Vec::new();
        for log in &self.artifact_logs {
            tlogs.extend(self.instances(&log.base_url, &log.keys)?);
        }
        let trusted_root = TrustedRoot::new(
            tlogs,
            ca.iter().cloned().collect(),
            ctlogs,
            tsa.iter().cloned().collect(),
        );

        let service = |url: &str, major_api_version: u32, valid_for: Option<TimeRange>| Service {
            url: url.to_owned(),
            major_api_version,
            valid_for,
            operator: self.operator.clone(),
        };
        let ca_valid_for = ca.as_ref().map(|c| c.valid_for);
        let signing_config = SigningConfig {
            media_type: SigningConfigMediaType,
            ca_urls: ca_valid_for
                .map(|v| service(base, API_VERSION_1, Some(v)))
                .into_iter()
                .collect(),
            // The issuers serve sign-in for this CA: the same period.
            oidc_urls: self
                .oidc_issuers
                .iter()
                .map(|url| service(url, API_VERSION_1, ca_valid_for))
                .collect(),
            rekor_tlog_urls: self
                .artifact_logs
                .iter()
                .filter_map(|log| {
                    let first = log.keys.first()?;
                    let last = log.keys.last()?;
                    let period = TimeRange {
                        start_ms: first.valid_from_ms,
                        end_ms: last.valid_until_ms,
                    };
                    Some(service(&log.base_url, log.major_api_version, Some(period)))
                })
                .collect(),
            rekor_tlog_config: Some(ServiceConfiguration {
                selector: ServiceSelector::Any,
                count: None,
            }),
            tsa_urls: tsa
                .as_ref()
                .map(|t| service(&tsa_url, API_VERSION_1, Some(t.valid_for)))
                .into_iter()
                .collect(),
            tsa_config: Some(ServiceConfiguration {
                selector: ServiceSelector::Any,
                count: None,
            }),
        };
        let client = ClientTrustConfig::new(trusted_root.clone(), signing_config.clone());
        Ok(TrustDocuments {
            trusted_root_json: trusted_root.to_json()?.into(),
            signing_config_json: signing_config.to_json()?.into(),
            client_trust_config_json: client.to_json()?.into(),
        })
    }

    /// One `TransparencyLogInstance` per key of a log.
    fn instances(
        &self,
        base_url: &str,
        keys: &[LogKeyPeriod],
    ) -> anyhow::Result<Vec<TransparencyLogInstance>> {
        keys.iter()
            .map(|key| {
                let key_details = PublicKeyDetails::of_spki(&key.spki_der)
                    .with_context(|| format!("the key of log {base_url}"))?;
                Ok(TransparencyLogInstance {
                    base_url: base_url.trim_end_matches('/').to_owned(),
                    hash_algorithm: HashAlgorithm::Sha256,
                    public_key: PublicKey {
                        raw_bytes: key.spki_der.clone(),
                        key_details,
                        valid_for: Some(key.valid_for()),
                    },
                    log_id: key.log_id,
                    checkpoint_key_id: None,
                    operator: Some(self.operator.clone()),
                })
            })
            .collect()
    }
}

/// The operator name: the configured one, else the host of the public URL.
pub fn operator(config: &Config, public_url: &str) -> String {
    config.operator.clone().unwrap_or_else(|| {
        public_url
            .split_once("://")
            .map_or(public_url, |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned()
    })
}

/// Every CT log a client may meet in a certificate: this server's logs, then the
/// CA's remote ones (a key listed once).
pub fn ct_logs(config: &Config, logs: &[OpenedLog]) -> anyhow::Result<Vec<CtLogTrust>> {
    let mut out: Vec<CtLogTrust> = Vec::new();
    for log in logs {
        let section = config.logs.iter().find(|s| s.name == log.log.name());
        // A generated key is written once, when it is made: its file's time is the
        // key's birth. A configured key file's time says nothing.
        let start = match section {
            Some(s) if s.key_file == "ephemeral" => {
                file_time_ms(&generated_key_path(&config.data_dir, &s.name))
            }
            _ => None,
        };
        out.push(CtLogTrust {
            base_url: log.url.trim_end_matches('/').to_owned(),
            keys: vec![LogKeyPeriod::current_sha256(
                log.log.public_key_der().to_vec(),
                start.unwrap_or(UNKNOWN_KEY_START_MS),
            )],
        });
    }
    for log in config.ca.iter().flat_map(|c| &c.ct_logs) {
        let CtLogRef::Remote(remote) = log else {
            continue;
        };
        let spki_der = BASE64
            .decode(remote.public_key.trim())
            .with_context(|| format!("[ca] ct_logs: public_key of {} is not base64", remote.url))?;
        if out
            .iter()
            .any(|l| l.keys.iter().any(|k| k.spki_der == spki_der))
        {
            continue;
        }
        out.push(CtLogTrust {
            base_url: remote.url.trim_end_matches('/').to_owned(),
            keys: vec![LogKeyPeriod::current_sha256(spki_der, UNKNOWN_KEY_START_MS)],
        });
    }
    Ok(out)
}

/// The OIDC issuers a signer signs in with: the dev issuer under `--dev`, else the
/// CA's issuers (meta-issuers, with `*`, are patterns, not URLs, and are left out).
pub fn oidc_issuers(config: &Config, dev_issuer: Option<&oidc::dev::DevIssuer>) -> Vec<String> {
    match dev_issuer {
        Some(dev) => vec![dev.issuer_url().to_owned()],
        None => config
            .ca
            .iter()
            .flat_map(|c| &c.oidc_issuers)
            .map(|i| i.issuer_url.clone())
            .filter(|url| !url.contains('*'))
            .collect(),
    }
}

/// A file's modification time, milliseconds since the epoch.
pub fn file_time_ms(path: &Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    u64::try_from(modified.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()
}

/// `GET /sigstore/trusted_root.json`, `/sigstore/signing_config.v0.2.json`,
/// `/sigstore/client_trust_config.json`.
pub fn router(documents: &TrustDocuments) -> Router {
    let serve = |body: Bytes| {
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) })
    };
    Router::new()
        .route(
            TRUSTED_ROOT_PATH,
            serve(documents.trusted_root_json.clone()),
        )
        .route(
            SIGNING_CONFIG_PATH,
            serve(documents.signing_config_json.clone()),
        )
        .route(
            CLIENT_TRUST_CONFIG_PATH,
            serve(documents.client_trust_config_json.clone()),
        )
}

#[cfg(test)]
mod tests;
