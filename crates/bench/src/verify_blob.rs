//! `certcentral-bench verify-blob`: how fast `ccc verify-blob` checks a directory of
//! sigstore bundles, against the crypto it cannot avoid.
//!
//! Phases:
//! 1. setup (not timed): N random 1 KiB artifacts in `--dir`, signed against a
//!    `certcentral serve --dev` server by `ccc sign`'s own code (run in this process:
//!    `trust-root fetch`, then one `sign` of all files — one keyless certificate, a TSA
//!    time-stamp and an artifact-log entry each, Rekor v1 or v2 by `--api`). A `--dir`
//!    that already holds the N bundles is verified as it is;
//! 2. the crypto ceiling, on one thread: the ECDSA P-256 verify rate. A keyless bundle
//!    with a time-stamp costs its verifier the TSA's CMS signature, the TSA certificate
//!    under its root, the signing certificate under the CA (once, however many verified
//!    times), the SCT, the checkpoint and the artifact's signature, and for v1 the SET:
//!    6 P-256 verifications for v2, 7 for v1;
//! 3. in process, one thread: every bundle read and parsed, its artifact hashed and the
//!    bundle verified (`pki::sigstore_verify`, what `ccc verify-blob` runs): files/s and
//!    the ratio to the ceiling;
//! 4. the command as a user runs it: `ccc verify-blob` (the binary beside this one)
//!    over all N files, timed as a whole process, with its peak RSS.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use pki::bundle::{Bundle, BundleContent};
use pki::sigstore_verify::{ArtifactDigest, Identity, SignerPolicy, verify_bundle};
use pki::verify::HashAlgorithm;
use serde::Serialize;

use super::crypto_ceiling;

const EMAIL: &str = "bench@example.com";
const ARTIFACT_LEN: usize = 1024;

/// Which artifact-log API the bundles are logged through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    #[value(name = "1")]
    V1,
    #[value(name = "2")]
    V2,
}

/// Arguments of `certcentral-bench verify-blob`.
#[derive(Debug, clap::Args)]
pub struct VerifyBlobBenchArgs {
    /// Root URL of a `certcentral serve --dev` server (for the setup only).
    #[arg(long)]
    pub url: String,
    /// Number of signed files.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub n: u32,
    /// The artifact log's API for the setup's signatures.
    #[arg(long, value_enum, default_value = "2")]
    pub api: Api,
    /// Where the artifacts and bundles are (reused when it holds them already).
    #[arg(long, default_value = "./ccc-bench-verify-blob")]
    pub dir: PathBuf,
    /// Time spent measuring the P-256 verify rate, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub ceiling_ms: u64,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    files: u32,
    api: u32,
    ecdsa_p256_verifies_per_bundle: u32,
    ecdsa_p256_verify_per_s: f64,
    ceiling_files_per_s: f64,
    in_process_files_per_s: f64,
    in_process_us_per_file: f64,
    in_process_ratio_to_ceiling: f64,
    command_files_per_s: Option<f64>,
    command_peak_rss_kib: Option<u64>,
}

/// Runs a `ccc` command line in this process, its config dir being `config`.
fn ccc(config: &Path, args: &[&str]) -> anyhow::Result<()> {
    // SAFETY: set before any thread of this process reads the environment (the
    // setup runs first, on the main thread).
    unsafe { std::env::set_var("CCC_CONFIG_DIR", config) };
    let parsed = cli::Cli::try_parse_from(std::iter::once("ccc").chain(args.iter().copied()))
        .context("the setup's ccc command line")?;
    let code = match parsed.command {
        cli::Command::TrustRoot(command) => cli::sigstore::trust_root::run(&command)?,
        cli::Command::Sign(args) => cli::sigstore::sign::run(&args)?,
        _ => bail!("not a setup command"),
    };
    ensure!(code == ExitCode::SUCCESS, "ccc {} failed", args.join(" "));
    Ok(())
}

fn artifact(dir: &Path, i: u32) -> PathBuf {
    dir.join(format!("artifact-{i:07}.bin"))
}

fn bundle_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sigstore.json");
    PathBuf::from(name)
}

fn setup(args: &VerifyBlobBenchArgs, config: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files: Vec<PathBuf> = (0..args.n).map(|i| artifact(&args.dir, i)).collect();
    if files.iter().all(|f| bundle_of(f).is_file()) && config.join("sigstore").is_dir() {
        eprintln!(
            "reusing the {} signed files in {}",
            args.n,
            args.dir.display()
        );
        return Ok(files);
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    for file in &files {
        let mut bytes = vec![0u8; ARTIFACT_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("system RNG failed"))?;
        std::fs::write(file, bytes).with_context(|| format!("writing {}", file.display()))?;
    }
    ccc(config, &["trust-root", "fetch", "--url", &args.url])?;
    let version = match args.api {
        Api::V1 => "1",
        Api::V2 => "2",
    };
    let mut sign = vec!["sign", "--dev-email", EMAIL, "--rekor-version", version];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    sign.extend(names.iter().map(String::as_str));
    let started = Instant::now();
    ccc(config, &sign)?;
    eprintln!(
        "signed {} files in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(files)
}

pub fn run(args: VerifyBlobBenchArgs) -> anyhow::Result<ExitCode> {
    let config = args.dir.join("ccc-config");
    let files = setup(&args, &config)?;
    let trust =
        cli::sigstore::trust_root::load(Some(&config.join("sigstore/client_trust_config.json")))?;
    let issuer = format!("{}/dev/oidc", cli::cert::server_root(&args.url)?);
    let policy = SignerPolicy::Keyless(Identity::exact(EMAIL, issuer.clone()));

    // 2. The crypto ceiling.
    let costs = crypto_ceiling::measure(Duration::from_millis(args.ceiling_ms))?;
    let verify_per_s = 1e6 / costs.ecdsa_p256_verify_us;
    let verifies_per_bundle = match args.api {
        Api::V1 => 7,
        Api::V2 => 6,
    };
    let ceiling = verify_per_s / f64::from(verifies_per_bundle);

    // 3. In process, one thread.
    let now = cli::sigstore::trust_root::now_ms();
    let started = Instant::now();
    for file in &files {
        let json = std::fs::read(bundle_of(file))?;
        let bundle = Bundle::from_json(&json)?;
        let BundleContent::MessageSignature(message) = &bundle.content else {
            bail!("{}: not a message signature", file.display());
        };
        let algorithm = message
            .message_digest
            .as_ref()
            .map_or(HashAlgorithm::Sha256, |d| d.algorithm);
        let artifact = ArtifactDigest {
            algorithm,
            digest: cli::sigstore::digest::file_digest(file, algorithm)?,
        };
        verify_bundle(&bundle, &artifact, &trust.trusted_root, &policy, now)
            .with_context(|| format!("{} does not verify", file.display()))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let in_process = files.len() as f64 / elapsed;

    // 4. The command.
    let ccc_bin = std::env::current_exe()?.with_file_name("ccc");
    let (command_rate, command_rss) = if ccc_bin.is_file() {
        let started = Instant::now();
        let out = Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M")
            .arg(&ccc_bin)
            .args([
                "verify-blob",
                "--identity",
                EMAIL,
                "--issuer",
                &issuer,
                "--trust-config",
            ])
            .arg(config.join("sigstore/client_trust_config.json"))
            .args(&files)
            .output();
        match out {
            Ok(out) => {
                let elapsed = started.elapsed().as_secs_f64();
                ensure!(
                    out.status.success(),
                    "ccc verify-blob failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let rss = String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .and_then(|l| l.trim().parse::<u64>().ok());
                (Some(files.len() as f64 / elapsed), rss)
            }
            Err(e) => {
                eprintln!("not timing the command: /usr/bin/time: {e}");
                (None, None)
            }
        }
    } else {
        eprintln!(
            "not timing the command: no {} (build it)",
            ccc_bin.display()
        );
        (None, None)
    };

    let report = Report {
        files: args.n,
        api: match args.api {
            Api::V1 => 1,
            Api::V2 => 2,
        },
        ecdsa_p256_verifies_per_bundle: verifies_per_bundle,
        ecdsa_p256_verify_per_s: verify_per_s,
        ceiling_files_per_s: ceiling,
        in_process_files_per_s: in_process,
        in_process_us_per_file: elapsed * 1e6 / files.len() as f64,
        in_process_ratio_to_ceiling: in_process / ceiling,
        command_files_per_s: command_rate,
        command_peak_rss_kib: command_rss,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "verify-blob: {} bundles (Rekor v{})",
            report.files, report.api
        );
        println!(
            "  crypto ceiling   {:>9.0} files/s  ({} P-256 verifies per bundle at {:.0}/s, one core)",
            report.ceiling_files_per_s, verifies_per_bundle, verify_per_s
        );
        println!(
            "  in process       {:>9.0} files/s  ({:.0} µs per file, {:.2}× the ceiling, one core)",
            report.in_process_files_per_s,
            report.in_process_us_per_file,
            report.in_process_ratio_to_ceiling
        );
        if let Some(rate) = report.command_files_per_s {
            println!(
                "  ccc verify-blob  {:>9.0} files/s  (the whole command, peak RSS {} KiB)",
                rate,
                report
                    .command_peak_rss_kib
                    .map_or_else(|| "?".into(), |k| k.to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
