//! Wiring of the code-signing CA: its signer and chain from `[ca]`, its logs (this
//! server's own, called in process, or remote ones over HTTP), its OIDC issuers, and
//! in `--dev` the built-in token issuer.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ca::cert::{
    CaSigner, EcdsaP256CaSigner, RandomSerials, intermediate_ca, random_serial, self_signed_ca,
};
use ca::issue::{CertificateAuthority, PrecertSubmission, SctError, SctFuture, SctSource};
use ca::remote::RemoteLog;
use clock::SystemClock;
use ctlog::{Log, SubmitError};
use oidc::dev::DevIssuer;
use oidc::fetch::HttpFetch;
use oidc::{IssuerConfig, Verifier};
use pki::chain::SubmissionKind;
use pki::keys::EcdsaP256Signer;

use crate::app::OpenedLog;
use crate::config::{CaSection, CtLogRef, OidcIssuerSection, SignerKind};

/// Lifetime of the generated `ephemeral` root and intermediate.
const EPHEMERAL_CA_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The CA key and its certificate chain (`[issuing CA, …, root]`, DER).
pub struct CaKey {
    pub signer: Arc<dyn CaSigner>,
    pub chain: Vec<Vec<u8>>,
}

impl CaKey {
    /// The root certificate, which the CA's local logs must accept.
    pub fn root(&self) -> &[u8] {
        self.chain.last().map_or(&[], Vec::as_slice)
    }
}

/// Where a signing key and its chain live, as `[ca]` and `[tsa]` both spell it: the
/// same three backends (`ca::signer`) serve the CA and the TSA.
pub struct KeySource<'a> {
    /// The table, for messages: `[ca]`, `[tsa]`.
    pub table: &'static str,
    /// Whose key it is, for messages: `CA`, `TSA`.
    pub role: &'static str,
    pub signer: SignerKind,
    pub key_file: Option<&'a Path>,
    pub key_password_env: Option<&'a String>,
    pub pkcs11_module: Option<&'a Path>,
    pub pkcs11_token_label: Option<&'a str>,
    pub pkcs11_key_label: Option<&'a str>,
    pub pkcs11_pin_env: Option<&'a String>,
    pub chain_pem: Option<&'a Path>,
}

impl KeySource<'_> {
    /// A secret from the environment variable named in the config (never from the
    /// file itself, so the file can be shared and versioned).
    fn secret_from_env(
        &self,
        what: &str,
        var: Option<&String>,
    ) -> anyhow::Result<zeroize::Zeroizing<String>> {
        let table = self.table;
        let var = var.with_context(|| {
            format!("{table} needs {what} (the name of an environment variable)")
        })?;
        std::env::var(var)
            .map(zeroize::Zeroizing::new)
            .with_context(|| {
                format!("environment variable {var} (named by {table} {what}) is not set")
            })
    }

    fn read_chain(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let (table, role, signer) = (self.table, self.role, self.signer);
        let path = self.chain_pem.with_context(|| {
            format!(
                "{table} signer = {signer:?} needs chain_pem: the {role} certificate first, the root last"
            )
        })?;
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading the {role} chain {}", path.display()))?;
        let chain = pki::pem_certificates(&pem)
            .with_context(|| format!("the {role} chain {}", path.display()))?;
        if chain.is_empty() {
            bail!("the {role} chain {} holds no certificate", path.display());
        }
        Ok(chain)
    }

    /// Loads a `file` or `pkcs11` key and its chain; `None` for `ephemeral`, which
    /// each service generates in its own shape. An `ephemeral` source naming a key
    /// file or chain is refused.
    pub fn load(&self) -> anyhow::Result<Option<CaKey>> {
        let (table, role) = (self.table, self.role);
        match self.signer {
            SignerKind::Ephemeral => {
                if self.chain_pem.is_some() || self.key_file.is_some() {
                    bail!(
                        "{table} signer = \"ephemeral\" generates its own key and chain; remove key_file/chain_pem or pick signer = \"file\""
                    );
                }
                Ok(None)
            }
            SignerKind::File => {
                let path = self
                    .key_file
                    .with_context(|| format!("{table} signer = \"file\" needs key_file"))?;
                let password = self.secret_from_env("key_password_env", self.key_password_env)?;
                let pem = zeroize::Zeroizing::new(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading the {role} key {}", path.display()))?,
                );
                let signer = ca::signer::load_encrypted_pkcs8_pem(&pem, password.as_bytes())
                    .with_context(|| format!("the {role} key {}", path.display()))?;
                Ok(Some(CaKey {
                    signer: Arc::new(signer),
                    chain: self.read_chain()?,
                }))
            }
            SignerKind::Pkcs11 => {
                let module = self
                    .pkcs11_module
                    .with_context(|| format!("{table} signer = \"pkcs11\" needs pkcs11_module"))?;
                let token = self.pkcs11_token_label.with_context(|| {
                    format!("{table} signer = \"pkcs11\" needs pkcs11_token_label")
                })?;
                let key = self.pkcs11_key_label.with_context(|| {
                    format!("{table} signer = \"pkcs11\" needs pkcs11_key_label")
                })?;
                let pin = self.secret_from_env("pkcs11_pin_env", self.pkcs11_pin_env)?;
                let signer = ca::signer::Pkcs11CaSigner::open(module, token, key, &pin)
                    .with_context(|| {
                        format!("opening the {role} key {key:?} in PKCS#11 token {token:?}")
                    })?;
                Ok(Some(CaKey {
                    signer: Arc::new(signer),
                    chain: self.read_chain()?,
                }))
            }
        }
    }
}

/// Loads (or, for `ephemeral`, generates) the CA key and chain.
pub fn load_ca_key(section: &CaSection) -> anyhow::Result<CaKey> {
    match section.key_source().load()? {
        Some(key) => Ok(key),
        None => ephemeral_ca(),
    }
}

/// A root and an intermediate generated in memory: the chain real CAs have, so
/// clients exercise chain building in development too.
fn ephemeral_ca() -> anyhow::Result<CaKey> {
    let now = SystemTime::now();
    let not_after = now + EPHEMERAL_CA_LIFETIME;
    let root_key = EcdsaP256CaSigner::new(EcdsaP256Signer::generate()?);
    let root = self_signed_ca(
        "certcentral ephemeral root",
        random_serial()?,
        now,
        not_after,
        &root_key,
    )?;
    let issuing_key = EcdsaP256CaSigner::new(EcdsaP256Signer::generate()?);
    let intermediate = intermediate_ca(
        "certcentral ephemeral intermediate",
        random_serial()?,
        now,
        not_after,
        &issuing_key.spki_der(),
        &root,
        &root_key,
    )?;
    Ok(CaKey {
        signer: Arc::new(issuing_key),
        chain: vec![intermediate, root],
    })
}

/// One of this server's logs as an SCT source: a direct call, no HTTP.
struct LocalLog(Arc<Log>);

impl SctSource for LocalLog {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn submit_precert(&self, submission: Arc<PrecertSubmission>) -> SctFuture<'_> {
        Box::pin(async move {
            self.0
                .submit(submission.chain.clone(), SubmissionKind::Precertificate)
                .await
                .map_err(|e| match e {
                    // The CA built this chain itself: a rejection means the log does
                    // not trust the CA's root, a configuration error worth spelling out.
                    SubmitError::Chain(e) => SctError(format!(
                        "the log refused the precertificate chain ({e}); does it accept the CA's root?"
                    )),
                    other => SctError(other.to_string()),
                })
        })
    }
}

/// Builds the CA over the opened logs.
pub fn build_ca(
    section: &CaSection,
    key: CaKey,
    logs: &[OpenedLog],
    verifier: Arc<Verifier>,
) -> anyhow::Result<Arc<CertificateAuthority>> {
    let mut sources: Vec<Arc<dyn SctSource>> = Vec::new();
    for log in &section.ct_logs {
        match log {
            CtLogRef::Local(name) => {
                let opened = logs
                    .iter()
                    .find(|l| l.log.name() == name)
                    .with_context(|| format!("[ca] ct_logs: no log named {name:?}"))?;
                sources.push(Arc::new(LocalLog(opened.log.clone())));
            }
            CtLogRef::Remote(remote) => {
                let key = BASE64.decode(remote.public_key.trim()).with_context(|| {
                    format!("[ca] ct_logs: public_key of {} is not base64", remote.url)
                })?;
                spki::SubjectPublicKeyInfoRef::try_from(key.as_slice())
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .with_context(|| {
                        format!(
                            "[ca] ct_logs: public_key of {} is not a DER SubjectPublicKeyInfo",
                            remote.url
                        )
                    })?;
                sources.push(Arc::new(RemoteLog::new(&remote.url, key)?));
            }
        }
    }
    let ca = CertificateAuthority::new(
        verifier,
        key.signer,
        key.chain,
        sources,
        Arc::new(SystemClock),
        Arc::new(RandomSerials),
    )?
    .with_lifetime(section.cert_lifetime)
    .with_sct_timeout(section.sct_timeout);
    Ok(Arc::new(ca))
}

/// The OIDC token verifier for `issuers` (plus the dev issuer in `--dev`). One per
/// issuer list, shared by every service that accepts it, so they share its key cache.
pub fn build_verifier(
    issuers: &[OidcIssuerSection],
    dev_issuer: Option<&DevIssuer>,
) -> anyhow::Result<Arc<Verifier>> {
    build_verifier_with(issuers, dev_issuer.map(DevIssuer::issuer_config))
}

/// [`build_verifier`] with the dev issuer's entry given (the registry's has its own
/// audience).
pub fn build_verifier_with(
    issuers: &[OidcIssuerSection],
    dev_issuer: Option<IssuerConfig>,
) -> anyhow::Result<Arc<Verifier>> {
    let mut issuers: Vec<IssuerConfig> = issuers
        .iter()
        .map(|i| IssuerConfig {
            jwks_hosts: i.jwks_hosts.clone(),
            private_network: i.private_network,
            ci_server_url: i.ci_server_url.clone(),
            ..IssuerConfig::new(i.issuer_url.clone(), i.client_id.clone(), i.kind.into())
        })
        .collect();
    issuers.extend(dev_issuer);
    let fetch = HttpFetch::new()?;
    let verifier = Verifier::new(issuers, Arc::new(fetch), Arc::new(SystemClock))?;
    Ok(Arc::new(verifier))
}
