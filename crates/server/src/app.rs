//! Wiring: opens every configured log over its own SQLite database and serves them,
//! plus the server-wide `/logs/log_list.json` and `/healthz`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ca::issue::CertificateAuthority;
use ctlog::{Log, LogConfig};
use oidc::dev::DevIssuer;
use pki::chain::RootStore;
use pki::keys::EcdsaP256Signer;
use pki::loglist::{LogList, LogListEntry, LogListOperator, LogState, StateSince};
use store::shared::SharedSequencing;
use store::{
    LogStore, MonitorStore, PgLogStore, PgMonitorStore, PgPool, PgRegistryStore, RegistryStore,
    SqliteLogStore, SqliteMonitorStore, SqliteRegistryStore,
};
use webapi::{method_not_allowed, not_found};

use crate::config::{Config, LogSection};

/// Maximum merge delay announced in the log list: entries are integrated within one
/// sequence interval, far below this.
const MMD_SECONDS: u64 = 60;

/// A log opened and ready to serve, with what the operator needs to pin it.
pub struct OpenedLog {
    pub log: Arc<Log>,
    pub url: String,
}

/// Extra roots for every log: `<data_dir>/roots.pem` in dev mode, and `--roots` files.
pub fn load_roots(
    section: &LogSection,
    extra: &[PathBuf],
    data_dir: &Path,
    dev: bool,
) -> anyhow::Result<RootStore> {
    let mut roots = RootStore::new();
    let mut files: Vec<PathBuf> = section.roots_pem.iter().cloned().collect();
    let dev_roots = data_dir.join("roots.pem");
    if dev && dev_roots.exists() {
        files.push(dev_roots);
    }
    files.extend(extra.iter().cloned());
    for file in files {
        let pem = std::fs::read_to_string(&file)
            .with_context(|| format!("reading roots from {}", file.display()))?;
        roots
            .add_pem_bundle(&pem)
            .with_context(|| format!("roots in {}", file.display()))?;
    }
    Ok(roots)
}

/// The log's signing key: from its PEM file, or generated once and kept in the data
/// directory (mode 0600) for `ephemeral`.
pub fn load_key(section: &LogSection, data_dir: &Path) -> anyhow::Result<EcdsaP256Signer> {
    load_log_key(&section.name, &section.key_file, data_dir)
}

/// A log key from `key_file`, or for `ephemeral` the one generated on first start as
/// `<data_dir>/keys/<stem>.pem`: a log's key must outlive restarts, or its stored
/// heads would stop verifying.
pub fn load_log_key(
    stem: &str,
    key_file: &str,
    data_dir: &Path,
) -> anyhow::Result<EcdsaP256Signer> {
    if key_file != "ephemeral" {
        let pem = std::fs::read_to_string(key_file)
            .with_context(|| format!("reading the key of log {stem}"))?;
        return EcdsaP256Signer::from_pkcs8_pem(&pem)
            .with_context(|| format!("the key of log {stem} (PKCS#8 PEM, P-256)"));
    }
    let path = generated_key_path(data_dir, stem);
    if path.exists() {
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return EcdsaP256Signer::from_pkcs8_pem(&pem)
            .with_context(|| format!("generated key {}", path.display()));
    }
    if let Some(dir) = path.parent() {
        store::sqlite::create_private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let signer = EcdsaP256Signer::generate()?;
    let pem = signer.to_pkcs8_pem()?;
    keyfile::replace(&path, pem.as_bytes())?;
    Ok(signer)
}

/// Where the `ephemeral` key of log `name` is kept: written once, when generated.
pub fn generated_key_path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("keys").join(format!("{name}.pem"))
}

/// A log's store, and its shared queue and lease when several processes serve it.
type LogStorage = (Arc<dyn LogStore>, Option<Arc<dyn SharedSequencing>>);

/// Where the services keep their state: SQLite files under the data directory (one
/// process), or one PostgreSQL database shared by several processes.
pub enum Storage {
    Sqlite(PathBuf),
    Postgres(PgPool),
}

impl Storage {
    pub fn open(config: &Config) -> anyhow::Result<Self> {
        match &config.database_url {
            None => Ok(Self::Sqlite(config.data_dir.clone())),
            Some(url) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    bail!("database_url must be a postgres:// URL");
                }
                // The URL may hold a password: errors name the database, not the URL.
                let pool = PgPool::connect(url).context("connecting to the PostgreSQL database")?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// What the banner says.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("SQLite under {}", dir.display()),
            Self::Postgres(_) => "PostgreSQL (shared; sequencer leases per log)".to_owned(),
        }
    }

    /// Where log `name` keeps its state, for error messages: the operator must know
    /// which file to inspect or restore.
    fn log_location(&self, name: &str) -> String {
        self.location("logs", name)
    }

    /// [`Storage::log_location`] for an artifact log.
    pub fn artifact_log_location(&self, name: &str) -> String {
        self.location("artifact-logs", name)
    }

    fn location(&self, kind: &str, name: &str) -> String {
        match self {
            Self::Sqlite(data_dir) => {
                let path = data_dir.join(kind).join(name).join("log.db");
                format!("database {}", path.display())
            }
            Self::Postgres(_) => "PostgreSQL".to_owned(),
        }
    }

    /// A log's store, and its shared queue and lease when several processes serve it.
    fn log(&self, name: &str) -> anyhow::Result<LogStorage> {
        match self {
            Self::Sqlite(data_dir) => {
                let dir = data_dir.join("logs").join(name);
                store::sqlite::create_private_dir(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let store = SqliteLogStore::open(&dir.join("log.db"))
                    .with_context(|| format!("opening the database of log {name}"))?;
                Ok((Arc::new(store), None))
            }
            Self::Postgres(pool) => {
                let store = Arc::new(
                    PgLogStore::open(pool, name)
                        .with_context(|| format!("opening log {name} in PostgreSQL"))?,
                );
                Ok((store.clone(), Some(store)))
            }
        }
    }

    /// An artifact log's store: its own SQLite file (`<data_dir>/artifact-logs/<name>`),
    /// or its rows in PostgreSQL under the key `rekor/<name>` (no CT log name has a
    /// `/`). Its sequencer takes no lease yet: on a shared database one process must
    /// serve it. A second writer cannot fork it (a commit never replaces a stored root),
    /// its commits fail instead.
    pub fn artifact_log(&self, name: &str) -> anyhow::Result<Arc<dyn LogStore>> {
        match self {
            Self::Sqlite(data_dir) => {
                let dir = data_dir.join("artifact-logs").join(name);
                store::sqlite::create_private_dir(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let store = SqliteLogStore::open(&dir.join("log.db"))
                    .with_context(|| format!("opening the database of artifact log {name}"))?;
                Ok(Arc::new(store))
            }
            Self::Postgres(pool) => Ok(Arc::new(
                PgLogStore::open(pool, &format!("rekor/{name}"))
                    .with_context(|| format!("opening artifact log {name} in PostgreSQL"))?,
            )),
        }
    }

    pub fn registry(&self) -> anyhow::Result<Arc<dyn RegistryStore>> {
        Ok(match self {
            Self::Sqlite(data_dir) => {
                let path = data_dir.join("registry").join("registry.db");
                Arc::new(
                    SqliteRegistryStore::open(&path).with_context(|| {
                        format!("opening the registry database {}", path.display())
                    })?,
                )
            }
            Self::Postgres(pool) => {
                Arc::new(PgRegistryStore::open(pool).context("opening the registry in PostgreSQL")?)
            }
        })
    }

    pub fn monitor(&self) -> anyhow::Result<Arc<dyn MonitorStore>> {
        Ok(match self {
            Self::Sqlite(data_dir) => {
                let path = data_dir.join("monitor").join("monitor.db");
                Arc::new(
                    SqliteMonitorStore::open(&path).with_context(|| {
                        format!("opening the monitor database {}", path.display())
                    })?,
                )
            }
            Self::Postgres(pool) => {
                Arc::new(PgMonitorStore::open(pool).context("opening the monitor in PostgreSQL")?)
            }
        })
    }
}

/// Opens every configured log.
/// `ca_root`: the CA's root certificate and the names of the logs the CA submits to,
/// which must accept it.
pub fn open_logs(
    config: &Config,
    storage: &Storage,
    public_url: &str,
    extra_roots: &[PathBuf],
    dev: bool,
    ca_root: Option<(&[u8], &[String])>,
) -> anyhow::Result<Vec<OpenedLog>> {
    let mut logs = Vec::new();
    let host = public_url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(public_url)
        .trim_end_matches('/');
    for section in &config.logs {
        let signer = load_key(section, &config.data_dir)?;
        let mut roots = load_roots(section, extra_roots, &config.data_dir, dev)?;
        if let Some((root, names)) = ca_root
            && names.contains(&section.name)
        {
            roots
                .add_der(root)
                .with_context(|| format!("adding the CA root to log {}", section.name))?;
        }
        let origin = format!("{host}/logs/{}", section.name);
        let mut log_config = LogConfig::new(section.name.clone(), origin, signer, roots);
        log_config.sequence_interval = section.sequence_interval;
        if let Some(pool) = section.pool_size {
            log_config.pool_size = pool;
        }
        if let Some(tiles) = section.tile_cache_tiles {
            log_config.tile_cache_tiles = tiles;
        }
        let log = match storage.log(&section.name)? {
            (store, None) => Log::open(log_config, store),
            (store, Some(sequencing)) => Log::open_shared(log_config, store, sequencing),
        }
        .with_context(|| {
            let location = storage.log_location(&section.name);
            format!("opening log {} ({location})", section.name)
        })?;
        logs.push(OpenedLog {
            log: Arc::new(log),
            url: format!(
                "{}/logs/{}/",
                public_url.trim_end_matches('/'),
                section.name
            ),
        });
    }
    if logs.is_empty() && config.ca.is_none() && config.registry.is_none() {
        bail!("nothing to serve: add a [[logs]], a [ca] or a [registry] section");
    }
    Ok(logs)
}

/// Chrome's CT log list v3 shape, so clients and monitors can pin the keys.
fn log_list(logs: &[OpenedLog]) -> LogList {
    let since = || StateSince {
        timestamp: "2026-01-01T00:00:00Z".into(),
    };
    let entries = logs
        .iter()
        .map(|l| LogListEntry {
            description: format!("certcentral log {}", l.log.name()),
            log_id: BASE64.encode(l.log.log_id()),
            key: BASE64.encode(l.log.public_key_der()),
            url: l.url.clone(),
            mmd: Some(MMD_SECONDS),
            state: Some(LogState {
                usable: Some(since()),
            }),
        })
        .collect();
    LogList {
        version: "1".into(),
        log_list_timestamp: since().timestamp,
        operators: vec![LogListOperator {
            name: "certcentral".into(),
            email: Vec::new(),
            logs: entries,
        }],
    }
}

/// Peak resident set size of this process, from `/proc/self/status` (`VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "peak_rss_kib": peak_rss_kib(),
    }))
}

/// The whole HTTP surface: logs, plus the CA's Fulcio routes and the dev token issuer
/// when configured.
pub fn router(
    logs: &[OpenedLog],
    ca: Option<Arc<CertificateAuthority>>,
    dev_issuer: Option<Arc<DevIssuer>>,
    registry: Option<Arc<registry::Registry>>,
) -> Router {
    let list = serde_json::to_vec_pretty(&log_list(logs)).expect("JSON of plain values");
    let mut app = Router::new().route("/healthz", get(healthz)).route(
        "/logs/log_list.json",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], list) }),
    );
    for l in logs {
        app = app.nest(
            &format!("/logs/{}", l.log.name()),
            ctlog::router(l.log.clone())
                .fallback(not_found)
                .method_not_allowed_fallback(method_not_allowed),
        );
    }
    if let Some(ca) = ca {
        app = app.merge(ca::http::router(ca));
    }
    if let Some(dev) = dev_issuer {
        app = app.merge(oidc::dev::router(dev));
    }
    if let Some(registry) = registry {
        app = app.merge(registry::http::router(registry));
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}
