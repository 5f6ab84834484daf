//! `ccc sign FILE…`: a sigstore bundle per file (v0.3 JSON, `FILE.sigstore.json`),
//! signed with either
//! - **an OIDC identity** (keyless): a P-256 key made for this run and kept in memory
//!   only, a short-lived certificate for it from the CA (Fulcio API), or
//! - **a developer certificate** with its key: `--cert/--key`, `--p12`, or the local
//!   store and picker that `ccc push` uses,
//!
//! then, per file: the artifact's digest signed, an RFC 3161 time-stamp over the
//! signature when the trust config lists a TSA, the signature logged in an artifact log
//! (v1 or v2 as the trust config offers, `--rekor-version` to choose), and the bundle
//! verified offline against the trust config — as `ccc verify-blob` will — before it is
//! written. Several files share one certificate and are signed concurrently.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use futures_util::StreamExt;
use pki::bundle::{Bundle, MessageDigest};
use pki::sigstore_trust::ClientTrustConfig;
use pki::sigstore_verify::{ArtifactDigest, Expected, Identity, SignerPolicy, verify_bundle};

use super::services::{self, Endpoints};
use super::{digest, trust_root};
use crate::fulcio::{self, SigningCertRequest};
use crate::issued::IssuedChain;
use crate::keygen::{self, Algorithm};
use crate::oidc;
use crate::registry::CertificateSource;
use crate::registry::config::{ConfigDir, write_private};
use crate::registry::signing::CodeSigner;
use crate::request_key::RequestKey;

/// Files signed at once (each waits mostly on its log entry).
const CONCURRENT_FILES: usize = 16;
/// The environment variable sigstore clients read an ambient identity token from.
pub const TOKEN_ENV: &str = "SIGSTORE_ID_TOKEN";

/// `ccc sign`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("keyless").args(["token", "dev_email"]).multiple(false)))]
pub struct SignArgs {
    /// The files to sign.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the bundle here (one FILE only) [default: FILE.sigstore.json].
    #[arg(long, value_name = "OUT")]
    pub bundle: Option<PathBuf>,
    /// Also write FILE.sig (the base64 signature) and FILE.pem (the certificate), the
    /// shape of cosign's `sign-blob --output-signature --output-certificate`.
    #[arg(long)]
    pub detached: bool,
    /// Keyless: a file holding an OIDC identity token ('-' = stdin) [default: the
    /// SIGSTORE_ID_TOKEN environment variable].
    #[arg(long, value_name = "FILE")]
    pub token: Option<PathBuf>,
    /// Keyless: a token for EMAIL from a `certcentral serve --dev` server's issuer.
    #[arg(long, value_name = "EMAIL")]
    pub dev_email: Option<String>,
    /// Sign with a developer certificate: --cert/--key, --p12, or the local store (as
    /// `ccc push` finds one). Implied by any of those flags.
    #[arg(long, conflicts_with = "keyless")]
    pub developer: bool,
    #[command(flatten)]
    pub source: CertificateSource,
    /// The artifact log's API: 1 (Rekor v1: a SET and integrated time) or 2 (Rekor v2)
    /// [default: the highest the trust config offers].
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub rekor_version: Option<u32>,
    /// The client trust config [default: the one `ccc trust-root fetch` saved].
    #[arg(long, value_name = "FILE")]
    pub trust_config: Option<PathBuf>,
    /// Request timeout, seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

impl SignArgs {
    fn uses_developer_certificate(&self) -> bool {
        self.developer || self.source.given()
    }
}

/// Where one file's outputs go.
struct Outputs {
    bundle: PathBuf,
    detached: Option<(PathBuf, PathBuf)>,
}

fn outputs(file: &Path, bundle: Option<&Path>, detached: bool) -> Outputs {
    let beside = |suffix: &str| {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    Outputs {
        bundle: bundle.map_or_else(|| beside(".sigstore.json"), Path::to_path_buf),
        detached: detached.then(|| (beside(".sig"), beside(".pem"))),
    }
}

pub fn run(args: &SignArgs) -> anyhow::Result<ExitCode> {
    if args.bundle.is_some() && args.files.len() > 1 {
        bail!("--bundle names one bundle: sign one FILE with it, or leave it out");
    }
    for file in &args.files {
        if !file.is_file() {
            bail!("{} is not a readable file", file.display());
        }
    }
    let trust = trust_root::load(args.trust_config.as_deref())?;
    let endpoints = services::choose(
        &trust.signing_config,
        trust_root::now_ms(),
        args.rekor_version,
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("ccc/", env!("CARGO_PKG_VERSION"), " (sign)"))
        .build()
        .context("building the HTTP client")?;

    let (signer, policy) = if args.uses_developer_certificate() {
        let chosen = args.source.choose(&ConfigDir::from_env()?)?;
        eprintln!(
            "signing with {} ({}, {})",
            chosen.thumbprint,
            chosen.signer.subject(),
            chosen.signer.algorithm()
        );
        let pinned = SignerPolicy::Pinned(vec![chosen.signer.certificate_der().to_vec()]);
        (chosen.signer, pinned)
    } else {
        let signer = runtime.block_on(keyless_signer(args, &client, &endpoints))?;
        // The bundle must verify as a keyless one whatever the identity is: an empty
        // pattern matches any SAN and issuer, which must still be there.
        let any = || Expected::pattern("");
        let policy = SignerPolicy::Keyless(Identity {
            san: any()?,
            issuer: any()?,
        });
        (signer, policy)
    };
    let algorithm = signer.artifact_hash()?;

    let progress = progress_bar(args.files.len());
    let job = Job {
        signer: &signer,
        policy: &policy,
        trust: &trust,
        endpoints: &endpoints,
        client: &client,
        algorithm,
    };
    let signed: Vec<bool> = runtime.block_on(
        futures_util::stream::iter(&args.files)
            .map(|file| {
                let out = outputs(file, args.bundle.as_deref(), args.detached);
                let job = &job;
                let progress = &progress;
                async move {
                    let result = job.sign_file(file, &out).await;
                    match &result {
                        Ok(index) => {
                            let line = format!(
                                "signed {} → {} (log index {index})",
                                file.display(),
                                out.bundle.display()
                            );
                            progress.println(line);
                        }
                        Err(e) => progress.println(format!("ccc: {}: {e:#}", file.display())),
                    }
                    progress.inc(1);
                    result.is_ok()
                }
            })
            .buffer_unordered(CONCURRENT_FILES)
            .collect(),
    );
    progress.finish_and_clear();
    let failed = signed.iter().filter(|ok| !**ok).count();
    if failed > 0 {
        eprintln!("ccc: {failed} of {} files not signed", args.files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Lines go to stderr above a bar on a terminal, else as they are.
fn progress_bar(files: usize) -> Progress {
    use std::io::IsTerminal;
    if files > 1 && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(files as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress(Some(bar))
    } else {
        Progress(None)
    }
}

struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn println(&self, line: String) {
        match &self.0 {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    fn finish_and_clear(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A key made for this run, certified by the CA for the caller's identity token.
async fn keyless_signer(
    args: &SignArgs,
    client: &reqwest::Client,
    endpoints: &Endpoints,
) -> anyhow::Result<CodeSigner> {
    let ca_url = endpoints
        .ca_url
        .as_deref()
        .context("the trust config lists no CA valid now: keyless signing needs one")?;
    let token = match (&args.token, &args.dev_email) {
        (Some(path), _) => oidc::read_token(path)?,
        (None, Some(email)) => oidc::mint_dev_token(client, ca_url, email).await?,
        (None, None) => match std::env::var(TOKEN_ENV) {
            Ok(token) if !token.trim().is_empty() => token.trim().to_owned(),
            _ => bail!(
                "no identity: pass --token FILE or --dev-email EMAIL, set {TOKEN_ENV}, or sign \
                 with a developer certificate (--developer, --cert, --p12)"
            ),
        },
    };
    let sub = oidc::subject(&token).context("reading the token")?;
    let key = RequestKey::new(keygen::generate(Algorithm::P256)?)?;
    let request = SigningCertRequest::with_proof(&token, &key, &sub)?.prepare(None)?;
    let pems = fulcio::request_certificate(client, ca_url, &request).await?;
    let chain = IssuedChain::parse(&pems)?;
    let pkcs8 = zeroize::Zeroizing::new(key.key_pair().serialize_der());
    let signer = CodeSigner::new(chain.leaf_der.clone(), "PRIVATE KEY", &pkcs8)
        .context("the CA's certificate")?;
    let summary = chain.leaf_summary()?;
    eprintln!(
        "certificate for {} from {ca_url} (valid until {})",
        summary.identities.join(", "),
        summary.not_after
    );
    Ok(signer)
}

/// What every file's signing shares.
struct Job<'a> {
    signer: &'a CodeSigner,
    policy: &'a SignerPolicy,
    trust: &'a ClientTrustConfig,
    endpoints: &'a Endpoints,
    client: &'a reqwest::Client,
    algorithm: pki::verify::HashAlgorithm,
}

impl Job<'_> {
    /// Signs one file and writes its outputs; returns the entry's log index.
    async fn sign_file(&self, file: &Path, out: &Outputs) -> anyhow::Result<u64> {
        let path = file.to_path_buf();
        let algorithm = self.algorithm;
        let artifact_digest =
            tokio::task::spawn_blocking(move || digest::file_digest(&path, algorithm))
                .await
                .context("hashing")??;
        let signature = self.signer.sign_artifact_digest(&artifact_digest)?;
        let mut timestamps = Vec::new();
        if let Some(tsa) = &self.endpoints.tsa_url {
            timestamps.push(services::timestamp(self.client, tsa, &signature).await?);
        }
        let certificate = self.signer.certificate_der();
        let entry = services::log_signature(
            self.client,
            &self.endpoints.rekor,
            certificate,
            algorithm,
            &artifact_digest,
            &signature,
        )
        .await?;
        let bundle = Bundle::new_message_signature(
            certificate.to_vec(),
            entry,
            timestamps,
            MessageDigest {
                algorithm,
                digest: artifact_digest.clone(),
            },
            signature.clone(),
        );
        // The services' clocks may run a little ahead of ours.
        let now = trust_root::now_ms() + 60_000;
        let artifact = ArtifactDigest {
            algorithm,
            digest: artifact_digest,
        };
        let verified = verify_bundle(
            &bundle,
            &artifact,
            &self.trust.trusted_root,
            self.policy,
            now,
        )
        .context("the bundle the services made does not verify")?;
        write_public(&out.bundle, &bundle.to_json()?)?;
        if let Some((sig_path, pem_path)) = &out.detached {
            write_public(
                sig_path,
                format!("{}\n", STANDARD.encode(&signature)).as_bytes(),
            )?;
            let pem =
                der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, certificate)?;
            write_public(pem_path, pem.as_bytes())?;
        }
        Ok(verified.log_index)
    }
}

/// Writes a file others may read (a bundle, a signature), atomically.
fn write_public(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_private(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("making {} readable", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_go_beside_the_file_unless_named() {
        let o = outputs(Path::new("dist/app.tar.gz"), None, true);
        assert_eq!(o.bundle, PathBuf::from("dist/app.tar.gz.sigstore.json"));
        assert_eq!(
            o.detached,
            Some((
                PathBuf::from("dist/app.tar.gz.sig"),
                PathBuf::from("dist/app.tar.gz.pem")
            ))
        );
        let o = outputs(Path::new("a"), Some(Path::new("b.json")), false);
        assert_eq!(o.bundle, PathBuf::from("b.json"));
        assert!(o.detached.is_none());
    }
}
