//! `ccc`: the certcentral command-line client.
//!
//! `ccc bench ct`, a load generator for certcentral's RFC 6962 CT logs (see
//! [`bench::ct`]), and `ccc keygen` for the signing keys certificates are requested for.

mod bench;
mod ctapi;
mod keygen;
mod stats;

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
    /// Generate a signing key (PKCS#8 PEM, mode 0600); prints the public key.
    Keygen(keygen::KeygenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(bench::BenchCommand::Ct(args)) => bench::ct::run(args),
        Command::Keygen(args) => keygen::run(&args).map(|public_key| {
            eprintln!("private key written to {}", args.out.display());
            print!("{public_key}");
            ExitCode::SUCCESS
        }),
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
}
