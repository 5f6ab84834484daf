//! The client code of `ccc`, the certcentral command-line client: its command line
//! ([`Cli`]), one module per user command, and the clients they share (Fulcio v2, the
//! dev OIDC issuer, the registry, key handling). The `certcentral-bench` load generator
//! builds on the same modules.

pub mod cert;
pub mod error_text;
pub mod fulcio;
pub mod http;
pub mod issued;
pub mod keygen;
pub mod monitor_cmd;
pub mod oidc;
pub mod registry;
pub mod request_key;
pub mod sigstore;
pub mod verify_cmd;

use clap::{Parser, Subcommand};

/// certcentral command-line client.
#[derive(Debug, Parser)]
#[command(name = "ccc", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Sign files: a sigstore bundle each (keyless, or with a developer certificate).
    Sign(sigstore::sign::SignArgs),
    /// Verify files against sigstore bundles (or a detached signature), offline.
    VerifyBlob(sigstore::verify_blob::VerifyBlobArgs),
    /// The trust material signing and verification use.
    #[command(subcommand)]
    TrustRoot(sigstore::trust_root::TrustRootCommand),
}
