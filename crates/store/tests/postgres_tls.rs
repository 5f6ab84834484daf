//! TLS to PostgreSQL against a real server with `ssl=on`: each `sslmode` gets exactly
//! the protection libpq gives it
//! (<https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-SSLMODE-STATEMENTS>),
//! the stores and the sequencer lease work over it, and bad settings are clear
//! errors.
//!
//! The TLS cluster is this process's own (`common::postgres::tls_cluster`): TCP there
//! is TLS-only and its certificate is for `localhost` and 127.0.0.1. The cluster of
//! `database_url()` (CI's, or a private one) is plain, and stands for a server without
//! TLS.

mod common;

use common::postgres::{TlsCluster, database_url, tls_cluster, unique_name};
use store::conformance::{assert_batch_stored, sample_batch};
use store::postgres::{PgConfig, PgLogStore, PgPool, PgRegistryStore, SslMode};
use store::registry::{CreateAccount, NewAccount, RegistryStore};
use store::shared::SequencerLease;
use store::{LogStore, StoreError};

/// `verify-full` against the cluster's CA, at `host`.
fn verify_full_url(cluster: &TlsCluster, host: &str) -> String {
    cluster.url(
        host,
        &format!("sslmode=verify-full&sslrootcert={}", cluster.ca().display()),
    )
}

fn connect(connection_string: &str) -> store::Result<postgres::Client> {
    PgConfig::parse(connection_string)?.connect()
}

/// Whether the session of `client` is encrypted, as the server sees it.
fn session_is_encrypted(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("pg_stat_ssl")
        .get(0)
}

fn connect_error(connection_string: &str) -> String {
    match connect(connection_string) {
        Ok(_) => panic!("connected with {connection_string}"),
        Err(e) => e.to_string(),
    }
}

/// The same connection settings as key=value, to name a host the certificate is not
/// for while still reaching the server (`hostaddr`).
fn key_value(cluster: &TlsCluster, host: &str, tls: &str) -> String {
    format!(
        "host={host} hostaddr=127.0.0.1 port={} user=certcentral dbname=certcentral {tls}",
        cluster.port()
    )
}

#[test]
fn verify_full_with_the_right_ca_connects_encrypted() {
    let cluster = tls_cluster();
    for host in ["localhost", "127.0.0.1"] {
        let config = PgConfig::parse(&verify_full_url(cluster, host)).expect("config");
        assert_eq!(config.ssl_mode(), SslMode::VerifyFull);
        let mut client = config.connect().expect("verify-full connects");
        assert!(session_is_encrypted(&mut client), "{host}");
    }
}

#[test]
fn verify_full_refuses_a_host_name_not_in_the_certificate() {
    let cluster = tls_cluster();
    let tls = format!("sslmode=verify-full sslrootcert={}", cluster.ca().display());
    connect(&key_value(cluster, "localhost", &tls))
        .expect("the same settings connect under a name in the certificate");
    let error = connect_error(&key_value(cluster, "db.not-in-the-cert.example", &tls));
    assert!(error.contains("certificate not valid for name"), "{error}");
}

/// `sslrootcert=system` trusts the platform's roots, which never include the test CA.
/// (On a machine without a trust store, it is refused at start instead.)
#[test]
fn system_roots_do_not_trust_a_private_ca() {
    let cluster = tls_cluster();
    let error = connect_error(&cluster.url("localhost", "sslrootcert=system"));
    assert!(
        error.contains("UnknownIssuer") || error.contains("no trusted roots found"),
        "{error}"
    );
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_name() {
    let cluster = tls_cluster();
    let right = format!("sslmode=verify-ca sslrootcert={}", cluster.ca().display());
    let mut client = connect(&key_value(cluster, "db.not-in-the-cert.example", &right))
        .expect("verify-ca does not check the host name");
    assert!(session_is_encrypted(&mut client));

    let wrong = format!(
        "sslmode=verify-ca sslrootcert={}",
        cluster.other_ca().display()
    );
    let error = connect_error(&key_value(cluster, "localhost", &wrong));
    assert!(error.contains("UnknownIssuer"), "{error}");
}

#[test]
fn require_encrypts_without_a_ca() {
    let cluster = tls_cluster();
    let mut client =
        connect(&cluster.url("127.0.0.1", "sslmode=require")).expect("require connects");
    assert!(session_is_encrypted(&mut client));
}

/// libpq: "if a root CA file exists, the behavior of sslmode=require will be the same
/// as that of verify-ca".
#[test]
fn require_with_a_ca_checks_the_chain() {
    let cluster = tls_cluster();
    let query = format!(
        "sslmode=require&sslrootcert={}",
        cluster.other_ca().display()
    );
    let error = connect_error(&cluster.url("localhost", &query));
    assert!(error.contains("UnknownIssuer"), "{error}");
}

/// libpq's default, `prefer`, encrypts when the server offers TLS.
#[test]
fn prefer_encrypts_when_the_server_offers_tls() {
    let cluster = tls_cluster();
    let config = PgConfig::parse(&cluster.url("127.0.0.1", "")).expect("config");
    assert_eq!(config.ssl_mode(), SslMode::Prefer);
    let mut client = config.connect().expect("prefer connects");
    assert!(session_is_encrypted(&mut client));
}

#[test]
fn disable_is_refused_by_a_tls_only_server() {
    let cluster = tls_cluster();
    let error = connect_error(&cluster.url("127.0.0.1", "sslmode=disable"));
    assert!(error.contains("pg_hba.conf"), "{error}");
}

#[test]
fn require_fails_against_a_server_without_tls() {
    let plain = database_url();
    let separator = if plain.contains('?') { '&' } else { '?' };
    let error = connect_error(&format!("{plain}{separator}sslmode=require"));
    assert!(error.contains("server does not support TLS"), "{error}");
    // The same server is reachable in the default mode: it is the TLS that failed.
    let mut client = connect(plain).expect("prefer falls back to plain");
    assert!(!session_is_encrypted(&mut client));
}

/// SCRAM over TLS binds the password exchange to the session (SCRAM-SHA-256-PLUS with
/// `tls-server-end-point`): `channel_binding=require` only connects if the binding
/// data we compute from the server's certificate is what the server computes.
#[test]
fn scram_channel_binding_works_over_tls() {
    let cluster = tls_cluster();
    let role = unique_name();
    let mut admin = connect(&verify_full_url(cluster, "localhost")).expect("admin");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE password_login"
        ))
        .expect("create role");
    for tls in [
        format!("sslmode=verify-full&sslrootcert={}", cluster.ca().display()),
        "sslmode=require".to_owned(),
    ] {
        let url = format!(
            "postgres://{role}:pw-{role}@localhost:{}/certcentral?channel_binding=require&{tls}",
            cluster.port()
        );
        let mut client = connect(&url).unwrap_or_else(|e| panic!("{tls}: {e}"));
        assert!(session_is_encrypted(&mut client));
    }
    let wrong = format!(
        "postgres://{role}:not-the-password@localhost:{}/certcentral?sslmode=require",
        cluster.port()
    );
    let error = connect_error(&wrong);
    assert!(error.contains("password authentication failed"), "{error}");
}

/// A config of `url` on a new, empty schema of its own, whose connections are named
/// after the schema.
fn config_on_fresh_schema(url: &str) -> (PgConfig, String) {
    let schema = unique_name();
    let mut config = PgConfig::parse(url).expect("config");
    config
        .connect()
        .expect("connect")
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    config
        .settings_mut()
        .options(&format!("-c search_path={schema}"))
        .application_name(&schema);
    (config, schema)
}

/// How many of the connections named `schema` are encrypted, and how many there are.
fn encrypted_connections(cluster: &TlsCluster, schema: &str) -> (i64, i64) {
    let mut client = connect(&verify_full_url(cluster, "localhost")).expect("observer");
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*)
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
             WHERE a.application_name = $1",
            &[&schema],
        )
        .expect("pg_stat_activity");
    (row.get(0), row.get(1))
}

#[test]
fn stores_work_over_verify_full() {
    let cluster = tls_cluster();
    let (config, schema) = config_on_fresh_schema(&verify_full_url(cluster, "localhost"));
    let pool = PgPool::with_config(config, 2).expect("pool");

    let log = PgLogStore::open(&pool, "tls-log").expect("open log store");
    let batch = sample_batch(0..3, 1_000);
    log.commit_batch(&batch).expect("commit over TLS");
    assert_batch_stored(&log, &batch);

    let registry = PgRegistryStore::open(&pool).expect("open registry store");
    let account = NewAccount {
        issuer: "https://issuer.example".into(),
        subject: "tls-subject".into(),
        username: "tls-user".into(),
        api_key_hash: [7; 32],
        created_ms: 1,
    };
    let CreateAccount::Created(created) = registry.create_account(&account).expect("create") else {
        panic!("a fresh registry has no such account");
    };
    let found = registry
        .account_by_identity("https://issuer.example", "tls-subject")
        .expect("read over TLS");
    assert_eq!(found, Some(created));

    let (encrypted, all) = encrypted_connections(cluster, &schema);
    assert!(all > 0, "the pool's connections are open");
    assert_eq!(encrypted, all, "every pooled connection is encrypted");
}

#[test]
fn sequencer_lease_is_acquired_over_tls() {
    let cluster = tls_cluster();
    let (config, _) = config_on_fresh_schema(&verify_full_url(cluster, "localhost"));
    let pool = PgPool::with_config(config, 2).expect("pool");
    let log = PgLogStore::open(&pool, "tls-leased").expect("open");
    let mut lease = log
        .try_acquire_pg_lease()
        .expect("acquire over TLS")
        .expect("the lease is free");
    assert!(lease.is_held());
    let batch = sample_batch(0..2, 1_000);
    lease.commit(&batch, &[]).expect("commit through the lease");
    assert_batch_stored(&log, &batch);

    let mut observer = connect(&verify_full_url(cluster, "localhost")).expect("observer");
    let encrypted: bool = observer
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = $1",
            &[&lease.backend_pid()],
        )
        .expect("the lease's session")
        .get(0);
    assert!(encrypted, "the lease's session is encrypted");
}

#[test]
fn bad_tls_settings_are_clear_errors() {
    let cluster = tls_cluster();
    let with = |query: &str| {
        format!(
            "postgres://certcentral:s3cret-pw@localhost:{}/certcentral?{query}",
            cluster.port()
        )
    };
    let missing = cluster.ca().with_file_name("missing.pem");
    for (query, names) in [
        ("sslmode=verify-fulll".to_owned(), "sslmode"),
        ("sslmode=allow".to_owned(), "sslmode"),
        ("sslmode=verify-full".to_owned(), "sslrootcert"),
        ("sslmode=verify-ca".to_owned(), "sslrootcert"),
        (
            format!("sslmode=verify-full&sslrootcert={}", missing.display()),
            "missing.pem",
        ),
        (
            "sslmode=require&sslrootcert=system".to_owned(),
            "sslrootcert=system",
        ),
    ] {
        let error = PgPool::connect(&with(&query)).expect_err(&query);
        assert!(matches!(error, StoreError::Config(_)), "{query}: {error:?}");
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(text.contains(names), "{query}: {text}");
            assert!(!text.contains("s3cret-pw"), "{query}: {text}");
        }
    }
}
