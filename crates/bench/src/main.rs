//! `certcentral-bench`: load generators for certcentral services, built on the client
//! code of `ccc` (the `cli` library).
//!
//! - `certcentral-bench ct`: an RFC 6962 CT log (see [`ct`]);
//! - `certcentral-bench issue`: the CA, reporting the achieved rate as a fraction of the
//!   crypto ceiling measured in the same run (see [`issue`]);
//! - `certcentral-bench registry`: the developer-certificate registry (see [`registry`]);
//! - `certcentral-bench tsa`: the RFC 3161 time-stamp authority, against the same run's
//!   P-256 signing ceiling (see [`tsa`]);
//! - `certcentral-bench rekor`: an artifact-signature log's entry submissions, against
//!   the same run's crypto ceiling of an entry (see [`rekor`]);
//! - `certcentral-bench verify-blob`: `ccc verify-blob` over a directory of bundles,
//!   against the same run's P-256 verify rate (see [`verify_blob`]).

mod certs;
mod crypto_ceiling;
mod ct;
mod ctapi;
mod http;
mod issue;
mod load;
mod registry;
mod rekor;
mod rss;
mod stats;
mod tsa;
mod verify_blob;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Load generators for certcentral services.
#[derive(Debug, Parser)]
#[command(name = "certcentral-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

/// What to load.
#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Load an RFC 6962 CT log: add-chain submissions, then (optionally) proof reads.
    Ct(ct::CtBenchArgs),
    /// Load the CA: Fulcio v2 `signingCert` requests with dev OIDC tokens, compared with
    /// the signing cost measured on this machine in the same run.
    Issue(issue::IssueBenchArgs),
    /// Load the registry of a `--dev` server: push N certificates (challenge + CMS),
    /// then `getusercert` look-ups against a same-run baseline.
    Registry(registry::RegistryBenchArgs),
    /// Load the time-stamp authority: DER RFC 3161 requests, compared with the P-256
    /// signing rate measured on this machine in the same run.
    Tsa(tsa::TsaBenchArgs),
    /// Load an artifact-signature log: new hashedrekord entries through its Rekor API,
    /// compared with the crypto cost of an entry measured on this machine in the same
    /// run.
    Rekor(rekor::RekorBenchArgs),
    /// Verify a directory of sigstore bundles as `ccc verify-blob` does (signed first
    /// against a `--dev` server), compared with the P-256 verifications a bundle needs.
    VerifyBlob(verify_blob::VerifyBlobBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        BenchCommand::Ct(args) => ct::run(args),
        BenchCommand::Issue(args) => issue::run(args),
        BenchCommand::Registry(args) => registry::run(args),
        BenchCommand::Tsa(args) => tsa::run(args),
        BenchCommand::Rekor(args) => rekor::run(args),
        BenchCommand::VerifyBlob(args) => verify_blob::run(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("certcentral-bench: {e:#}");
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
            "certcentral-bench",
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
        let BenchCommand::Ct(a) = cli.command else {
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
                Cli::try_parse_from(["certcentral-bench", "ct", "--url", "http://h/l", flag, "0"])
                    .is_err()
            );
        }
    }

    #[test]
    fn bench_issue_parses_all_flags() {
        let cli = Cli::try_parse_from([
            "certcentral-bench",
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
        let BenchCommand::Issue(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.emails), (20_000, 1500, 4));
        assert_eq!(a.keys, Some(64));
        assert!(a.csr && a.json);
        assert_eq!(a.server_pid, Some(7));
        assert_eq!(a.ceiling_ms, 100);
    }

    #[test]
    fn bench_tsa_parses_its_flags() {
        let cli = Cli::try_parse_from([
            "certcentral-bench",
            "tsa",
            "--url",
            "http://127.0.0.1:8080",
            "--n",
            "50000",
            "-c",
            "128",
        ])
        .unwrap();
        let BenchCommand::Tsa(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.requests), (50_000, 128, 256));
        assert!(
            Cli::try_parse_from(["certcentral-bench", "tsa", "--url", "http://h", "--n", "0"])
                .is_err()
        );
    }

    #[test]
    fn bench_rekor_parses_its_flags_and_defaults() {
        let cli = Cli::try_parse_from([
            "certcentral-bench",
            "rekor",
            "--url",
            "http://127.0.0.1:8080",
        ])
        .unwrap();
        let BenchCommand::Rekor(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.keys), (20_000, 256, None));
        assert_eq!((a.log.as_str(), a.api), ("dev-v1", None));
        let cli = Cli::try_parse_from([
            "certcentral-bench",
            "rekor",
            "--url",
            "http://h",
            "--log",
            "prod",
            "--api",
            "2",
            "--log-key",
            "k.pem",
            "--n",
            "5",
            "-c",
            "2",
            "--keys",
            "1",
            "--server-pid",
            "9",
            "--json",
        ])
        .unwrap();
        let BenchCommand::Rekor(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.keys), (5, 2, Some(1)));
        assert_eq!((a.log.as_str(), a.api), ("prod", Some(rekor::Api::V2)));
        assert_eq!(a.log_key, Some(std::path::PathBuf::from("k.pem")));
        assert!(a.json && a.server_pid == Some(9));
        for bad in [
            ["--api", "3"],
            ["--log", "a/b"],
            ["--n", "0"],
            ["--keys", "0"],
        ] {
            let mut args = vec!["certcentral-bench", "rekor", "--url", "http://h"];
            args.extend(bad);
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bench_issue_defaults() {
        let cli = Cli::try_parse_from(["certcentral-bench", "issue", "--url", "http://h"]).unwrap();
        let BenchCommand::Issue(a) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!((a.n, a.concurrency, a.emails, a.keys), (1000, 64, 8, None));
        assert!(!a.csr && !a.json);
        for flag in ["--n", "--concurrency", "--emails", "--keys"] {
            assert!(
                Cli::try_parse_from(["certcentral-bench", "issue", "--url", "http://h", flag, "0"])
                    .is_err(),
                "{flag} 0 must be refused"
            );
        }
    }
}
