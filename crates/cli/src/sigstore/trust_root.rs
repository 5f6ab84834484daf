//! The client trust config `ccc sign` and `ccc verify-blob` work from: the trusted root
//! (CA chains, CT log keys, artifact-log keys, TSA chains) and the signing config (the
//! service URLs) of one certcentral instance, as its `/sigstore/client_trust_config.json`
//! publishes them — saved by `ccc trust-root fetch` at
//! `<config dir>/sigstore/client_trust_config.json`.
//!
//! Fetching again replaces the services but never forgets a key: whatever the saved
//! root trusted and the new one no longer lists stays, its validity closed at the
//! update ([`TrustedRoot::keep_retired`]), so bundles signed before a rotation still
//! verify and nothing the retired key signs afterwards does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pki::sigstore_trust::{ClientTrustConfig, TrustedRoot};

use crate::http::Http;
use crate::registry::config::{config_dir, write_private};

/// Where the server publishes it, under its root URL.
pub const CLIENT_TRUST_CONFIG_PATH: &str = "/sigstore/client_trust_config.json";

/// `ccc trust-root …`.
#[derive(Debug, Subcommand)]
pub enum TrustRootCommand {
    /// Fetch a server's client trust config and save it (keeping retired keys).
    Fetch(FetchArgs),
    /// Print what the saved trust config trusts and which services it names.
    Show(ShowArgs),
}

/// `ccc trust-root fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Server root URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Save it here instead of <config dir>/sigstore/client_trust_config.json.
    #[arg(long, value_name = "FILE")]
    pub trust_config: Option<PathBuf>,
}

/// `ccc trust-root show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The trust config to show [default: the saved one].
    #[arg(long, value_name = "FILE")]
    pub trust_config: Option<PathBuf>,
}

/// `<config dir>/sigstore/client_trust_config.json`.
pub fn default_path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?
        .join("sigstore")
        .join("client_trust_config.json"))
}

/// The trust config at `path`, or the saved one.
pub fn load(path: Option<&Path>) -> anyhow::Result<ClientTrustConfig> {
    let (path, saved) = match path {
        Some(p) => (p.to_path_buf(), false),
        None => (default_path()?, true),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && saved => anyhow::bail!(
            "no trust config at {}: run `ccc trust-root fetch --url URL` first, or pass \
             --trust-config FILE",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    ClientTrustConfig::from_json(&bytes)
        .with_context(|| format!("{} is not a client trust config", path.display()))
}

pub fn run(command: &TrustRootCommand) -> anyhow::Result<ExitCode> {
    match command {
        TrustRootCommand::Fetch(args) => fetch(args),
        TrustRootCommand::Show(args) => {
            print_summary(&load(args.trust_config.as_deref())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fetch(args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let http = Http::new(&args.url, "trust-root")?;
    let body = http.get(CLIENT_TRUST_CONFIG_PATH, "fetching the client trust config")?;
    let mut fetched = ClientTrustConfig::from_json(&body).with_context(|| {
        format!(
            "{}{CLIENT_TRUST_CONFIG_PATH} is not a client trust config",
            http.base
        )
    })?;
    let path = match &args.trust_config {
        Some(p) => p.clone(),
        None => default_path()?,
    };
    let kept = match std::fs::read(&path) {
        Ok(old) => {
            let old = ClientTrustConfig::from_json(&old).with_context(|| {
                format!(
                    "the saved {} is not a client trust config (remove it to start over)",
                    path.display()
                )
            })?;
            fetched
                .trusted_root
                .keep_retired(&old.trusted_root, now_ms())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    write_private(&path, &fetched.to_json()?)?;
    print_summary(&fetched);
    if kept > 0 {
        println!("retired    {kept} keys or chains no longer listed, kept until now");
    }
    println!("saved      {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn print_summary(config: &ClientTrustConfig) {
    let root: &TrustedRoot = &config.trusted_root;
    let period = |start: u64, end: Option<u64>| {
        let f = clock::format_time_ms;
        match end {
            Some(end) => format!("{} .. {}", f(start), f(end)),
            None => format!("since {}", f(start)),
        }
    };
    for ca in &root.certificate_authorities {
        println!(
            "CA         {} {} ({})",
            ca.subject.organization,
            ca.subject.common_name,
            period(ca.valid_for.start_ms, ca.valid_for.end_ms)
        );
    }
    for (what, logs) in [("CT log", &root.ctlogs), ("tlog", &root.tlogs)] {
        for log in logs {
            let valid = log
                .public_key
                .valid_for
                .map(|v| period(v.start_ms, v.end_ms))
                .unwrap_or_else(|| "always".into());
            println!("{what:<10} {} ({valid})", log.base_url);
        }
    }
    for tsa in &root.timestamp_authorities {
        println!(
            "TSA        {} ({})",
            tsa.uri.as_deref().unwrap_or(&tsa.subject.common_name),
            period(tsa.valid_for.start_ms, tsa.valid_for.end_ms)
        );
    }
    let signing = &config.signing_config;
    for s in &signing.ca_urls {
        println!("signing CA {}", s.url);
    }
    for s in &signing.rekor_tlog_urls {
        println!("signing to {} (Rekor v{})", s.url, s.major_api_version);
    }
    for s in &signing.tsa_urls {
        println!("timestamps {}", s.url);
    }
}

/// The system clock, in milliseconds since the epoch.
pub fn now_ms() -> u64 {
    use clock::Clock;
    clock::SystemClock.now_ms()
}
