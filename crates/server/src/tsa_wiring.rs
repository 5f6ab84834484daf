//! Wiring of the RFC 3161 time-stamp authority: its key and chain from `[tsa]` (the
//! CA's signer backends, through `ca_wiring::KeySource`), or in `ephemeral` mode a
//! root and a time-stamping certificate generated at start; the system clock and
//! random serials.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use ca::cert::RandomSerials;
use clock::SystemClock;
use tsa::{EphemeralTsa, TimeStampAuthority, TsaSettings};

use crate::config::TsaSection;

/// The TSA of `[tsa]`.
pub fn build_tsa(section: &TsaSection) -> anyhow::Result<Arc<TimeStampAuthority>> {
    let (signer, chain) = match section.key_source().load()? {
        Some(key) => (key.signer, key.chain),
        None => {
            let dev = EphemeralTsa::generate(SystemTime::now())?;
            (dev.signer, dev.chain)
        }
    };
    let policy = match &section.policy {
        Some(text) => const_oid::ObjectIdentifier::new(text)
            .map_err(|e| anyhow::anyhow!("[tsa] policy {text:?}: {e}"))?,
        None => tsa::DEV_POLICY,
    };
    let settings = TsaSettings {
        policy,
        accuracy_ms: u64::try_from(section.accuracy.as_millis()).unwrap_or(u64::MAX),
    };
    let authority = TimeStampAuthority::new(
        signer,
        chain,
        settings,
        Arc::new(SystemClock),
        Arc::new(RandomSerials),
    )
    .context("the TSA certificate and key")?;
    Ok(Arc::new(authority))
}
