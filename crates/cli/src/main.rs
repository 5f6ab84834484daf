//! `ccc`: the certcentral command-line client.
//!
//! - `ccc keygen`: a signing key (P-256, P-384, Ed25519) to request certificates for;
//! - `ccc cert request`: a code-signing certificate from the Fulcio-compatible CA for an
//!   OIDC identity, proving possession of the key by a signature over the token's
//!   subject or by a CSR (see [`cert`]);
//! - `ccc verify`: a certificate's path, embedded SCTs and inclusion (see [`verify_cmd`]);
//! - `ccc monitor`: follows CT logs and reports watched certificates (see [`monitor_cmd`]).
//! - `ccc register|login|push|revoke|rotate-api-key|search|get|trust|trusted`: the
//!   developer-certificate registry, with its log's proofs checked before anything is
//!   trusted (see [`registry`]).

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, cert, keygen, monitor_cmd, registry, sigstore, verify_cmd};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
        Command::Sign(args) => sigstore::sign::run(&args),
        Command::VerifyBlob(args) => sigstore::verify_blob::run(&args),
        Command::TrustRoot(command) => sigstore::trust_root::run(&command),
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
