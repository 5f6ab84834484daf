//! Wiring of the developer-certificate registry: its SQLite database and log key
//! under the data directory, and its OIDC verifier (the CA's, shared, unless
//! `[registry] oidc_issuers` names its own) with the rules for account tokens: the
//! registry's own audience — never the CA's — and `token_max_age`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use clock::SystemClock;
use oidc::IssuerConfig;
use oidc::Verifier;
use oidc::dev::DevIssuer;
use registry::service::TokenRules;
use registry::{Entropy, Registry, SystemEntropy};

use crate::config::RegistrySection;

/// The registry log's Ed25519 seed: generated once and kept in
/// `<data_dir>/keys/registry.ed25519` (mode 0600), because a log whose key changes
/// at restart could no longer vouch for the checkpoints it signed before.
fn load_seed(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let dir = data_dir.join("keys");
    let path = dir.join("registry.ed25519");
    if path.exists() {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!(
                "{} must hold a 32-byte Ed25519 seed, found {} bytes",
                path.display(),
                bytes.len()
            );
        };
        return Ok(seed);
    }
    store::sqlite::create_private_dir(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut seed = [0u8; 32];
    SystemEntropy.fill(&mut seed)?;
    keyfile::replace(&path, &seed)?;
    Ok(seed)
}

/// Opens the registry. `ca_verifier` is the CA's verifier, shared when the section
/// names no issuers of its own.
pub fn build_registry(
    section: &RegistrySection,
    data_dir: &Path,
    storage: &crate::app::Storage,
    public_url: &str,
    ca_verifier: Option<Arc<Verifier>>,
    dev_issuer: Option<&DevIssuer>,
) -> anyhow::Result<Arc<Registry>> {
    // With the CA's verifier, its issuers' client ids are the CA's audience: the
    // registry's audience replaces them. With a verifier of its own, each listed
    // issuer has its own client id, and the dev issuer the registry's audience.
    let registry_dev = dev_issuer.map(|dev| IssuerConfig {
        client_id: section.audience.clone(),
        ..dev.issuer_config()
    });
    let (verifier, audience) = match (&section.oidc_issuers, ca_verifier) {
        (Some(issuers), _) => (
            crate::ca_wiring::build_verifier_with(issuers, registry_dev)?,
            None,
        ),
        (None, Some(shared)) => (shared, Some(section.audience.clone())),
        (None, None) => (
            crate::ca_wiring::build_verifier_with(&[], registry_dev)?,
            None,
        ),
    };
    if verifier.issuers().is_empty() {
        bail!(
            "[registry] accepts no OIDC issuer: add [[registry.oidc_issuers]] (or a [ca] with issuers)"
        );
    }
    let host = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest)
        .trim_end_matches('/');
    let origin = section
        .origin
        .clone()
        .unwrap_or_else(|| format!("{host}/registry"));
    let seed = load_seed(data_dir)?;
    let registry = Registry::open(
        storage.registry()?,
        verifier,
        &origin,
        &seed,
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
    )
    .context("opening the registry")?
    .with_token_rules(TokenRules {
        audience,
        max_age: section.token_max_age,
    })
    .with_challenge_ttl(section.challenge_ttl)
    .with_download_cache(section.download_cache_entries, section.download_cache_ttl);
    Ok(Arc::new(registry))
}
