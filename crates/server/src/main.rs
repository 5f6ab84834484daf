//! `certcentral`: the server. `certcentral serve --dev` runs two CT logs on embedded
//! storage with no configuration; `certcentral serve --config FILE` runs what the file
//! says.

mod app;
mod config;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Serve the configured logs.
    Serve {
        /// Development mode: logs `dev-a` and `dev-b` with generated keys, no config file.
        #[arg(long, conflicts_with = "config")]
        dev: bool,
        /// Production configuration (TOML).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen address (overrides the file); port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Data directory (overrides the file).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Additional PEM bundle of accepted roots for every log; repeatable.
        #[arg(long, value_name = "FILE")]
        roots: Vec<PathBuf>,
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
            dev,
            config,
            listen,
            data_dir,
            roots,
        } => {
            let mut config = match (dev, config) {
                (true, _) => Config::dev(
                    "127.0.0.1:8080".parse().expect("literal"),
                    PathBuf::from("./certcentral-data"),
                ),
                (false, Some(path)) => Config::from_file(&path)?,
                (false, None) => bail!("say `serve --dev` or `serve --config FILE`"),
            };
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(config, roots, dev))
        }
    }
}

async fn serve(config: Config, extra_roots: Vec<PathBuf>, dev: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let listener =
        listen(config.listen).with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let logs = app::open_logs(&config, &public_url, &extra_roots, dev)?;

    println!("certcentral listening on http://{address}");
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
    use std::io::Write;
    std::io::stdout().flush()?;

    let app = app::router(&logs);
    drop(logs);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
