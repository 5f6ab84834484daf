//! `ccc`: the certcentral command-line client.
//!
//! - `ccc keygen`: a signing key (P-256, P-384, Ed25519) to request certificates for;
//! - `ccc cert request`: a code-signing certificate from the Fulcio-compatible CA for an
//!   OIDC identity, proving possession of the key by a signature over the token's
//!   subject or by a CSR (see [`cert`]);
//! - `ccc bench ct`: a load generator for the RFC 6962 CT logs (see [`bench::ct`]);
//! - `ccc bench issue`: a load generator for the CA, reporting the achieved rate as a
//!   fraction of the crypto ceiling measured in the same run (see [`bench::issue`]);
//! - `ccc verify`: a certificate's path, embedded SCTs and inclusion (see [`verify_cmd`]);
//! - `ccc monitor`: follows CT logs and reports watched certificates (see [`monitor_cmd`]).
//! - `ccc register|login|push|revoke|rotate-api-key|search|get|trust|trusted`: the
//!   developer-certificate registry, with its log's proofs checked before anything is
//!   trusted (see [`registry`]).

mod bench;
mod cert;
mod ctapi;
mod error_text;
mod fulcio;
mod issued;
mod keygen;
mod monitor_cmd;
mod oidc;
mod registry;
mod request_key;
mod stats;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// certcentral command-line client.
#[derive(Debug, Parser)]
#[command(name = "ccc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load generators for certcentral services.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Certificates from the CA.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Generate a signing key (PKCS#8 PEM, mode 0600); prints the public key.
    Keygen(keygen::KeygenArgs),
    /// Follow CT logs: verify every tree head and entry, report watched certificates.
    Monitor(monitor_cmd::MonitorArgs),
    /// Verify a certificate: path to roots, embedded SCTs, SCT policy, inclusion.
    Verify(verify_cmd::VerifyArgs),
    /// Create a registry account for an OIDC identity; saves the API key.
    Register(registry::RegisterArgs),
    /// Save an existing registry API key.
    Login(registry::LoginArgs),
    /// Publish a code-signing certificate to the registry (proof of possession by CMS).
    Push(registry::PushArgs),
    /// Revoke one of your certificates in the registry.
    Revoke(registry::RevokeArgs),
    /// Replace the saved registry API key; the old one stops working.
    RotateApiKey(registry::RotateApiKeyArgs),
    /// Search the registry.
    Search(registry::SearchArgs),
    /// Download a certificate from the registry.
    Get(registry::GetArgs),
    /// Download a certificate, check the registry log's proofs, and trust it.
    Trust(registry::TrustArgs),
    /// The trusted certificates.
    #[command(subcommand)]
    Trusted(registry::TrustedCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(bench::BenchCommand::Ct(args)) => bench::ct::run(args),
        Command::Bench(bench::BenchCommand::Issue(args)) => bench::issue::run(args),
        Command::Bench(bench::BenchCommand::Registry(args)) => bench::registry::run(args),
        Command::Cert(cert::CertCommand::Request(args)) => {
            cert::run(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Keygen(args) => keygen::run(&args).map(|public_key| {
            eprintln!("private key written to {}", args.out.display());
            print!("{public_key}");
            ExitCode::SUCCESS
        }),
        Command::Monitor(args) => monitor_cmd::run(&args),
        Command::Verify(args) => verify_cmd::run(&args),
        Command::Register(args) => registry::register(&args),
        Command::Login(args) => registry::login(&args),
        Command::Push(args) => registry::push(&args),
        Command::Revoke(args) => registry::revoke(&args),
        Command::RotateApiKey(args) => registry::rotate_api_key(&args),
        Command::Search(args) => registry::search(&args),
        Command::Get(args) => registry::get(&args),
        Command::Trust(args) => registry::trust(&args),
        Command::Trusted(command) => registry::trusted(&command),
    };
    result.unwrap_or_else(|e| {
        eprintln!("ccc: {e:#}");
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bench_ct_parses_all_flags() {
        let cli = Cli::try_parse_from([
            "ccc",
            "bench",
            "ct",
            "--url",
            "http://127.0.0.1:8080/logs/dev-a",
            "--n",
            "1000",
            "--concurrency",
            "32",
            "--verify",
            "--read-proofs",
            "5000",
            "--server-pid",
            "42",
            "--json",
            "--threads",
            "3",
        ])
        .unwrap();
        let Command::Bench(bench::BenchCommand::Ct(a)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(a.n, 1000);
        assert_eq!(a.concurrency, 32);
        assert!(a.verify && a.json);
        assert_eq!(a.read_proofs, 5000);
        assert_eq!(a.server_pid, Some(42));
        assert_eq!(a.threads, 3);
        assert_eq!(
            a.root_cert,
            std::path::PathBuf::from("./ccc-bench-root.pem")
        );
    }

    #[test]
    fn bench_ct_rejects_zero_n_and_concurrency() {
        for flag in ["--n", "--concurrency"] {
            assert!(
                Cli::try_parse_from(["ccc", "bench", "ct", "--url", "http://h/l", flag, "0"])
                    .is_err()
            );
        }
    }

    #[test]
    fn bench_issue_parses_all_flags() {
        let cli = Cli::try_parse_from([
            "ccc",
            "bench",
            "issue",
            "--url",
            "http://127.0.0.1:18080",
            "--n",
            "20000",
            "-c",
            "1500",
            "--emails",
            "4",
            "--keys",
            "64",
            "--csr",
            "--json",
            "--server-pid",
            "7",
            "--ceiling-ms",
            "100",
        ])
        .unwrap();
        let Command::Bench(bench::BenchCommand::Issue(a)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.emails), (20_000, 1500, 4));
        assert_eq!(a.keys, Some(64));
        assert!(a.csr && a.json);
        assert_eq!(a.server_pid, Some(7));
        assert_eq!(a.ceiling_ms, 100);
    }

    #[test]
    fn bench_issue_defaults() {
        let cli = Cli::try_parse_from(["ccc", "bench", "issue", "--url", "http://h"]).unwrap();
        let Command::Bench(bench::BenchCommand::Issue(a)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.emails, a.keys), (1000, 64, 8, None));
        assert!(!a.csr && !a.json);
        for flag in ["--n", "--concurrency", "--emails", "--keys"] {
            assert!(
                Cli::try_parse_from(["ccc", "bench", "issue", "--url", "http://h", flag, "0"])
                    .is_err(),
                "{flag} 0 must be refused"
            );
        }
    }

    #[test]
    fn cert_request_parses_token_or_dev_email() {
        let cli = Cli::try_parse_from([
            "ccc",
            "cert",
            "request",
            "--url",
            "http://h",
            "--token",
            "-",
            "--key",
            "k.pem",
            "--csr",
            "-o",
            "chain.pem",
        ])
        .unwrap();
        let Command::Cert(cert::CertCommand::Request(a)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(a.token, Some(std::path::PathBuf::from("-")));
        assert_eq!(a.key, Some(std::path::PathBuf::from("k.pem")));
        assert_eq!(a.output, Some(std::path::PathBuf::from("chain.pem")));
        assert!(a.csr && a.dev_email.is_none());

        let cli = Cli::try_parse_from([
            "ccc",
            "cert",
            "request",
            "--url",
            "http://h",
            "--dev-email",
            "alice@example.com",
        ])
        .unwrap();
        let Command::Cert(cert::CertCommand::Request(a)) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(a.dev_email.as_deref(), Some("alice@example.com"));
        assert!(a.token.is_none() && a.key.is_none() && a.output.is_none() && !a.csr);
    }

    #[test]
    fn cert_request_needs_exactly_one_token_source() {
        let base = ["ccc", "cert", "request", "--url", "http://h"];
        assert!(Cli::try_parse_from(base).is_err(), "no token source");
        let both = [&base[..], &["--token", "t", "--dev-email", "a@b"]].concat();
        assert!(Cli::try_parse_from(both).is_err(), "two token sources");
    }
}
