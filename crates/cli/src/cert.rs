//! `ccc cert request`: a code-signing certificate from certcentral's Fulcio-compatible CA
//! for an OIDC identity, written as a PEM chain (leaf first).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::fulcio::{self, SigningCertRequest};
use crate::issued::IssuedChain;
use crate::keygen::{self, Algorithm};
use crate::oidc;
use crate::request_key::RequestKey;

/// Where a generated key goes when the chain goes to stdout.
const DEFAULT_KEY_PATH: &str = "./ccc-cert.key";

/// `ccc cert …`.
#[derive(Debug, clap::Subcommand)]
pub enum CertCommand {
    /// Request a certificate for an OIDC identity (Fulcio v2 signingCert).
    Request(RequestArgs),
}

/// Arguments of `ccc cert request`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("identity").required(true).args(["token", "dev_email"])))]
pub struct RequestArgs {
    /// Root URL of the certcentral server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// File holding the OIDC identity token (a JWT); `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    /// Mint a token for EMAIL from the server's dev OIDC issuer (`serve --dev` only).
    #[arg(long, value_name = "EMAIL")]
    pub dev_email: Option<String>,
    /// PKCS#8 PEM private key (P-256, P-384 or Ed25519, as `ccc keygen` writes).
    /// Without it a new P-256 key is written to <OUTPUT>.key (./ccc-cert.key for stdout).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Prove possession with a PKCS#10 CSR (token in `Authorization: Bearer`) instead
    /// of a signature over the token's subject.
    #[arg(long)]
    pub csr: bool,
    /// Where to write the certificate chain (PEM, leaf first) [default: stdout].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Request timeout, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// Requests the certificate; errors carry the server's message.
pub fn run(args: &RequestArgs) -> anyhow::Result<()> {
    let base = server_root(&args.url)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!(
            "ccc/",
            env!("CARGO_PKG_VERSION"),
            " (cert request)"
        ))
        .build()
        .context("building the HTTP client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;

    let token = match (&args.token, &args.dev_email) {
        (Some(path), _) => oidc::read_token(path)?,
        (None, Some(email)) => runtime.block_on(oidc::mint_dev_token(&client, &base, email))?,
        (None, None) => bail!("pass --token FILE or --dev-email EMAIL"),
    };
    // Read before anything is written: a token without `sub` must not leave a key behind.
    let sub = if args.csr {
        None
    } else {
        Some(oidc::subject(&token).context("reading the token")?)
    };

    let key = match &args.key {
        Some(path) => RequestKey::load(path)?,
        None => {
            let key = RequestKey::new(keygen::generate(Algorithm::P256)?)?;
            let path = generated_key_path(args.output.as_deref());
            if path.exists() {
                bail!(
                    "{} already exists: pass --key {0} to request with that key, or another -o",
                    path.display()
                );
            }
            // Stored before the request: a certificate for a key nobody kept is useless.
            // (write_key also refuses to replace a file that appears meanwhile.)
            keygen::write_key(&path, key.key_pair())?;
            eprintln!("generated a P-256 key: {} (mode 0600)", path.display());
            key
        }
    };

    let request = match &sub {
        Some(sub) => SigningCertRequest::with_proof(&token, &key, sub)?.prepare(None)?,
        None => SigningCertRequest::with_csr(&key.csr_pem()?).prepare(Some(&token))?,
    };
    let pems = runtime.block_on(fulcio::request_certificate(&client, &base, &request))?;
    let chain = IssuedChain::parse(&pems)?;
    let leaf_spki = chain.leaf().tbs_certificate().subject_public_key_info();
    if der::Encode::to_der(leaf_spki).ok() != Some(key.spki_der()) {
        bail!("the CA issued a certificate for a different public key than ours");
    }
    let summary = chain.leaf_summary()?;

    match &args.output {
        Some(path) => std::fs::write(path, &chain.pem)
            .with_context(|| format!("writing the chain to {}", path.display()))?,
        None => print!("{}", chain.pem),
    }
    eprintln!(
        "identity   {}",
        if summary.identities.is_empty() {
            "(no subjectAltName)".to_owned()
        } else {
            summary.identities.join(", ")
        }
    );
    eprintln!("key        {}", key.type_name());
    eprintln!("serial     {}", summary.serial);
    eprintln!("valid      {} .. {}", summary.not_before, summary.not_after);
    eprintln!("issuer     {}", summary.issuer);
    eprintln!("SCTs       {} embedded", summary.embedded_scts);
    eprintln!(
        "chain      {} certificates{}",
        chain.certificates.len(),
        args.output
            .as_ref()
            .map(|p| format!(" written to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// The server root without a trailing slash; plain HTTP only (this build has no TLS).
pub fn server_root(url: &str) -> anyhow::Result<String> {
    let base = url.trim_end_matches('/');
    let parsed = reqwest::Url::parse(base).with_context(|| format!("--url {url:?}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(base.to_owned()),
        other => bail!("--url: unsupported scheme {other:?}"),
    }
}

/// `<output>.key`, or [`DEFAULT_KEY_PATH`] when the chain goes to stdout.
fn generated_key_path(output: Option<&Path>) -> PathBuf {
    match output {
        Some(out) => {
            let mut name = out.as_os_str().to_owned();
            name.push(".key");
            PathBuf::from(name)
        }
        None => PathBuf::from(DEFAULT_KEY_PATH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_goes_next_to_the_output() {
        assert_eq!(
            generated_key_path(Some(Path::new("out/cert.pem"))),
            PathBuf::from("out/cert.pem.key")
        );
        assert_eq!(generated_key_path(None), PathBuf::from("./ccc-cert.key"));
    }

    #[test]
    fn server_root_is_http_or_https_without_trailing_slash() {
        assert_eq!(
            server_root("http://127.0.0.1:18080/").unwrap(),
            "http://127.0.0.1:18080"
        );
        assert_eq!(
            server_root("https://ca.example").unwrap(),
            "https://ca.example"
        );
        assert!(server_root("ftp://x").is_err());
        assert!(server_root("not a url").is_err());
    }
}
