//! `ccc bench …`: load generators for certcentral services.

pub mod certs;
pub mod ct;
pub mod rss;

use clap::Subcommand;

/// What to load.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load an RFC 6962 CT log: add-chain submissions, then (optionally) proof reads.
    Ct(ct::CtBenchArgs),
}
