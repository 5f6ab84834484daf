//! Connection settings: a libpq connection string (URL or `key=value` form) with
//! libpq's TLS options, and the one function that connects with them — used by the
//! pool and by the sequencer lease's connection alike.
//!
//! Why we read the TLS options ourselves: `postgres::Config` knows `sslmode` only as
//! disable | prefer | require, and no `sslrootcert`. So `sslmode` and `sslrootcert` are
//! taken out of the string here, with libpq's meaning
//! (<https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION>),
//! and the rest goes to `postgres::Config` unchanged.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use ::postgres::config::SslMode as ClientSslMode;
use ::postgres::{Client, Config, NoTls};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::tls::{RustlsConnector, ServerCheck, client_config};
use crate::{Result, StoreError};

/// libpq's `sslmode`: whether the session is encrypted, and what is checked of the
/// server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Never encrypted.
    Disable,
    /// Encrypted if the server offers TLS, plain otherwise (libpq's default). The
    /// certificate is checked only if `sslrootcert` is given.
    Prefer,
    /// Always encrypted; the certificate is checked only if `sslrootcert` is given
    /// (then as `VerifyCa`).
    Require,
    /// Encrypted, and the server's chain must end at a root of `sslrootcert`.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must be for the host connected to.
    VerifyFull,
}

impl SslMode {
    /// The mode's name in a connection string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            "allow" => {
                return Err(StoreError::Config(
                    "sslmode=allow is not supported: use prefer or require".into(),
                ));
            }
            other => {
                return Err(StoreError::Config(format!(
                    "invalid sslmode `{other}`: expected disable, prefer, require, verify-ca or verify-full"
                )));
            }
        })
    }
}

/// libpq's `sslrootcert`: the trusted roots.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RootCerts {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`: the platform's trust store.
    System,
}

impl RootCerts {
    fn parse(value: &str) -> Result<Self> {
        match value {
            "" => Err(StoreError::Config("sslrootcert is empty".into())),
            "system" => Ok(Self::System),
            path => Ok(Self::File(PathBuf::from(path))),
        }
    }

    /// Read at start-up, not at each connection: a missing or unreadable file fails
    /// the pool's creation. (libpq silently skips a missing file under
    /// `prefer`/`require`; a file the operator named is never skipped here.)
    fn load(&self) -> Result<RootCertStore> {
        let mut store = RootCertStore::empty();
        let certs: Vec<CertificateDer<'static>> = match self {
            Self::File(path) => CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect())
                .map_err(|e| StoreError::Config(format!("sslrootcert {}: {e}", path.display())))?,
            Self::System => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    let why = found.errors.first().map(ToString::to_string);
                    return Err(StoreError::Config(format!(
                        "sslrootcert=system: no trusted roots found on this system{}",
                        why.map(|why| format!(" ({why})")).unwrap_or_default()
                    )));
                }
                found.certs
            }
        };
        let (_, unusable) = store.add_parsable_certificates(certs);
        if store.is_empty() {
            return Err(StoreError::Config(format!(
                "sslrootcert {}: no usable CA certificate in it ({unusable} rejected)",
                self.describe()
            )));
        }
        Ok(store)
    }

    fn describe(&self) -> Cow<'_, str> {
        match self {
            Self::File(path) => path.to_string_lossy(),
            Self::System => "system".into(),
        }
    }
}

/// Where and how to connect: a `postgres::Config` plus TLS as libpq's `sslmode` and
/// `sslrootcert` ask for it. Cheap to clone: the TLS configuration, roots included,
/// is built once and shared.
#[derive(Clone)]
pub struct PgConfig {
    postgres: Config,
    ssl_mode: SslMode,
    root_certs: Option<RootCerts>,
    /// `None` for `SslMode::Disable`.
    tls: Option<RustlsConnector>,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `postgres::Config`'s Debug prints the password as `_`.
        f.debug_struct("PgConfig")
            .field("postgres", &self.postgres)
            .field("ssl_mode", &self.ssl_mode)
            .field("root_certs", &self.root_certs)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for PgConfig {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A bare `postgres::Config` keeps its own `sslmode` (disable, prefer or require),
/// with no certificate check.
impl From<Config> for PgConfig {
    fn from(postgres: Config) -> Self {
        let ssl_mode = match postgres.get_ssl_mode() {
            ClientSslMode::Disable => SslMode::Disable,
            ClientSslMode::Require => SslMode::Require,
            _ => SslMode::Prefer,
        };
        Self::new(postgres, ssl_mode, None)
            .expect("building a TLS configuration without roots cannot fail")
    }
}

impl PgConfig {
    /// Parses a `postgres://user[:password]@host[:port]/dbname[?options]` URL or a
    /// `key=value` connection string. `sslmode` and `sslrootcert` have libpq's meaning
    /// (see [`SslMode`]; `sslrootcert=system` means the platform's trust store and
    /// makes `verify-full` the default mode); the roots are read here.
    pub fn parse(connection_string: &str) -> Result<Self> {
        let (rest, options) = take_tls_options(connection_string)?;
        let postgres: Config = rest.parse()?;
        let (ssl_mode, root_certs) = options.resolve()?;
        Self::new(postgres, ssl_mode, root_certs)
    }

    fn new(mut postgres: Config, ssl_mode: SslMode, root_certs: Option<RootCerts>) -> Result<Self> {
        postgres.ssl_mode(match ssl_mode {
            SslMode::Disable => ClientSslMode::Disable,
            SslMode::Prefer => ClientSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => ClientSslMode::Require,
        });
        let roots = match &root_certs {
            Some(roots) if ssl_mode != SslMode::Disable => Some(roots.load()?),
            _ => None,
        };
        let check = match (ssl_mode, roots) {
            (SslMode::Disable, _) => None,
            (SslMode::VerifyFull, Some(roots)) => Some(ServerCheck::ChainAndName(roots)),
            (_, Some(roots)) => Some(ServerCheck::Chain(roots)),
            (_, None) => Some(ServerCheck::Nothing),
        };
        let tls = check
            .map(|check| {
                client_config(check)
                    .map(|config| RustlsConnector(Arc::new(config)))
                    .map_err(|e| StoreError::Config(format!("TLS configuration: {e}")))
            })
            .transpose()?;
        Ok(Self {
            postgres,
            ssl_mode,
            root_certs,
            tls,
        })
    }

    /// The TLS mode connections use.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The client settings other than TLS, to adjust (keepalives, `options`,
    /// `application_name`…). Its `ssl_mode` is managed by this type: set
    /// `sslmode` in the connection string instead.
    pub fn settings_mut(&mut self) -> &mut Config {
        &mut self.postgres
    }

    /// Opens one connection. Blocking (the `postgres` client runs a runtime of its
    /// own): from async code, call it where blocking is allowed.
    pub fn connect(&self) -> Result<Client> {
        Ok(match &self.tls {
            Some(tls) => self.postgres.connect(tls.clone())?,
            None => self.postgres.connect(NoTls)?,
        })
    }
}

/// The TLS options found in a connection string, before libpq's rules are applied.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsOptions {
    ssl_mode: Option<SslMode>,
    root_certs: Option<RootCerts>,
}

impl TlsOptions {
    /// Takes `key=value` if it is a TLS option; the last of repeated keys wins, as in
    /// libpq.
    fn take(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            "sslmode" => self.ssl_mode = Some(SslMode::parse(value)?),
            "sslrootcert" => self.root_certs = Some(RootCerts::parse(value)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The mode and roots libpq would use. libpq 16+: `sslrootcert=system` makes
    /// `verify-full` the default, and "weaker modes will result in an error" (the
    /// public roots vouch for any name, so only a name check means anything);
    /// `verify-ca`/`verify-full` without roots cannot check anything, so they are
    /// refused rather than quietly weakened.
    fn resolve(self) -> Result<(SslMode, Option<RootCerts>)> {
        let mode = match (self.ssl_mode, &self.root_certs) {
            (None, Some(RootCerts::System)) => SslMode::VerifyFull,
            (Some(mode), Some(RootCerts::System)) if mode != SslMode::VerifyFull => {
                return Err(StoreError::Config(
                    "sslrootcert=system needs sslmode=verify-full (any certificate from a public CA would pass a weaker check)".into(),
                ));
            }
            (Some(mode), _) => mode,
            (None, _) => SslMode::Prefer,
        };
        if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && self.root_certs.is_none() {
            return Err(StoreError::Config(format!(
                "sslmode={} needs sslrootcert=FILE (PEM CA certificates) or sslrootcert=system",
                mode.as_str()
            )));
        }
        Ok((mode, self.root_certs))
    }
}

/// Splits the TLS options off a connection string: the string without them (for
/// `postgres::Config`) and the options. Errors never quote the string: it may hold a
/// password.
fn take_tls_options(connection_string: &str) -> Result<(String, TlsOptions)> {
    if connection_string.starts_with("postgres://")
        || connection_string.starts_with("postgresql://")
    {
        take_from_url(connection_string)
    } else {
        take_from_key_values(connection_string)
    }
}

/// URL form: options are the `&`-separated, percent-encoded `key=value`s after `?`.
/// The query starts at the first `?` after the first `@`, because `postgres::Config`
/// reads credentials up to the first `@` (a password may hold a `?`).
fn take_from_url(url: &str) -> Result<(String, TlsOptions)> {
    let authority = url.find('@').map_or(0, |at| at + 1);
    let Some(query_start) = url[authority..].find('?').map(|i| authority + i) else {
        return Ok((url.to_owned(), TlsOptions::default()));
    };
    let mut options = TlsOptions::default();
    let mut kept = Vec::new();
    for pair in url[query_start + 1..].split('&').filter(|p| !p.is_empty()) {
        let taken = match pair.split_once('=') {
            Some((key, value)) => {
                let key = percent_decode(key, "a URL parameter name")?;
                // Only decode values of our keys: others may be secrets, and their
                // decoding errors are `postgres::Config`'s to report.
                matches!(&*key, "sslmode" | "sslrootcert")
                    && options.take(&key, &percent_decode(value, &key)?)?
            }
            None => false,
        };
        if !taken {
            kept.push(pair);
        }
    }
    let mut rest = url[..query_start].to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok((rest, options))
}

fn percent_decode<'a>(s: &'a str, what: &str) -> Result<Cow<'a, str>> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| StoreError::Config(format!("{what} is not UTF-8 once percent-decoded")))
}

/// `key=value` form, read as libpq reads it: whitespace around `=` is allowed, a
/// value is either bare (up to whitespace) or in single quotes, and a backslash
/// escapes the next character in either.
fn take_from_key_values(s: &str) -> Result<(String, TlsOptions)> {
    let mut options = TlsOptions::default();
    let mut kept = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let start = s.len() - rest.len();
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let Some(after_eq) = rest[key_end..].trim_start().strip_prefix('=') else {
            // Only the position: the text might be part of a password.
            return Err(StoreError::Config(format!(
                "connection string: expected `=` after the keyword at byte {start}"
            )));
        };
        let (value, after_value) = key_value(after_eq.trim_start(), key, start)?;
        let end = s.len() - after_value.len();
        if !options.take(key, &value)? {
            kept.push(&s[start..end]);
        }
        rest = after_value;
    }
    Ok((kept.join(" "), options))
}

/// One value at the start of `s`, unescaped, and what follows it.
fn key_value<'a>(s: &'a str, key: &str, at: usize) -> Result<(String, &'a str)> {
    let (quoted, body) = match s.strip_prefix('\'') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            '\'' if quoted => return Ok((value, &body[i + 1..])),
            c if c.is_whitespace() && !quoted => return Ok((value, &body[i..])),
            c => value.push(c),
        }
    }
    if quoted {
        return Err(StoreError::Config(format!(
            "connection string: unterminated quoted value of {}",
            keyword_at(key, at)
        )));
    }
    if value.is_empty() {
        return Err(StoreError::Config(format!(
            "connection string: no value for {}",
            keyword_at(key, at)
        )));
    }
    Ok((value, ""))
}

/// A keyword for an error message: by name if it is one of ours, else by position,
/// since in a malformed string a "keyword" may be a piece of a password.
fn keyword_at(key: &str, at: usize) -> String {
    if matches!(key, "sslmode" | "sslrootcert") {
        format!("`{key}`")
    } else {
        format!("the keyword at byte {at}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> (String, TlsOptions) {
        take_tls_options(s).expect("parses")
    }

    fn options(ssl_mode: Option<SslMode>, root_certs: Option<&str>) -> TlsOptions {
        TlsOptions {
            ssl_mode,
            root_certs: root_certs.map(|r| RootCerts::parse(r).expect("roots")),
        }
    }

    fn config_error(s: &str) -> String {
        match PgConfig::parse(s) {
            Err(StoreError::Config(message)) => message,
            other => panic!("expected a configuration error for {s}, got {other:?}"),
        }
    }

    #[test]
    fn url_without_tls_options_is_unchanged() {
        for url in [
            "postgres://u:p@h:5432/db",
            "postgresql://h/db?application_name=x&connect_timeout=5",
            "postgres://h",
        ] {
            assert_eq!(split(url), (url.to_owned(), TlsOptions::default()));
        }
    }

    #[test]
    fn url_tls_options_are_taken_out_and_the_rest_kept_in_order() {
        let (rest, found) = split(
            "postgres://u:p@db.example.com:5432/cc?application_name=a&sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5",
        );
        assert_eq!(
            rest,
            "postgres://u:p@db.example.com:5432/cc?application_name=a&connect_timeout=5"
        );
        assert_eq!(
            found,
            options(Some(SslMode::VerifyFull), Some("/etc/ca.pem"))
        );

        let (rest, found) = split("postgres://h/db?sslmode=require");
        assert_eq!(rest, "postgres://h/db");
        assert_eq!(found, options(Some(SslMode::Require), None));
    }

    #[test]
    fn url_values_are_percent_decoded() {
        let (_, found) =
            split("postgres://h/db?sslrootcert=%2Fsecrets%2Fmy%20ca.pem&ssl%6Dode=verify-ca");
        assert_eq!(
            found,
            options(Some(SslMode::VerifyCa), Some("/secrets/my ca.pem"))
        );
    }

    /// `postgres::Config` reads credentials up to the first `@`: a `?` before it is
    /// part of the password, not the start of the options.
    #[test]
    fn url_question_mark_in_password_is_not_the_query() {
        let url = "postgres://u:pa?ss&sslmode=disable@h/db?sslmode=require";
        let (rest, found) = split(url);
        assert_eq!(rest, "postgres://u:pa?ss&sslmode=disable@h/db");
        assert_eq!(found, options(Some(SslMode::Require), None));
    }

    #[test]
    fn key_value_tls_options_are_taken_out() {
        let (rest, found) = split(
            "host=db.example.com  sslmode = verify-full user=cc sslrootcert='/etc/my ca.pem' password='a b\\'c'",
        );
        assert_eq!(rest, "host=db.example.com user=cc password='a b\\'c'");
        assert_eq!(
            found,
            options(Some(SslMode::VerifyFull), Some("/etc/my ca.pem"))
        );
        let config: Config = rest.parse().expect("the rest parses");
        assert_eq!(config.get_password(), Some(&b"a b'c"[..]));
    }

    #[test]
    fn key_value_escapes_in_bare_values() {
        let (_, found) = split("sslrootcert=/a\\ b.pem host=h");
        assert_eq!(found, options(None, Some("/a b.pem")));
    }

    #[test]
    fn last_repeated_option_wins() {
        let (_, found) = split("sslmode=disable sslmode=require");
        assert_eq!(found.ssl_mode, Some(SslMode::Require));
    }

    #[test]
    fn default_mode_is_prefer_and_system_roots_mean_verify_full() {
        assert_eq!(
            options(None, None).resolve().unwrap(),
            (SslMode::Prefer, None)
        );
        assert_eq!(
            options(None, Some("system")).resolve().unwrap(),
            (SslMode::VerifyFull, Some(RootCerts::System))
        );
        assert_eq!(
            options(None, Some("/ca.pem")).resolve().unwrap().0,
            SslMode::Prefer
        );
    }

    #[test]
    fn unknown_sslmode_is_an_error_naming_the_option() {
        let message = config_error("postgres://u:secret@h/db?sslmode=verify_full");
        assert!(message.contains("sslmode"), "{message}");
        assert!(message.contains("verify_full"), "{message}");
        assert!(!message.contains("secret"), "{message}");
        assert!(config_error("host=h sslmode=allow").contains("sslmode=allow"));
        assert!(config_error("host=h sslmode=").contains("sslmode"));
    }

    #[test]
    fn verification_without_roots_is_an_error() {
        assert!(config_error("postgres://h/db?sslmode=verify-full").contains("sslrootcert"));
        assert!(config_error("host=h sslmode=verify-ca").contains("sslrootcert"));
    }

    #[test]
    fn system_roots_with_a_weaker_mode_are_an_error() {
        let message = config_error("host=h sslmode=require sslrootcert=system");
        assert!(message.contains("sslrootcert=system"), "{message}");
    }

    #[test]
    fn missing_or_empty_root_file_is_an_error_naming_it() {
        let message = config_error("host=h sslmode=verify-ca sslrootcert=/nonexistent/ca.pem");
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let message = config_error(&format!(
            "host=h sslmode=verify-ca sslrootcert={}",
            empty.display()
        ));
        assert!(message.contains("sslrootcert"), "{message}");
        assert!(config_error("host=h sslrootcert=''").contains("sslrootcert"));
    }

    #[test]
    fn malformed_key_value_strings_are_errors_without_their_text() {
        let message = config_error("host=h password=hunter2 oops");
        assert!(!message.contains("oops"), "{message}");
        let message = config_error("host=h password='unterminated");
        assert!(message.contains("unterminated"), "{message}");
        assert!(!message.contains("password"), "{message}");
        let message = config_error("host=h password=hunter2 oops=");
        assert!(!message.contains("oops"), "{message}");
    }

    #[test]
    fn unknown_options_stay_postgres_configs_errors() {
        assert!(matches!(
            PgConfig::parse("postgres://h/db?sslcompression=1"),
            Err(StoreError::Postgres(_))
        ));
    }

    #[test]
    fn plain_config_keeps_its_ssl_mode() {
        let mut config = Config::new();
        config.host("h").ssl_mode(ClientSslMode::Disable);
        assert_eq!(PgConfig::from(config).ssl_mode(), SslMode::Disable);
        assert_eq!(PgConfig::from(Config::new()).ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let config = PgConfig::parse("postgres://u:hunter2@h/db?sslmode=require").expect("parses");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("Require"), "{debug}");
    }
}
