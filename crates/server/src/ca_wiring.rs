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

/// A secret from the environment variable named in the config (never from the file
/// itself, so the file can be shared and versioned).
fn secret_from_env(what: &str, var: Option<&String>) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let var =
        var.with_context(|| format!("[ca] needs {what} (the name of an environment variable)"))?;
    std::env::var(var)
        .map(zeroize::Zeroizing::new)
        .with_context(|| format!("environment variable {var} (named by [ca] {what}) is not set"))
}

fn read_chain(path: Option<&Path>, signer: SignerKind) -> anyhow::Result<Vec<Vec<u8>>> {
    let path = path.with_context(|| {
        format!("[ca] signer = {signer:?} needs chain_pem: the CA certificate first, the root last")
    })?;
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading the CA chain {}", path.display()))?;
    let chain =
        pki::pem_certificates(&pem).with_context(|| format!("the CA chain {}", path.display()))?;
    if chain.is_empty() {
        bail!("the CA chain {} holds no certificate", path.display());
    }
    Ok(chain)
}

/// Loads (or, for `ephemeral`, generates) the CA key and chain.
pub fn load_ca_key(section: &CaSection) -> anyhow::Result<CaKey> {
    match section.signer {
        SignerKind::Ephemeral => {
            if section.chain_pem.is_some() || section.key_file.is_some() {
                bail!(
                    "[ca] signer = \"ephemeral\" generates its own key and chain; remove key_file/chain_pem or pick signer = \"file\""
                );
            }
            ephemeral_ca()
        }
        SignerKind::File => {
            let path = section
                .key_file
                .as_deref()
                .context("[ca] signer = \"file\" needs key_file")?;
            let password = secret_from_env("key_password_env", section.key_password_env.as_ref())?;
            let pem = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the CA key {}", path.display()))?,
            );
            let signer = ca::signer::load_encrypted_pkcs8_pem(&pem, password.as_bytes())
                .with_context(|| format!("the CA key {}", path.display()))?;
            Ok(CaKey {
                signer: Arc::new(signer),
                chain: read_chain(section.chain_pem.as_deref(), section.signer)?,
            })
        }
        SignerKind::Pkcs11 => {
            let module = section
                .pkcs11_module
                .as_deref()
                .context("[ca] signer = \"pkcs11\" needs pkcs11_module")?;
            let token = section
                .pkcs11_token_label
                .as_deref()
                .context("[ca] signer = \"pkcs11\" needs pkcs11_token_label")?;
            let key = section
                .pkcs11_key_label
                .as_deref()
                .context("[ca] signer = \"pkcs11\" needs pkcs11_key_label")?;
            let pin = secret_from_env("pkcs11_pin_env", section.pkcs11_pin_env.as_ref())?;
            let signer =
                ca::signer::Pkcs11CaSigner::open(module, token, key, &pin).with_context(|| {
                    format!("opening the CA key {key:?} in PKCS#11 token {token:?}")
                })?;
            Ok(CaKey {
                signer: Arc::new(signer),
                chain: read_chain(section.chain_pem.as_deref(), section.signer)?,
            })
        }
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
    let mut issuers: Vec<IssuerConfig> = issuers
        .iter()
        .map(|i| IssuerConfig {
            issuer_url: i.issuer_url.clone(),
            client_id: i.client_id.clone(),
            kind: i.kind.into(),
        })
        .collect();
    if let Some(dev) = dev_issuer {
        issuers.push(dev.issuer_config());
    }
    let fetch = HttpFetch::new(tokio::runtime::Handle::current())?;
    let verifier = Verifier::new(issuers, Arc::new(fetch), Arc::new(SystemClock))?;
    Ok(Arc::new(verifier))
}
