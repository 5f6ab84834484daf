//! `ccc bench …`: load generators for certcentral services.

pub mod certs;
pub mod crypto_ceiling;
pub mod ct;
pub mod http;
pub mod issue;
pub mod registry;
pub mod rss;

use clap::Subcommand;

/// What to load.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load an RFC 6962 CT log: add-chain submissions, then (optionally) proof reads.
    Ct(ct::CtBenchArgs),
    /// Load the CA: Fulcio v2 `signingCert` requests with dev OIDC tokens, compared with
    /// the signing cost measured on this machine in the same run.
    Issue(issue::IssueBenchArgs),
    /// Load the registry of a `--dev` server: push N certificates (challenge + CMS),
    /// then `getusercert` look-ups against a same-run baseline.
    Registry(registry::RegistryBenchArgs),
}
