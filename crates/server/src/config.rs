//! The `certcentral.toml` file and the `--dev` defaults. Unknown keys are errors:
//! a misspelt option silently ignored is a production incident waiting to happen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where SQLite databases and generated keys live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `postgres://user:password@host:port/db`: keep logs, registry and monitor in
    /// PostgreSQL instead of SQLite under `data_dir`, so several processes can serve
    /// them (each log is sequenced by whichever holds its lease). Keys still come
    /// from `data_dir` or the key files: every process needs the same ones.
    #[serde(default)]
    pub database_url: Option<String>,
    /// The URL clients reach this server at (`https://ct.example.com`); log URLs and
    /// checkpoint origins derive from it. Default: `http://<listen address>`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Who runs this instance, as sigstore clients see it in `/sigstore/*.json`: one
    /// name for every service, so that a client picks one artifact log per version
    /// rule. Default: the host of `public_url`.
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub logs: Vec<LogSection>,
    /// The code-signing CA; absent = no CA routes.
    #[serde(default)]
    pub ca: Option<CaSection>,
    /// The developer-certificate registry; absent = no registry routes.
    #[serde(default)]
    pub registry: Option<RegistrySection>,
    /// The server-side log monitor and its watch subscriptions; absent = off. Needs
    /// `[registry]`: subscriptions are owned by registry accounts.
    #[serde(default)]
    pub monitor: Option<MonitorSection>,
    /// The RFC 3161 time-stamp authority; absent = no TSA routes.
    #[serde(default)]
    pub tsa: Option<TsaSection>,
    /// Artifact-signature logs (the Rekor APIs), served at `/rekor/{name}/`.
    #[serde(default)]
    pub artifact_logs: Vec<ArtifactLogSection>,
    /// How long a SIGTERM/SIGINT may take: waiting submitters get their SCTs or
    /// entries from a last batch, or a 503 (retry) when this runs out; then the
    /// process exits.
    #[serde(default = "default_shutdown_timeout", with = "humantime_duration")]
    pub shutdown_timeout: Duration,
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(10)
}

/// One `[[artifact_logs]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArtifactLogSection {
    pub name: String,
    /// The Rekor API the log speaks: 1 (`/api/v1`, entries with SETs) or 2
    /// (`/api/v2`, rekor-tiles). A log speaks one; run one of each for both.
    pub api_version: u32,
    /// PKCS#8 PEM of the log's ECDSA P-256 key, or `ephemeral`: generated on first
    /// start and kept under `<data_dir>/keys/` as `rekor-<name>.pem`.
    pub key_file: String,
    /// Time between batches: the floor of a submission's latency.
    #[serde(default = "default_artifact_interval", with = "humantime_duration")]
    pub sequence_interval: Duration,
    /// Entries that may wait for a batch before the log answers 503.
    #[serde(default)]
    pub pool_size: Option<usize>,
}

fn default_artifact_interval() -> Duration {
    rekor::DEFAULT_SEQUENCE_INTERVAL
}

/// The `[monitor]` table: follows this server's own logs and `[[monitor.logs]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MonitorSection {
    /// Pause between two passes over every followed log.
    #[serde(default = "default_monitor_interval", with = "humantime_duration")]
    pub interval: Duration,
    /// How long a webhook delivery is retried (with backoff) before it is given up
    /// and logged.
    #[serde(default = "default_webhook_give_up", with = "humantime_duration")]
    pub webhook_give_up: Duration,
    /// Let webhooks reach loopback, private and other non-public addresses. Off by
    /// default: webhook URLs come from registry accounts, and the server must not
    /// become their way into the operator's network (see `monitor::webhook`).
    #[serde(default)]
    pub allow_private_webhooks: bool,
    /// Logs of other operators to follow too.
    #[serde(default)]
    pub logs: Vec<RemoteLogSection>,
}

fn default_monitor_interval() -> Duration {
    Duration::from_secs(2)
}

fn default_webhook_give_up() -> Duration {
    Duration::from_secs(600)
}

/// The `[registry]` table: its presence enables the registry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    /// Checkpoint origin and note key name of the registry log. Default:
    /// `<public_url host>/registry`.
    #[serde(default)]
    pub origin: Option<String>,
    /// OIDC issuers accepted for registration. Absent: the CA's issuers (the same
    /// verifier and key cache is shared), plus the dev issuer in `--dev`, each with
    /// [`RegistrySection::audience`] in place of the CA's client id. Listed here,
    /// each has its own `client_id`, which must not be the CA's for that issuer.
    #[serde(default)]
    pub oidc_issuers: Option<Vec<OidcIssuerSection>>,
    /// The `aud` registration and key-rotation tokens must carry when the registry
    /// uses the CA's issuers or the dev issuer: never the CA's own (`sigstore`), or a
    /// token shown to the CA — or to any sigstore CA — could open or take over an
    /// account.
    #[serde(default = "default_registry_audience")]
    pub audience: String,
    /// Oldest token (by `iat`) accepted for registration and key rotation; each token
    /// is accepted once.
    #[serde(default = "default_token_max_age", with = "humantime_duration")]
    pub token_max_age: Duration,
    /// How long a push challenge stays valid (the protocol says 5 minutes).
    #[serde(default = "default_challenge_ttl", with = "humantime_duration")]
    pub challenge_ttl: Duration,
    /// Certificates kept in memory for `getusercert` (0 turns the cache off).
    #[serde(default = "default_download_cache_entries")]
    pub download_cache_entries: usize,
    /// How long a cached download is trusted: bounds how late a revocation made by
    /// another process on the same database shows in `getusercert`.
    #[serde(default = "default_download_cache_ttl", with = "humantime_duration")]
    pub download_cache_ttl: Duration,
}

fn default_registry_audience() -> String {
    pki::registry_api::DEFAULT_REGISTRY_AUDIENCE.to_owned()
}

fn default_token_max_age() -> Duration {
    registry::service::DEFAULT_TOKEN_MAX_AGE
}

fn default_download_cache_entries() -> usize {
    registry::downloads::DEFAULT_CAPACITY
}

fn default_download_cache_ttl() -> Duration {
    registry::downloads::DEFAULT_TTL
}

fn default_challenge_ttl() -> Duration {
    Duration::from_millis(registry::service::CHALLENGE_TTL_MS)
}

/// The `[ca]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaSection {
    /// Where the CA key lives.
    #[serde(default)]
    pub signer: SignerKind,
    /// `file`: encrypted PKCS#8 PEM of the CA key.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// `file`: environment variable holding the key's password.
    #[serde(default)]
    pub key_password_env: Option<String>,
    /// `pkcs11`: path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[serde(default)]
    pub pkcs11_module: Option<PathBuf>,
    /// `pkcs11`: label of the token holding the key.
    #[serde(default)]
    pub pkcs11_token_label: Option<String>,
    /// `pkcs11`: label of the key pair.
    #[serde(default)]
    pub pkcs11_key_label: Option<String>,
    /// `pkcs11`: environment variable holding the user PIN.
    #[serde(default)]
    pub pkcs11_pin_env: Option<String>,
    /// PEM bundle: the certificate of the CA key first, then intermediates, the root
    /// last. Required for `file` and `pkcs11`; `ephemeral` generates its own chain.
    #[serde(default)]
    pub chain_pem: Option<PathBuf>,
    /// Lifetime of issued certificates.
    #[serde(default = "default_cert_lifetime", with = "humantime_duration")]
    pub cert_lifetime: Duration,
    /// How long issuance waits for the logs' SCTs before answering 503.
    #[serde(default = "default_sct_timeout", with = "humantime_duration")]
    pub sct_timeout: Duration,
    /// The logs every certificate gets an SCT from: names of `[[logs]]` in this
    /// server, or `{ url = "...", public_key = "<base64 DER SPKI>" }` for remote ones.
    #[serde(default)]
    pub ct_logs: Vec<CtLogRef>,
    #[serde(default)]
    pub oidc_issuers: Vec<OidcIssuerSection>,
}

impl CaSection {
    /// Where the CA key lives, for `ca_wiring::KeySource::load`.
    pub fn key_source(&self) -> crate::ca_wiring::KeySource<'_> {
        crate::ca_wiring::KeySource {
            table: "[ca]",
            role: "CA",
            signer: self.signer,
            key_file: self.key_file.as_deref(),
            key_password_env: self.key_password_env.as_ref(),
            pkcs11_module: self.pkcs11_module.as_deref(),
            pkcs11_token_label: self.pkcs11_token_label.as_deref(),
            pkcs11_key_label: self.pkcs11_key_label.as_deref(),
            pkcs11_pin_env: self.pkcs11_pin_env.as_ref(),
            chain_pem: self.chain_pem.as_deref(),
        }
    }
}

/// The `[tsa]` table: the RFC 3161 time-stamp authority. Its key is configured as the
/// CA's is (`signer`, `key_file`, `pkcs11_*`, `chain_pem`: the time-stamping
/// certificate first, the root last); `ephemeral` generates a root and a TSA
/// certificate at start.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TsaSection {
    /// Where the TSA key lives.
    #[serde(default)]
    pub signer: SignerKind,
    /// `file`: encrypted PKCS#8 PEM of the TSA key.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// `file`: environment variable holding the key's password.
    #[serde(default)]
    pub key_password_env: Option<String>,
    /// `pkcs11`: path of the PKCS#11 module.
    #[serde(default)]
    pub pkcs11_module: Option<PathBuf>,
    /// `pkcs11`: label of the token holding the key.
    #[serde(default)]
    pub pkcs11_token_label: Option<String>,
    /// `pkcs11`: label of the key pair.
    #[serde(default)]
    pub pkcs11_key_label: Option<String>,
    /// `pkcs11`: environment variable holding the user PIN.
    #[serde(default)]
    pub pkcs11_pin_env: Option<String>,
    /// PEM bundle: the TSA certificate (critical extendedKeyUsage id-kp-timeStamping)
    /// first, the root last. Required for `file` and `pkcs11`.
    #[serde(default)]
    pub chain_pem: Option<PathBuf>,
    /// The TSA policy OID written into every token (dotted decimal). Default: a
    /// development policy, `tsa::DEV_POLICY`.
    #[serde(default)]
    pub policy: Option<String>,
    /// The accuracy announced in every token (`0s`: none).
    #[serde(default = "default_tsa_accuracy", with = "humantime_duration")]
    pub accuracy: Duration,
}

fn default_tsa_accuracy() -> Duration {
    Duration::from_millis(tsa::DEFAULT_ACCURACY_MS)
}

impl TsaSection {
    /// Where the TSA key lives, for `ca_wiring::KeySource::load`.
    pub fn key_source(&self) -> crate::ca_wiring::KeySource<'_> {
        crate::ca_wiring::KeySource {
            table: "[tsa]",
            role: "TSA",
            signer: self.signer,
            key_file: self.key_file.as_deref(),
            key_password_env: self.key_password_env.as_ref(),
            pkcs11_module: self.pkcs11_module.as_deref(),
            pkcs11_token_label: self.pkcs11_token_label.as_deref(),
            pkcs11_key_label: self.pkcs11_key_label.as_deref(),
            pkcs11_pin_env: self.pkcs11_pin_env.as_ref(),
            chain_pem: self.chain_pem.as_deref(),
        }
    }
}

/// `[ca] signer` and `[tsa] signer`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SignerKind {
    /// A root and an intermediate generated in memory at start (development).
    #[default]
    Ephemeral,
    /// A password-protected PKCS#8 file.
    File,
    /// A key in a PKCS#11 token (HSM).
    Pkcs11,
}

/// One entry of `[ca] ct_logs`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CtLogRef {
    /// A `[[logs]]` entry of this server, by name.
    Local(String),
    /// A log in another process.
    Remote(RemoteLogSection),
}

/// A remote log: its submission URL prefix and key.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteLogSection {
    /// The prefix before `/ct/v1/`, e.g. `https://ct.example.com/logs/a2026`.
    pub url: String,
    /// The log's public key: base64 DER SubjectPublicKeyInfo (as in log lists).
    pub public_key: String,
}

/// One `[[ca.oidc_issuers]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcIssuerSection {
    /// `iss` of accepted tokens; `*` wildcards make a meta-issuer.
    pub issuer_url: String,
    /// The audience tokens must carry.
    pub client_id: String,
    /// How the identity is derived.
    #[serde(rename = "type")]
    pub kind: IssuerType,
    /// Hosts besides the issuer's own that its discovery document may name in
    /// `jwks_uri` (e.g. `["www.googleapis.com"]` for `https://accounts.google.com`).
    #[serde(default)]
    pub jwks_hosts: Vec<String>,
    /// Let the issuer's discovery document and keys be fetched from loopback and
    /// private addresses (an identity provider on the operator's own network). Off
    /// by default: a meta-issuer lets a token name the host the server contacts.
    #[serde(default)]
    pub private_network: bool,
    /// `ci-workflow` only: the CI server's base URL certificate URIs are built on
    /// (default: `https://github.com` for GitHub's issuer). Never read from a token.
    #[serde(default)]
    pub ci_server_url: Option<String>,
}

/// `type` of an OIDC issuer (Fulcio's issuer types).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    Email,
    Spiffe,
    Uri,
    Username,
    CiWorkflow,
}

impl From<IssuerType> for oidc::IdentityKind {
    fn from(t: IssuerType) -> Self {
        match t {
            IssuerType::Email => Self::Email,
            IssuerType::Spiffe => Self::Spiffe,
            IssuerType::Uri => Self::Uri,
            IssuerType::Username => Self::Username,
            IssuerType::CiWorkflow => Self::CiWorkflow,
        }
    }
}

fn default_cert_lifetime() -> Duration {
    ca::issue::DEFAULT_CERT_LIFETIME
}

fn default_sct_timeout() -> Duration {
    ca::issue::DEFAULT_SCT_TIMEOUT
}

/// The `--dev` defaults, as the file a user would write: a `--config` file given with
/// `--dev` is merged over this text ([`merge`]).
pub const DEV_DEFAULTS: &str = r#"
listen = "127.0.0.1:8080"
data_dir = "./certcentral-data"
operator = "certcentral-dev"

[[logs]]
name = "dev-a"
key_file = "ephemeral"

[[logs]]
name = "dev-b"
key_file = "ephemeral"

[ca]
signer = "ephemeral"
# One SCT per certificate: sigstore clients accept exactly one. Browser CT policies
# want two or more: `ct_logs = ["dev-a", "dev-b"]` in a --config file.
ct_logs = ["dev-a"]

[registry]

[tsa]
signer = "ephemeral"

[[artifact_logs]]
name = "dev-v1"
api_version = 1
key_file = "ephemeral"

[[artifact_logs]]
name = "dev-v2"
api_version = 2
key_file = "ephemeral"

[monitor]
# Webhook receivers in development run on this machine.
allow_private_webhooks = true
"#;

/// One `[[logs]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub name: String,
    /// PKCS#8 PEM of the log's ECDSA P-256 key, or `ephemeral`: a key generated on
    /// first start and kept under `<data_dir>/keys/` (a log's key must outlive
    /// restarts, or its stored tree heads would stop verifying).
    pub key_file: String,
    /// PEM bundle of accepted roots.
    #[serde(default)]
    pub roots_pem: Option<PathBuf>,
    #[serde(default = "default_interval", with = "humantime_duration")]
    pub sequence_interval: Duration,
    /// Submissions that may wait for a batch before the log answers 503.
    #[serde(default)]
    pub pool_size: Option<usize>,
    /// Expanded hash tiles cached for proofs (about 16 KiB each).
    #[serde(default)]
    pub tile_cache_tiles: Option<usize>,
}

fn default_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().expect("literal address")
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./certcentral-data")
}

fn default_interval() -> Duration {
    Duration::from_secs(1)
}

mod humantime_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

impl Config {
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in config file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// The `--dev` configuration: two logs with generated keys, one-second batches, an
    /// ephemeral CA getting its one SCT from `dev-a`.
    pub fn dev() -> Self {
        Self::parse(DEV_DEFAULTS).expect("the built-in dev defaults are valid")
    }

    /// `--dev --config FILE`: the file's settings over the dev defaults.
    pub fn dev_with_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse_dev_overlay(&text).with_context(|| format!("in config file {}", path.display()))
    }

    fn parse_dev_overlay(text: &str) -> anyhow::Result<Self> {
        let mut base: toml::Table = toml::from_str(DEV_DEFAULTS)?;
        let overlay: toml::Table = toml::from_str(text)?;
        merge(&mut base, overlay);
        let config: Self = toml::Table::try_into(base)?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses a configuration with problems, naming every one.
    fn validate(&self) -> anyhow::Result<()> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(Problems(problems).into());
        }
        Ok(())
    }

    /// One line saying what this configuration serves, for `check-config`.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("listen {}", self.listen),
            match &self.database_url {
                Some(_) => "PostgreSQL".to_owned(),
                None => format!("SQLite under {}", self.data_dir.display()),
            },
            format!("{} CT log(s)", self.logs.len()),
            format!("{} artifact log(s)", self.artifact_logs.len()),
        ];
        for (on, name) in [
            (self.ca.is_some(), "CA"),
            (self.registry.is_some(), "registry"),
            (self.monitor.is_some(), "monitor"),
            (self.tsa.is_some(), "TSA"),
        ] {
            if on {
                parts.push(name.to_owned());
            }
        }
        parts.join(", ")
    }

    /// Everything wrong with the values (the syntax and the keys were checked by
    /// parsing), without opening or binding anything.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.shutdown_timeout < Duration::from_secs(1)
            || self.shutdown_timeout > Duration::from_secs(600)
        {
            problems.push("shutdown_timeout must be between 1s and 10m".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for log in &self.logs {
            problems.extend(check_log_name("log", &log.name));
            if !seen.insert(&log.name) {
                problems.push(format!("log name {:?} appears twice", log.name));
            }
            if log.sequence_interval < Duration::from_millis(1)
                || log.sequence_interval > Duration::from_secs(60)
            {
                problems.push(format!(
                    "log {:?}: sequence_interval must be between 1ms and 60s",
                    log.name
                ));
            }
            if log.pool_size == Some(0) {
                problems.push(format!("log {:?}: pool_size must be at least 1", log.name));
            }
        }
        let mut artifact_names = std::collections::HashSet::new();
        for log in &self.artifact_logs {
            problems.extend(check_log_name("artifact log", &log.name));
            if !artifact_names.insert(&log.name) {
                problems.push(format!("artifact log name {:?} appears twice", log.name));
            }
            if !matches!(log.api_version, 1 | 2) {
                problems.push(format!(
                    "artifact log {:?}: api_version must be 1 or 2, not {}",
                    log.name, log.api_version
                ));
            }
            if log.sequence_interval < Duration::from_millis(1)
                || log.sequence_interval > Duration::from_secs(60)
            {
                problems.push(format!(
                    "artifact log {:?}: sequence_interval must be between 1ms and 60s",
                    log.name
                ));
            }
            if log.pool_size == Some(0) {
                problems.push(format!(
                    "artifact log {:?}: pool_size must be at least 1",
                    log.name
                ));
            }
        }
        if let Some(ca) = &self.ca {
            for log in &ca.ct_logs {
                if let CtLogRef::Local(name) = log
                    && !self.logs.iter().any(|l| &l.name == name)
                {
                    problems.push(format!(
                        "[ca] ct_logs names {name:?}, which is not a [[logs]] entry"
                    ));
                }
            }
            if ca.cert_lifetime < Duration::from_secs(60)
                || ca.cert_lifetime > Duration::from_secs(7 * 24 * 3600)
            {
                problems.push("[ca] cert_lifetime must be between 1 minute and 7 days".to_owned());
            }
        }
        if let Some(origin) = self.registry.as_ref().and_then(|r| r.origin.as_ref())
            && merkle::note::check_key_name(origin).is_err()
        {
            problems.push("[registry] origin must be non-empty, without spaces or '+'".to_owned());
        }
        if let Some(registry) = &self.registry {
            if registry.challenge_ttl < Duration::from_secs(1)
                || registry.challenge_ttl > Duration::from_secs(3600)
            {
                problems.push("[registry] challenge_ttl must be between 1s and 1h".to_owned());
            }
            if registry.token_max_age < Duration::from_secs(1)
                || registry.token_max_age > Duration::from_secs(3600)
            {
                problems.push("[registry] token_max_age must be between 1s and 1h".to_owned());
            }
            let audience = &registry.audience;
            if audience.is_empty()
                || audience.len() > 128
                || !audience.bytes().all(|b| b.is_ascii_graphic())
            {
                problems.push(
                    "[registry] audience must be 1-128 printable ASCII characters".to_owned(),
                );
            }
            let ca_issuers = self.ca.iter().flat_map(|ca| &ca.oidc_issuers);
            if ca_issuers.clone().any(|i| i.client_id == *audience)
                || audience == oidc::dev::DEV_CLIENT_ID
            {
                problems.push(format!(
                    "[registry] audience {audience:?} is a CA's: tokens minted for the CA would open registry accounts"
                ));
            }
            for own in registry.oidc_issuers.iter().flatten() {
                if ca_issuers
                    .clone()
                    .any(|ca| ca.issuer_url == own.issuer_url && ca.client_id == own.client_id)
                {
                    problems.push(format!(
                        "[[registry.oidc_issuers]] {}: client_id {:?} is the CA's for that issuer; give the registry its own",
                        own.issuer_url, own.client_id
                    ));
                }
            }
        }
        let all_issuers = self.ca.iter().flat_map(|ca| &ca.oidc_issuers).chain(
            self.registry
                .iter()
                .flat_map(|r| r.oidc_issuers.iter().flatten()),
        );
        for issuer in all_issuers {
            match (&issuer.ci_server_url, issuer.kind) {
                (None, _) => {}
                (Some(url), IssuerType::CiWorkflow)
                    if url.starts_with("https://") || url.starts_with("http://") => {}
                (Some(_), IssuerType::CiWorkflow) => problems.push(format!(
                    "{}: ci_server_url must be an http(s) URL",
                    issuer.issuer_url
                )),
                (Some(_), _) => problems.push(format!(
                    "{}: ci_server_url is only for type = \"ci-workflow\"",
                    issuer.issuer_url
                )),
            }
        }
        if let Some(monitor) = &self.monitor {
            if self.registry.is_none() {
                problems.push(
                    "[monitor] needs [registry]: subscriptions belong to registry accounts"
                        .to_owned(),
                );
            }
            if monitor.interval < Duration::from_millis(100)
                || monitor.interval > Duration::from_secs(3600)
            {
                problems.push("[monitor] interval must be between 100ms and 1h".to_owned());
            }
            if monitor.webhook_give_up < Duration::from_secs(1)
                || monitor.webhook_give_up > Duration::from_secs(7 * 24 * 3600)
            {
                problems.push("[monitor] webhook_give_up must be between 1s and 7 days".to_owned());
            }
            for log in &monitor.logs {
                if !(log.url.starts_with("http://") || log.url.starts_with("https://")) {
                    problems.push(format!(
                        "[[monitor.logs]] url {:?} must be http(s)",
                        log.url
                    ));
                }
            }
        }
        if let Some(tsa) = &self.tsa {
            if let Some(policy) = &tsa.policy
                && const_oid::ObjectIdentifier::new(policy).is_err()
            {
                problems.push(format!(
                    "[tsa] policy {policy:?} must be a dotted-decimal OID"
                ));
            }
            if tsa.accuracy > Duration::from_secs(3600) {
                problems.push("[tsa] accuracy must be at most 1h".to_owned());
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push("public_url must start with http:// or https://".to_owned());
        }
        if let Some(operator) = &self.operator
            && (operator.trim().is_empty() || operator.len() > 256)
        {
            problems.push("operator must be 1-256 characters".to_owned());
        }
        problems
    }
}

/// The values of a configuration that parsed but cannot be served, every one named.
#[derive(Debug)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Problems {}

/// Log names appear in URLs, file names and checkpoint origins.
fn check_log_name(what: &str, name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    (!ok).then(|| format!("{what} name {name:?} must be 1-64 characters of a-z, 0-9, '-' or '_'"))
}

/// Merges `overlay` into `base`: tables recursively; arrays of tables are extended,
/// an element replacing the one with the same `name` or `issuer_url` (so a file can
/// redefine `dev-a` or add an issuer); any other value is replaced.
pub fn merge(base: &mut toml::Table, overlay: toml::Table) {
    use toml::Value;
    fn key_of(v: &Value) -> Option<&Value> {
        let t = v.as_table()?;
        t.get("name").or_else(|| t.get("issuer_url"))
    }
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (Some(Value::Array(b)), Value::Array(o)) if b.iter().chain(&o).all(Value::is_table) => {
                for item in o {
                    match b
                        .iter_mut()
                        .find(|x| key_of(x).is_some() && key_of(x) == key_of(&item))
                    {
                        Some(slot) => *slot = item,
                        None => b.push(item),
                    }
                }
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let config = Config::parse(
            r#"
            listen = "0.0.0.0:9000"
            data_dir = "/var/lib/cc"
            public_url = "https://ct.example.com"
            [[logs]]
            name = "a2026"
            key_file = "/etc/cc/a.pem"
            roots_pem = "/etc/cc/roots.pem"
            sequence_interval = "500ms"
            [[logs]]
            name = "b"
            key_file = "ephemeral"
            "#,
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.logs.len(), 2);
        assert_eq!(config.logs[0].sequence_interval, Duration::from_millis(500));
        assert_eq!(config.logs[1].sequence_interval, Duration::from_secs(1));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        for bad in [
            "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\nsequence_intreval = \"1s\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\nsequence_interval = \"soon\"",
            "[[logs]]\nname = \"A b\"\nkey_file = \"ephemeral\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\n[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"",
            "[[logs]]\nname = \"a\"\nkey_file = \"ephemeral\"\nsequence_interval = \"0s\"",
            "public_url = \"ftp://x\"",
            "operator = \"\"",
            "operator = \" \"",
            "listen = \"nonsense\"",
            "[ca]\nsigner = \"vault\"",
            "[ca]\nct_logs = [\"nope\"]",
            "[ca]\ncert_lifetime = \"1s\"",
            "[tsa]\npolicy = \"not-an-oid\"",
            "[tsa]\naccuracy = \"2h\"",
            "[tsa]\nsigner = \"hsm\"",
            "[ca]\n[[ca.oidc_issuers]]\nissuer_url = \"https://x\"\nclient_id = \"c\"\ntype = \"magic\"",
            "[ca]\nct_logs = [{ url = \"https://x\" }]",
        ] {
            assert!(Config::parse(bad).is_err(), "accepted: {bad}");
        }
    }
}

#[cfg(test)]
mod readme_tests {
    use super::*;

    /// The ```toml blocks of the README, by the `## ` section they are in.
    fn toml_blocks(readme: &str) -> Vec<(String, String)> {
        let mut blocks = Vec::new();
        let (mut section, mut block) = (String::new(), None::<String>);
        for line in readme.lines() {
            match &mut block {
                Some(text) if line.starts_with("```") => {
                    blocks.push((section.clone(), std::mem::take(text)));
                    block = None;
                }
                Some(text) => {
                    text.push_str(line);
                    text.push('\n');
                }
                None if line.starts_with("```toml") => block = Some(String::new()),
                None => {
                    if let Some(title) = line.strip_prefix("## ") {
                        section = title.to_owned();
                    }
                }
            }
        }
        blocks
    }

    /// Every configuration the README shows passes `check-config` (which is `serve`'s
    /// reading): the "Production configuration" blocks together, as the one file
    /// they describe; every other block as a `--dev --config` file, as it is used.
    #[test]
    fn every_readme_config_example_is_valid() {
        let readme = include_str!("../../../README.md");
        let blocks = toml_blocks(readme);
        let production: String = blocks
            .iter()
            .filter(|(section, _)| section == "Production configuration")
            .map(|(_, text)| text.as_str())
            .collect();
        assert!(production.contains("[[logs]]"), "{production}");
        if let Err(e) = Config::parse(&production) {
            panic!("the production example fails: {e:#}\n{production}");
        }
        let others: Vec<_> = blocks
            .iter()
            .filter(|(section, _)| section != "Production configuration")
            .collect();
        assert!(!others.is_empty());
        for (section, text) in others {
            if let Err(e) = Config::parse_dev_overlay(text) {
                panic!("the example in {section:?} fails: {e:#}\n{text}");
            }
        }
    }
}

#[cfg(test)]
mod ca_tests {
    use super::*;

    #[test]
    fn dev_defaults_have_two_logs_and_a_ca_with_one_sct_for_sigstore_clients() {
        let config = Config::dev();
        assert_eq!(config.logs.len(), 2);
        assert_eq!(config.operator.as_deref(), Some("certcentral-dev"));
        let ca = config.ca.unwrap();
        assert_eq!(ca.signer, SignerKind::Ephemeral);
        assert_eq!(ca.cert_lifetime, Duration::from_secs(600));
        // sigstore clients refuse a certificate without exactly one embedded SCT.
        assert_eq!(ca.ct_logs, vec![CtLogRef::Local("dev-a".into())]);
    }

    #[test]
    fn a_file_gives_the_dev_ca_two_logs() {
        let config = Config::parse_dev_overlay("[ca]\nct_logs = [\"dev-a\", \"dev-b\"]\n").unwrap();
        assert_eq!(
            config.ca.unwrap().ct_logs,
            vec![
                CtLogRef::Local("dev-a".into()),
                CtLogRef::Local("dev-b".into())
            ]
        );
    }

    #[test]
    fn a_file_extends_and_overrides_the_dev_defaults() {
        let config = Config::parse_dev_overlay(
            r#"
            listen = "127.0.0.1:0"
            [[logs]]
            name = "dev-b"
            key_file = "ephemeral"
            sequence_interval = "250ms"
            [ca]
            ct_logs = ["dev-b", { url = "https://ct.example.com/logs/x", public_key = "AAAA" }]
            [[ca.oidc_issuers]]
            issuer_url = "https://token.actions.githubusercontent.com"
            client_id = "sigstore"
            type = "ci-workflow"
            "#,
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.logs.len(), 2);
        assert_eq!(config.logs[1].sequence_interval, Duration::from_millis(250));
        let ca = config.ca.unwrap();
        assert_eq!(ca.signer, SignerKind::Ephemeral);
        assert_eq!(ca.ct_logs.len(), 2);
        assert!(matches!(&ca.ct_logs[1], CtLogRef::Remote(r) if r.public_key == "AAAA"));
        assert_eq!(ca.oidc_issuers[0].kind, IssuerType::CiWorkflow);
    }

    #[test]
    fn a_full_ca_section_parses() {
        let config = Config::parse(
            r#"
            [[logs]]
            name = "a"
            key_file = "ephemeral"
            [ca]
            signer = "pkcs11"
            pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"
            pkcs11_token_label = "ca"
            pkcs11_key_label = "issuing"
            pkcs11_pin_env = "CA_PIN"
            chain_pem = "/etc/cc/chain.pem"
            cert_lifetime = "20m"
            ct_logs = ["a"]
            [[ca.oidc_issuers]]
            issuer_url = "https://*.example.com"
            client_id = "sigstore"
            type = "email"
            "#,
        )
        .unwrap();
        let ca = config.ca.unwrap();
        assert_eq!(ca.signer, SignerKind::Pkcs11);
        assert_eq!(ca.cert_lifetime, Duration::from_secs(1200));
        assert_eq!(ca.pkcs11_pin_env.as_deref(), Some("CA_PIN"));
    }
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn dev_defaults_enable_the_registry_with_a_five_minute_challenge() {
        let registry = Config::dev().registry.expect("registry on in --dev");
        assert_eq!(registry.challenge_ttl, Duration::from_secs(300));
        assert_eq!(registry.audience, "certcentral-registry");
        assert_eq!(registry.token_max_age, Duration::from_secs(300));
        assert_eq!(registry.origin, None);
        assert_eq!(registry.oidc_issuers, None);
    }

    #[test]
    fn a_registry_section_parses_and_bad_values_are_errors() {
        let config = Config::parse(
            r#"
            [registry]
            origin = "registry.example.com/log"
            challenge_ttl = "2m"
            [[registry.oidc_issuers]]
            issuer_url = "https://accounts.example.com"
            client_id = "certcentral"
            type = "email"
            "#,
        )
        .unwrap();
        let registry = config.registry.unwrap();
        assert_eq!(registry.challenge_ttl, Duration::from_secs(120));
        assert_eq!(registry.oidc_issuers.unwrap().len(), 1);
        for bad in [
            "[registry]\norigin = \"has space\"",
            "[registry]\nchallenge_ttl = \"0s\"",
            "[registry]\nchallenge_ttl = \"2h\"",
            "[registry]\nenabled = true",
            "[registry]\ntoken_max_age = \"0s\"",
            "[registry]\ntoken_max_age = \"2h\"",
            "[registry]\naudience = \"\"",
            "[registry]\naudience = \"has space\"",
        ] {
            assert!(Config::parse(bad).is_err(), "accepted: {bad}");
        }
    }

    /// The registry never accepts the CA's audience: a token shown to the CA (or any
    /// sigstore CA) must not open or take over an account.
    #[test]
    fn the_registry_audience_is_never_the_cas() {
        const CA: &str = "[ca]\n[[ca.oidc_issuers]]\nissuer_url = \"https://idp.example\"\nclient_id = \"ca-client\"\ntype = \"email\"\n";
        for bad in [
            "[registry]\naudience = \"sigstore\"".to_owned(),
            format!("{CA}[registry]\naudience = \"ca-client\""),
            format!(
                "{CA}[registry]\n[[registry.oidc_issuers]]\nissuer_url = \"https://idp.example\"\nclient_id = \"ca-client\"\ntype = \"email\""
            ),
        ] {
            let err = Config::parse(&bad).unwrap_err();
            assert!(format!("{err:#}").contains("CA"), "{bad}: {err:#}");
        }
        let own = format!(
            "{CA}[registry]\n[[registry.oidc_issuers]]\nissuer_url = \"https://idp.example\"\nclient_id = \"registry-client\"\ntype = \"email\""
        );
        Config::parse(&own).unwrap();
    }

    #[test]
    fn ci_server_url_is_for_ci_workflow_issuers_and_http() {
        let issuer = |kind: &str, url: &str| {
            format!(
                "[ca]\n[[ca.oidc_issuers]]\nissuer_url = \"https://ci.example/oidc\"\nclient_id = \"sigstore\"\ntype = \"{kind}\"\nci_server_url = \"{url}\""
            )
        };
        let config = Config::parse(&issuer("ci-workflow", "https://git.example")).unwrap();
        assert_eq!(
            config.ca.unwrap().oidc_issuers[0].ci_server_url.as_deref(),
            Some("https://git.example")
        );
        assert!(Config::parse(&issuer("email", "https://git.example")).is_err());
        assert!(Config::parse(&issuer("ci-workflow", "git.example")).is_err());
    }
}

#[cfg(test)]
mod monitor_tests {
    use super::*;

    #[test]
    fn dev_defaults_run_the_monitor() {
        let monitor = Config::dev().monitor.expect("monitor on in --dev");
        assert_eq!(monitor.interval, Duration::from_secs(2));
        assert_eq!(monitor.webhook_give_up, Duration::from_secs(600));
        assert!(monitor.allow_private_webhooks);
        assert!(monitor.logs.is_empty());
    }

    #[test]
    fn a_monitor_section_parses_and_bad_values_are_errors() {
        let config = Config::parse(
            r#"
            [registry]
            [monitor]
            interval = "5s"
            webhook_give_up = "1h"
            [[monitor.logs]]
            url = "https://ct.example.net/logs/x"
            public_key = "MFkw"
            "#,
        )
        .unwrap();
        let monitor = config.monitor.unwrap();
        assert_eq!(monitor.interval, Duration::from_secs(5));
        assert_eq!(monitor.webhook_give_up, Duration::from_secs(3600));
        assert!(
            !monitor.allow_private_webhooks,
            "public webhooks only unless asked"
        );
        assert_eq!(monitor.logs[0].url, "https://ct.example.net/logs/x");
        for bad in [
            // Subscriptions belong to registry accounts.
            "[monitor]",
            "[registry]\n[monitor]\ninterval = \"1ms\"",
            "[registry]\n[monitor]\nwebhook_give_up = \"0s\"",
            "[registry]\n[monitor]\nunknown = 1",
            "[registry]\n[monitor]\nallow_private_webhooks = \"yes\"",
            "[registry]\n[[monitor.logs]]\nurl = \"ftp://x\"\npublic_key = \"MFkw\"",
            "[registry]\n[[monitor.logs]]\nurl = \"https://x\"",
        ] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod tsa_tests {
    use super::*;

    #[test]
    fn dev_defaults_run_an_ephemeral_tsa() {
        let tsa = Config::dev().tsa.expect("TSA on in --dev");
        assert_eq!(tsa.signer, SignerKind::Ephemeral);
        assert_eq!(tsa.policy, None);
        assert_eq!(tsa.accuracy, Duration::from_secs(1));
    }

    #[test]
    fn a_tsa_section_mirrors_the_ca_signer() {
        let config = Config::parse(
            r#"
            [tsa]
            signer = "pkcs11"
            pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"
            pkcs11_token_label = "tsa"
            pkcs11_key_label = "tsa-key"
            pkcs11_pin_env = "TSA_PIN"
            chain_pem = "/etc/certcentral/tsa-chain.pem"
            policy = "1.3.6.1.4.1.99999.1"
            accuracy = "500ms"
            "#,
        )
        .unwrap();
        let tsa = config.tsa.unwrap();
        let source = tsa.key_source();
        assert_eq!((source.table, source.role), ("[tsa]", "TSA"));
        assert_eq!(source.signer, SignerKind::Pkcs11);
        assert_eq!(source.pkcs11_key_label, Some("tsa-key"));
        assert_eq!(tsa.accuracy, Duration::from_millis(500));
    }

    #[test]
    fn an_ephemeral_tsa_with_a_key_file_is_refused() {
        let config = Config::parse("[tsa]\nkey_file = \"/k.pem\"").unwrap();
        let err = crate::tsa_wiring::build_tsa(&config.tsa.unwrap()).unwrap_err();
        assert!(
            format!("{err:#}").contains("[tsa] signer = \"ephemeral\""),
            "{err:#}"
        );
    }
}
