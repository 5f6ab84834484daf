//! `certcentral`: the server. `certcentral serve --dev` runs two CT logs on embedded
//! storage and a code-signing CA with a development OIDC issuer, with no
//! configuration; `certcentral serve --config FILE` runs what the file says.

mod app;
mod ca_wiring;
mod config;
mod lifecycle;
mod monitor_wiring;
mod registry_wiring;
mod rekor_wiring;
mod trust_wiring;
mod tsa_wiring;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Parser, Subcommand};
use monitor::service::FollowedLog;

use crate::config::Config;

/// mimalloc: fewer cycles per allocation than glibc on the request path (HTTP, JSON,
/// DER parsing allocate per request) and less fragmentation under many connections.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "certcentral",
    version,
    about = "Transparency-backed PKI server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which configuration, and where the state is: what `serve` and the operator
/// commands share.
#[derive(clap::Args)]
struct Setup {
    /// Development mode: logs `dev-a` and `dev-b`, an ephemeral CA, and a built-in
    /// OIDC issuer that gives anyone a token (never expose it). With `--config`, the
    /// file's settings extend or override these defaults.
    #[arg(long)]
    dev: bool,
    /// Configuration (TOML).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (overrides the file).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL instead of SQLite (overrides the file's `database_url`):
    /// `postgres://user:password@host:port/db`. Several processes may share it.
    #[arg(
        long,
        value_name = "URL",
        env = "CERTCENTRAL_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

impl Setup {
    fn config(self) -> anyhow::Result<Config> {
        let mut config = match (self.dev, self.config) {
            (true, None) => Config::dev(),
            (true, Some(path)) => Config::dev_with_file(&path)?,
            (false, Some(path)) => Config::from_file(&path)?,
            (false, None) => bail!("say `--dev` or `--config FILE`"),
        };
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if self.database_url.is_some() {
            config.database_url = self.database_url;
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured logs.
    Serve {
        #[command(flatten)]
        setup: Setup,
        /// Listen address (overrides the file); port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Additional PEM bundle of accepted roots for every log; repeatable.
        #[arg(long, value_name = "FILE")]
        roots: Vec<PathBuf>,
    },
    /// Checks a configuration file as `serve --config FILE` reads it, opening and
    /// binding nothing: prints a one-line summary, or every problem and exits 1.
    CheckConfig {
        /// Configuration (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Check it as `serve --dev --config FILE` reads it: over the dev defaults.
        #[arg(long)]
        dev: bool,
    },
    /// The monitor's open alerts: a log with one is not followed until an operator,
    /// having looked at the log, clears them.
    Alerts {
        #[command(subcommand)]
        action: AlertsAction,
    },
}

#[derive(Subcommand)]
enum AlertsAction {
    /// Lists the open alerts.
    List {
        #[command(flatten)]
        setup: Setup,
    },
    /// Clears a log's open alerts; the monitor follows it again from its last
    /// verified tree head (running servers notice within one pass).
    Clear {
        #[command(flatten)]
        setup: Setup,
        /// The log: one of this server's log names, or a followed log's URL (as the
        /// status page shows it).
        #[arg(long)]
        log: String,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            setup,
            listen,
            roots,
        } => {
            let dev = setup.dev;
            let mut config = setup.config()?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            // Issuance runs its CPU work (proof, signing) on the blocking pool. Tokio's
            // default of 512 threads lets a burst of thousands of requests start hundreds
            // of threads, each with its own allocator heap (~1 GiB RSS at 2,000 in
            // flight, measured); a few per core keep every core busy and the memory
            // flat. Nothing waits for the network there: OIDC key fetches are async and
            // resolve names on threads of their own (the `egress` crate).
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(4 * cores)
                .build()?;
            let served = runtime.block_on(serve(config, roots, dev));
            // Whatever still runs on the blocking pool (a webhook's name look-up, a
            // readiness probe on a hung database) must not hold the exit.
            runtime.shutdown_timeout(Duration::from_millis(500));
            served
        }
        Command::CheckConfig { file, dev } => check_config(file, dev),
        Command::Alerts { action } => alerts(action),
    }
}

/// `certcentral check-config FILE`: the same parsing and validation as `serve`.
fn check_config(file: PathBuf, dev: bool) -> anyhow::Result<()> {
    let setup = Setup {
        dev,
        config: Some(file.clone()),
        data_dir: None,
        database_url: None,
    };
    match setup.config() {
        Ok(config) => {
            println!("{}: ok: {}", file.display(), config.summary());
            Ok(())
        }
        Err(e) => {
            match e.downcast_ref::<config::Problems>() {
                Some(problems) => {
                    eprintln!("{}: {} problem(s):", file.display(), problems.0.len());
                    for p in &problems.0 {
                        eprintln!("  - {p}");
                    }
                }
                None => eprintln!("{}: {e:#}", file.display()),
            }
            std::process::exit(1);
        }
    }
}

/// `certcentral alerts list|clear`: straight on the monitor's store, so it works
/// whether or not a server runs, and needs no credentials beyond the store's.
fn alerts(action: AlertsAction) -> anyhow::Result<()> {
    let (setup, clear) = match action {
        AlertsAction::List { setup } => (setup, None),
        AlertsAction::Clear { setup, log } => (setup, Some(log)),
    };
    let store = app::Storage::open(&setup.config()?)?.monitor()?;
    let open = store.open_alerts(usize::MAX)?;
    let Some(log) = clear else {
        for a in &open {
            println!(
                "{}  {}  {}  {}",
                clock::format_time_ms_millis(a.at_ms),
                a.log,
                a.kind,
                a.detail
            );
        }
        eprintln!("{} open alert(s)", open.len());
        return Ok(());
    };
    // Own logs are kept as `local:NAME`, followed remote logs as `remote:URL/`; a URL
    // may be given with or without its final slash.
    let plain = |key: &str| key.trim_end_matches('/').to_owned();
    let wanted = [
        plain(&FollowedLog::Local(log.clone()).to_string()),
        plain(&FollowedLog::Remote(log.clone()).to_string()),
        plain(&log),
    ];
    let keys: std::collections::BTreeSet<&str> = open
        .iter()
        .map(|a| a.log.as_str())
        .filter(|key| wanted.contains(&plain(key)))
        .collect();
    if keys.is_empty() {
        let logs: std::collections::BTreeSet<&str> = open.iter().map(|a| a.log.as_str()).collect();
        bail!("no open alert for {log:?}; open alerts are for: {logs:?}");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    for key in keys {
        let cleared = store.clear_alerts(key, u64::try_from(now)?)?;
        println!("cleared {cleared} alert(s) of {key}");
    }
    Ok(())
}

/// Creates the data directory 0700: it holds the log and registry keys, API-key
/// hashes and webhook signing secrets. An existing directory is left as it is (it may
/// be a mount point or shared on purpose), with a warning if others can enter it.
fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    store::sqlite::create_private_dir(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: the data directory {} has mode {:o}: others can reach what it holds; chmod 700 it",
                dir.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

async fn serve(config: Config, extra_roots: Vec<PathBuf>, dev: bool) -> anyhow::Result<()> {
    create_data_dir(&config.data_dir)?;
    let listener =
        listen(config.listen).with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    // The CA key comes first: its root must be among the roots of the logs it uses.
    let ca_key = config
        .ca
        .as_ref()
        .map(ca_wiring::load_ca_key)
        .transpose()
        .context("setting up the CA")?;
    let ca_log_names: Vec<String> = config
        .ca
        .iter()
        .flat_map(|c| &c.ct_logs)
        .filter_map(|l| match l {
            config::CtLogRef::Local(name) => Some(name.clone()),
            config::CtLogRef::Remote(_) => None,
        })
        .collect();
    let storage = app::Storage::open(&config)?;
    let logs = app::open_logs(
        &config,
        &storage,
        &public_url,
        &extra_roots,
        dev,
        ca_key.as_ref().map(|k| (k.root(), ca_log_names.as_slice())),
    )?;
    let dev_issuer = if dev {
        Some(std::sync::Arc::new(oidc::dev::DevIssuer::generate(
            &public_url,
        )?))
    } else {
        None
    };
    let ca_verifier = config
        .ca
        .as_ref()
        .map(|section| ca_wiring::build_verifier(&section.oidc_issuers, dev_issuer.as_deref()))
        .transpose()
        .context("setting up the CA's OIDC issuers")?;
    let ca = match (&config.ca, ca_key, &ca_verifier) {
        (Some(section), Some(key), Some(verifier)) => Some(
            ca_wiring::build_ca(section, key, &logs, verifier.clone())
                .context("setting up the CA")?,
        ),
        _ => None,
    };
    let registry = config
        .registry
        .as_ref()
        .map(|section| {
            registry_wiring::build_registry(
                section,
                &config.data_dir,
                &storage,
                &public_url,
                ca_verifier.clone(),
                dev_issuer.as_deref(),
            )
        })
        .transpose()
        .context("setting up the registry")?;
    let tsa = config
        .tsa
        .as_ref()
        .map(tsa_wiring::build_tsa)
        .transpose()
        .context("setting up the TSA")?;
    let artifact_logs = rekor_wiring::open_artifact_logs(&config, &storage, &public_url)
        .context("setting up the artifact logs")?;
    let trust = trust_wiring::InstanceTrust {
        public_url: public_url.clone(),
        operator: trust_wiring::operator(&config, &public_url),
        ca_chain: ca.as_ref().map(|ca| ca.ca_chain().to_vec()),
        oidc_issuers: trust_wiring::oidc_issuers(&config, dev_issuer.as_deref()),
        ct_logs: trust_wiring::ct_logs(&config, &logs)?,
        artifact_logs: rekor_wiring::trust(&config, &artifact_logs),
        tsa_chain: tsa.as_ref().map(|tsa| tsa.chain().to_vec()),
    }
    .documents()
    .context("building the sigstore trust documents")?;

    let mut stop_signals = StopSignals::register().context("registering SIGTERM and SIGINT")?;
    println!("certcentral listening on http://{address}");
    println!("storage: {}", storage.describe());
    if dev {
        println!(
            "development mode: generated log keys are kept in {}/keys",
            config.data_dir.display()
        );
    }
    println!(
        "log list: {}/logs/log_list.json",
        public_url.trim_end_matches('/')
    );
    for l in &logs {
        println!("log {}", l.log.name());
        println!("  url:        {}", l.url);
        println!("  log id:     {}", BASE64.encode(l.log.log_id()));
        println!("  public key: {}", BASE64.encode(l.log.public_key_der()));
        println!("  roots:      {}", l.log.roots().len());
        println!("  tree size:  {}", l.log.tree_head().tree_size);
    }
    if logs.iter().any(|l| l.log.roots().is_empty()) {
        println!(
            "note: a log without roots accepts nothing; add roots with --roots FILE{}",
            if dev {
                " or in <data-dir>/roots.pem"
            } else {
                ""
            }
        );
    }
    if let Some(ca) = &ca {
        let base = public_url.trim_end_matches('/');
        println!("code-signing CA: {base}/api/v2/signingCert (Fulcio API v2)");
        println!("  trust bundle: {base}/api/v2/trustBundle");
        println!("  SCTs from:    {}", ca.log_names().join(", "));
        println!("  issuers:      {}", ca.verifier().issuers().len());
    }
    if let Some(registry) = &registry {
        let base = public_url.trim_end_matches('/');
        println!("certificate registry: {base}/api/v1/ (Cert Central)");
        println!("  registry log: {base}/registry/log/checkpoint");
        println!("  log key:      {}", registry.verifier_key());
    }
    if let Some(tsa) = &tsa {
        let base = public_url.trim_end_matches('/');
        println!("time-stamp authority: {base}/api/v1/timestamp (RFC 3161)");
        println!("  cert chain:   {base}/api/v1/timestamp/certchain");
        println!("  policy:       {}", tsa.settings().policy);
    }
    for l in &artifact_logs {
        println!(
            "artifact log {} (Rekor API v{})",
            l.log.name(),
            l.log.api().major()
        );
        println!("  url:        {}", l.url);
        println!("  log id:     {}", hex::encode(l.log.log_id()));
        println!("  tree size:  {}", l.log.tree_head().tree_size);
    }
    {
        let base = public_url.trim_end_matches('/');
        println!(
            "sigstore trust: {base}{} (sigstore --trust-config)",
            trust_wiring::CLIENT_TRUST_CONFIG_PATH
        );
        println!(
            "  also:         {base}{}, {base}{}",
            trust_wiring::TRUSTED_ROOT_PATH,
            trust_wiring::SIGNING_CONFIG_PATH
        );
    }
    if let Some(dev) = &dev_issuer {
        let base = public_url.trim_end_matches('/');
        println!(
            "DEVELOPMENT OIDC ISSUER: {} — gives a token for ANY email to anyone; never expose this server",
            dev.issuer_url()
        );
        println!(
            "  get a token:  curl -s -X POST {base}/dev/oidc/token -d '{{\"email\":\"you@example.com\"}}'"
        );
        println!("  or directly:  ccc cert request --url {base} --dev-email you@example.com");
        if let (Some(section), Some(_)) = (&config.registry, &registry) {
            println!(
                "  registry:     -d '{{\"email\":\"you@example.com\",\"audience\":\"{}\"}}' (single use, {} max age)",
                section.audience,
                humantime::format_duration(section.token_max_age)
            );
        }
    }
    use std::io::Write;
    std::io::stdout().flush()?;

    let monitor = match (&config.monitor, &registry) {
        (Some(section), Some(registry)) => Some(
            monitor_wiring::start_monitor(section, &storage, registry.clone(), &logs, address)
                .context("setting up the monitor")?,
        ),
        _ => None,
    };
    let lifecycle = lifecycle::Lifecycle::new(
        logs.iter().map(|l| l.log.clone()).collect(),
        artifact_logs.iter().map(|l| l.log.clone()).collect(),
        registry.clone(),
    );
    let mut app = app::router(&logs, ca, dev_issuer, registry)
        .merge(trust_wiring::router(&trust))
        .merge(lifecycle.router());
    if let Some(monitor) = monitor {
        app = app.merge(monitor::service::router(monitor));
    }
    if let Some(tsa) = tsa {
        app = app.merge(tsa::http::router(tsa));
    }
    for l in &artifact_logs {
        app = app.nest(
            &l.base_path,
            rekor::http_v1::router(l.log.clone(), &l.base_path)
                .fallback(webapi::not_found)
                .method_not_allowed_fallback(webapi::method_not_allowed),
        );
    }
    drop(logs);
    let (stop_accepting, stop) = tokio::sync::oneshot::channel::<()>();
    let mut serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
    });
    tokio::select! {
        () = stop_signals.recv() => {}
        served = &mut serving => {
            served??;
            bail!("the listener stopped");
        }
    }
    tracing::info!(
        timeout_ms = config.shutdown_timeout.as_millis() as u64,
        "stopping: no new connections; the waiting submissions get a last batch"
    );
    let _ = stop_accepting.send(());
    match lifecycle.stop(serving, config.shutdown_timeout).await? {
        lifecycle::Stopped::Cleanly => {
            tracing::info!("stopped");
            Ok(())
        }
        lifecycle::Stopped::TimedOut(running) => bail!(
            "shutdown_timeout ({}) ran out; waiting submitters were answered 503; still running: {}",
            humantime::format_duration(config.shutdown_timeout),
            running.join(", ")
        ),
    }
}

/// Binds with a deep accept backlog: a burst of thousands of CT submitters must not
/// overflow the SYN queue (the kernel's default retry then costs them a full second).
fn listen(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(address)?;
    socket.listen(8192)
}

/// SIGTERM and SIGINT, registered before the server says it is listening: a signal
/// sent as soon as that line is out must start the orderly stop, not the default kill.
struct StopSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the first of them.
    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {},
            _ = self.interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
