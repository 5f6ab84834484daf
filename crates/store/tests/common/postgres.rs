//! A real PostgreSQL for tests, never a mock.
//!
//! `CERTCENTRAL_TEST_DATABASE_URL` names one (CI starts a throw-away cluster and sets
//! it). Without it, the first test that asks starts a private cluster with
//! `scripts/pg-test-cluster` in a temporary directory, once per test process, plus a
//! watchdog process that stops the cluster and removes the directory when this
//! process exits, however it exits. With neither the variable nor PostgreSQL
//! installed, tests fail (they never skip): a silent pass would hide that the
//! PostgreSQL backend went untested.
//!
//! TLS tests get a cluster of their own with TLS on ([`tls_cluster`]), always: the
//! one the variable names is plain.
//!
//! (Here rather than in `testkit`: testkit pulls rcgen, which the store's tests do
//! not otherwise need.)

#![allow(dead_code)]

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use store::postgres::PgPool;

pub const URL_VAR: &str = "CERTCENTRAL_TEST_DATABASE_URL";

/// The database URL: the environment's, or a cluster started for this process.
pub fn database_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => start_private_cluster(),
    })
}

/// A name for a new schema (or role): `cc_test_<random>`.
pub fn unique_name() -> String {
    format!("cc_test_{}", random_suffix())
}

/// A connection config for a new, empty schema of its own (`cc_test_<random>`), so
/// tests running at once never see each other's tables. The schema is left behind:
/// the cluster is throw-away.
pub fn fresh_schema() -> (postgres::Config, String) {
    let url = database_url();
    let schema = unique_name();
    let mut client = postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    (config_for(&schema), schema)
}

/// A database URL whose connections all use a fresh schema of their own (for
/// server processes, which take a URL).
pub fn url_for_fresh_schema() -> String {
    let (_, schema) = fresh_schema();
    let base = database_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

/// The config of `schema`: every connection's `search_path` is that schema, and its
/// `application_name` the schema name (to find its connections in pg_stat_activity).
pub fn config_for(schema: &str) -> postgres::Config {
    let mut config: postgres::Config = database_url().parse().expect("database URL");
    config.options(&format!("-c search_path={schema}"));
    config.application_name(schema);
    config
}

/// A pool on a fresh schema.
pub fn fresh_pool() -> PgPool {
    PgPool::with_config(fresh_schema().0, 4).expect("pool")
}

/// A direct connection to `schema`, for poking at tables behind a store's back.
pub fn raw_client(schema: &str) -> postgres::Client {
    config_for(schema)
        .connect(postgres::NoTls)
        .expect("raw connection")
}

fn random_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", hasher.finish())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-cluster")
}

fn postgres_installed() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin/initdb").exists())
        })
        .unwrap_or(false)
}

fn start_private_cluster() -> String {
    start_cluster(&[]).1
}

/// A cluster that speaks TLS (`pg-test-cluster start DIR --ssl`), started once per
/// test process whatever [`URL_VAR`] says: the cluster CI names there is plain.
pub struct TlsCluster {
    dir: PathBuf,
    port: u16,
}

impl TlsCluster {
    /// The CA that issued the server's certificate (for `localhost` and 127.0.0.1).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// A CA that did not.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("tls/other-ca.pem")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL to the cluster's database over TCP at `host`, with `query`
    /// (`key=value&…`, may be empty) as its options.
    pub fn url(&self, host: &str, query: &str) -> String {
        let url = format!("postgres://certcentral@{host}:{}/certcentral", self.port);
        if query.is_empty() {
            url
        } else {
            format!("{url}?{query}")
        }
    }
}

pub fn tls_cluster() -> &'static TlsCluster {
    static CLUSTER: OnceLock<TlsCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let (dir, _) = start_cluster(&["--ssl"]);
        let port = std::fs::read_to_string(dir.join("port"))
            .expect("the cluster's port file")
            .trim()
            .parse()
            .expect("a port number");
        TlsCluster { dir, port }
    })
}

/// Starts a cluster with `pg-test-cluster start DIR [flags]` and its watchdog:
/// its directory and URL.
fn start_cluster(flags: &[&str]) -> (PathBuf, String) {
    assert!(
        postgres_installed(),
        "the PostgreSQL store tests need a database: set {URL_VAR} \
         (e.g. postgres://certcentral@127.0.0.1:5432/certcentral) or install the server \
         (`apt-get install postgresql`) so the tests can start a throw-away cluster"
    );
    let dir = std::env::temp_dir().join(format!("cc-pg-{}", random_suffix()));
    std::fs::create_dir(&dir).expect("cluster directory");
    let script = script();
    let output = Command::new(&script)
        .arg("start")
        .arg(&dir)
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    // The watchdog first, so even a failed start is cleaned up.
    spawn_watchdog(&script, &dir);
    assert!(
        output.status.success(),
        "{} start failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let url = String::from_utf8(output.stdout)
        .expect("URL is UTF-8")
        .trim()
        .to_owned();
    (dir, url)
}

/// Stops the cluster once this process is gone. Its own process group, so a Ctrl-C
/// aimed at the tests does not kill it before it has cleaned up.
// Never waited for on purpose: it must outlive this process (then init reaps it).
#[allow(clippy::zombie_processes)]
fn spawn_watchdog(script: &Path, dir: &Path) {
    use std::os::unix::process::CommandExt;
    let watch = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; '{script}' stop '{dir}'; rm -rf '{dir}'",
        pid = std::process::id(),
        script = script.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(watch)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawning the cluster watchdog");
}
