//! `ccc monitor`: follows CT logs, verifies every tree head and entry, and reports
//! certificates matching the watch rules as JSON lines (and to a webhook). A thin
//! wrapper over [`monitor::follow`]; this file owns only the terminal, the state file's
//! location, the loop and the webhook.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use monitor::client::Client;
use monitor::follow::{
    FollowError, LogApi, LogTarget, Scan, detect_api, follow_once, state_at_head,
};
use monitor::loglist::LogKeys;
use monitor::{MonitorState, WatchRule};

/// Webhook deliveries tried before giving up on one event.
const WEBHOOK_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiArg {
    /// Tiles when the log serves a checkpoint, else RFC 6962.
    Auto,
    /// RFC 6962 get-sth / get-sth-consistency / get-entries.
    Rfc6962,
    /// static-ct-api checkpoint and data tiles.
    Tiles,
}

#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// A log's URL prefix, e.g. http://127.0.0.1:8080/logs/dev-a (repeatable).
    #[arg(long = "log", required = true)]
    pub logs: Vec<String>,
    /// A watch rule: email:…, domain:example.com, domain:*.example.com, uri:…,
    /// issuer:…, san-regex:… (repeatable).
    #[arg(long = "watch")]
    pub watch: Vec<WatchRule>,
    /// Where the verified tree heads are kept between runs.
    #[arg(long, default_value = "./ccc-monitor-state.json")]
    pub state: PathBuf,
    /// CT log list (Chrome v3 JSON; file or URL) with the logs' keys. Default: the
    /// list served next to the first log (http://HOST/logs/log_list.json), trusted on
    /// first use and pinned in the state file.
    #[arg(long)]
    pub log_keys: Option<String>,
    /// POST each match (and alert) as JSON to this URL, retried with backoff. With
    /// `CCC_WEBHOOK_SECRET` in the environment (never on the command line, which every
    /// user of the machine can read), each POST is signed as the server signs its
    /// deliveries (`Certcentral-Signature: t=…,v1=<HMAC-SHA256 of "t.body">`), so one
    /// receiver can check both.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Stop after catching up with every log.
    #[arg(long)]
    pub once: bool,
    /// How to read the logs.
    #[arg(long, value_enum, default_value_t = ApiArg::Auto)]
    pub api: ApiArg,
    /// A log not yet in the state file starts at its current head instead of its
    /// first entry: the head is verified and its compact range read from the log's
    /// hash tiles (static-ct-api logs only); earlier entries are neither read nor
    /// matched.
    #[arg(long)]
    pub start_at_head: bool,
    /// Seconds between polls when not --once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
}

/// `http://host:port/logs/log_list.json` for a log URL.
fn default_log_list(log_url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = log_url
        .split_once("://")
        .with_context(|| format!("--log {log_url:?} is not an http(s) URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    anyhow::ensure!(!host.is_empty(), "--log {log_url:?} has no host");
    Ok(format!("{scheme}://{host}/logs/log_list.json"))
}

/// Where `ccc monitor` takes the secret it signs webhook POSTs with.
const WEBHOOK_SECRET_VAR: &str = "CCC_WEBHOOK_SECRET";

/// POSTs `body` with exponential backoff; a 4xx other than 429 is final. With a
/// secret, each attempt carries a fresh signature.
async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    body: &serde_json::Value,
) {
    let bytes = body.to_string();
    let mut delay = Duration::from_millis(250);
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(secret) = secret {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let signature = monitor::webhook::signature_header(secret, now, bytes.as_bytes());
            request = request.header(monitor::webhook::SIGNATURE_HEADER, signature);
        }
        let outcome = request.body(bytes.clone()).send().await;
        let retry = match &outcome {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => r.status().is_server_error() || r.status().as_u16() == 429,
            Err(_) => true,
        };
        let why = match outcome {
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => e.to_string(),
        };
        if !retry || attempt == WEBHOOK_ATTEMPTS {
            eprintln!("ccc monitor: webhook {url}: giving up after {attempt} attempts: {why}");
            return;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

pub fn run(args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new()?;
    let list_src = match &args.log_keys {
        Some(s) => s.clone(),
        None => {
            let url = default_log_list(&args.logs[0])?;
            eprintln!(
                "ccc monitor: log keys from {url} (trusted on first use, then pinned in {})",
                args.state.display()
            );
            url
        }
    };
    let keys = LogKeys::load(&list_src, &client)
        .await
        .with_context(|| format!("loading the log list {list_src}"))?;
    let mut targets = Vec::new();
    for url in &args.logs {
        let key = keys
            .find_by_url(url)
            .with_context(|| format!("log {url} is not in the log list {list_src}"))?
            .clone();
        let api = match args.api {
            ApiArg::Rfc6962 => LogApi::Rfc6962,
            ApiArg::Tiles => LogApi::Tiles,
            ApiArg::Auto => detect_api(&client, url).await,
        };
        targets.push(LogTarget::new(url, key, api));
    }
    let mut state = MonitorState::load(&args.state)?;
    let webhook_secret = std::env::var(WEBHOOK_SECRET_VAR)
        .ok()
        .filter(|s| !s.is_empty());
    let interactive = std::io::stderr().is_terminal();
    loop {
        let mut misbehaved = false;
        for t in &targets {
            let bar = if interactive {
                let bar = ProgressBar::new(0);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} entries {per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_prefix(t.url.clone());
                bar
            } else {
                ProgressBar::hidden()
            };
            let mut progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let started = std::time::Instant::now();
            let outcome = if args.start_at_head && !state.logs.contains_key(&t.url) {
                eprintln!("ccc monitor: {} starts at its current head", t.url);
                state_at_head(&client, t).await.map(|head| Scan {
                    state: head,
                    matches: Vec::new(),
                    entries: 0,
                    unparsed: 0,
                })
            } else {
                follow_once(
                    &client,
                    t,
                    state.logs.get(&t.url),
                    &args.watch,
                    &mut progress,
                )
                .await
            };
            bar.finish_and_clear();
            match outcome {
                Ok(scan) => {
                    for m in &scan.matches {
                        let json = serde_json::to_value(m)?;
                        println!("{json}");
                        if let Some(hook) = &args.webhook {
                            deliver(client.http(), hook, webhook_secret.as_deref(), &json).await;
                        }
                    }
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!(
                        "ccc monitor: {} verified at size {} (+{} entries in {secs:.2} s, {:.0} entries/s, {} matches{})",
                        t.url,
                        scan.state.tree_size,
                        scan.entries,
                        scan.entries as f64 / secs.max(1e-9),
                        scan.matches.len(),
                        if scan.unparsed > 0 {
                            format!(", {} certificates unparsable", scan.unparsed)
                        } else {
                            String::new()
                        }
                    );
                    // Matches are out before the state moves past them: a crash in
                    // between repeats them rather than losing them.
                    state.logs.insert(t.url.clone(), scan.state);
                    state.save(&args.state)?;
                }
                Err(FollowError::Misbehaviour(alert)) => {
                    misbehaved = true;
                    eprintln!("!!! ALERT !!! {alert}");
                    let json = serde_json::json!({ "alert": alert });
                    println!("{json}");
                    if let Some(hook) = &args.webhook {
                        deliver(client.http(), hook, webhook_secret.as_deref(), &json).await;
                    }
                }
                Err(e) if args.once => bail!("{}: {e}", t.url),
                Err(e) => eprintln!("ccc monitor: {}: {e} (retrying)", t.url),
            }
        }
        if misbehaved {
            return Ok(ExitCode::from(monitor::EXIT_MISBEHAVIOUR));
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{Cli, Command};

    #[test]
    fn monitor_parses_all_flags_and_rules() {
        let cli = Cli::try_parse_from([
            "ccc",
            "monitor",
            "--log",
            "http://h/logs/a",
            "--log",
            "http://h/logs/b/",
            "--watch",
            "email:a@example.com",
            "--watch",
            "domain:*.example.com",
            "--state",
            "s.json",
            "--webhook",
            "http://hook",
            "--once",
            "--api",
            "tiles",
            "--log-keys",
            "list.json",
        ])
        .unwrap();
        let Command::Monitor(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(a.logs.len(), 2);
        assert_eq!(a.watch.len(), 2);
        assert_eq!(a.watch[1].to_string(), "domain:*.example.com");
        assert!(a.once);
        assert_eq!(a.api, ApiArg::Tiles);
        assert_eq!(a.state, PathBuf::from("s.json"));
    }

    #[test]
    fn monitor_refuses_bad_rules_and_needs_a_log() {
        assert!(
            Cli::try_parse_from(["ccc", "monitor", "--log", "http://h", "--watch", "mail:x"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["ccc", "monitor", "--watch", "email:x@y"]).is_err());
        assert!(
            Cli::try_parse_from(["ccc", "monitor", "--log", "http://h", "--interval", "0"])
                .is_err()
        );
    }

    #[test]
    fn default_log_list_is_next_to_the_log() {
        assert_eq!(
            default_log_list("http://127.0.0.1:8080/logs/dev-a").unwrap(),
            "http://127.0.0.1:8080/logs/log_list.json"
        );
        assert!(default_log_list("127.0.0.1:8080/logs/dev-a").is_err());
    }

    #[test]
    fn verify_parses_all_flags() {
        let cli = Cli::try_parse_from([
            "ccc",
            "verify",
            "c.pem",
            "--chain",
            "ch.pem",
            "--roots",
            "r.pem",
            "--log-keys",
            "http://h/logs/log_list.json",
            "--at",
            "2026-01-01T00:00:00Z",
            "--min-scts",
            "1",
            "--online",
            "--code-signing",
            "--json",
        ])
        .unwrap();
        let Command::Verify(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(a.min_scts, 1);
        assert!(a.online && a.code_signing && a.json);
        assert_eq!(a.at.as_deref(), Some("2026-01-01T00:00:00Z"));
    }
}
