//! `ccc verify`: checks a certificate on its own — path to the given roots, embedded
//! SCTs against a CT log list, the SCT policy, and with `--online` an inclusion proof
//! from each log. A thin wrapper over [`monitor::verify`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use monitor::client::Client;
use monitor::loglist::LogKeys;
use monitor::verify::{VerifyOptions, check_inclusion, verify_certificate};

/// Largest PEM file read.
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// PEM file: the certificate, optionally followed by its chain.
    pub cert: PathBuf,
    /// PEM file of intermediates (in any order).
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// PEM file of trusted roots (trust anchors).
    #[arg(long)]
    pub roots: Option<PathBuf>,
    /// CT log list in Chrome's v3 JSON shape: a file, or a URL such as
    /// http://HOST/logs/log_list.json.
    #[arg(long)]
    pub log_keys: Option<String>,
    /// Verify at this time instead of now: YYYY-MM-DDTHH:MM:SSZ or @UNIX_SECONDS.
    #[arg(long)]
    pub at: Option<String>,
    /// Valid SCTs from distinct logs required.
    #[arg(long, default_value_t = 2)]
    pub min_scts: usize,
    /// Also fetch and verify an inclusion proof from each log.
    #[arg(long)]
    pub online: bool,
    /// Require the codeSigning extended key usage.
    #[arg(long)]
    pub code_signing: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn read_pem(path: &PathBuf) -> anyhow::Result<Vec<Vec<u8>>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        meta.len() <= MAX_PEM_BYTES,
        "{} is larger than {MAX_PEM_BYTES} bytes",
        path.display()
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    pki::pem_certificates(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Exit 0 when the certificate passes, 1 with the reasons when it does not.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut certs = read_pem(&args.cert)?.into_iter();
    let leaf = certs
        .next()
        .with_context(|| format!("{} holds no certificate", args.cert.display()))?;
    let mut chain: Vec<Vec<u8>> = certs.collect();
    if let Some(path) = &args.chain {
        chain.extend(read_pem(path)?);
    }
    let roots = match &args.roots {
        Some(path) => read_pem(path)?,
        None => Vec::new(),
    };
    let at_ms = match &args.at {
        Some(at) => clock::parse_time_ms(at)?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("system clock before 1970")?
            .as_millis()
            .try_into()
            .context("system clock out of range")?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = Client::new()?;
    let keys = match &args.log_keys {
        Some(src) => runtime
            .block_on(LogKeys::load(src, &client))
            .with_context(|| format!("loading the log list {src}"))?,
        None => LogKeys::default(),
    };
    let opts = VerifyOptions {
        at_ms,
        min_scts: args.min_scts,
        require_code_signing: args.code_signing,
    };
    let mut report = verify_certificate(&leaf, &chain, &roots, &keys, &opts);
    if args.online {
        runtime.block_on(check_inclusion(&mut report, &keys, &client));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.human());
        if args.log_keys.is_none() && !report.scts.is_empty() {
            eprintln!("hint: give --log-keys FILE|URL (a Chrome v3 log list) to check the SCTs");
        }
        if args.roots.is_none() {
            eprintln!("hint: give --roots FILE with the trust anchors");
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
