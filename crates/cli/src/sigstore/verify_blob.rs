//! `ccc verify-blob FILE…`: verifies sigstore bundles over files, offline, from the
//! bundle and the saved trust config — everything a sigstore verifier checks (see
//! `pki::sigstore_verify`) — under exactly one policy for who may have signed:
//!
//! - `--identity`/`--identity-regexp` with `--issuer`/`--issuer-regexp`: a keyless
//!   certificate from a trusted CA for that OIDC identity;
//! - `--registry-user U`: one of U's developer certificates, proven published in the
//!   registry log (inclusion, and consistency with the checkpoint this client pinned);
//!   a certificate revoked before the signature's time is refused, one revoked after it
//!   is reported (fatal with `--strict`). This policy asks the registry, so it is
//!   online;
//! - `--trusted`: any certificate the user trusted with `ccc trust`.
//!
//! `--signature`/`--certificate` verify a detached pair instead of a bundle: its entry
//! is looked up by UUID in the trust config's Rekor v1 logs, so the log's proof and
//! signed time are still required. `--online` also checks that the entry's checkpoint
//! is a prefix of what its log publishes now.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use pki::bundle::{Bundle, BundleContent, MessageDigest};
use pki::rekor::tle::TransparencyLogEntry;
use pki::rekor::{HashedRekord, entry_uuid};
use pki::sigstore_trust::ClientTrustConfig;
use pki::sigstore_verify::{
    ArtifactDigest, Expected, Identity, SignerPolicy, TimeSource, Verified, VerifyFailure,
    verify_bundle,
};
use pki::verify::HashAlgorithm;
use serde::Serialize;

use super::{digest, online, services, trust_root};
use crate::http::Http;
use crate::registry::config::ConfigDir;
use crate::registry::signing::thumbprint;
use crate::registry::{self, Published};

/// The largest bundle read.
const MAX_BUNDLE_FILE_BYTES: u64 = 8 << 20;

/// `ccc verify-blob`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("policy")
        .required(true)
        .args(["identity", "identity_regexp", "registry_user", "trusted"])
))]
#[command(group(clap::ArgGroup::new("issuer_policy").args(["issuer", "issuer_regexp"])))]
pub struct VerifyBlobArgs {
    /// The files to verify.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The bundle (one FILE only) [default: FILE.sigstore.json].
    #[arg(long, value_name = "B")]
    pub bundle: Option<PathBuf>,
    /// A detached base64 signature (`ccc sign --detached`, cosign's
    /// --output-signature); needs --certificate, one FILE, no --bundle.
    #[arg(long, requires = "certificate", conflicts_with = "bundle")]
    pub signature: Option<PathBuf>,
    /// The PEM certificate of a detached signature.
    #[arg(long, requires = "signature")]
    pub certificate: Option<PathBuf>,
    /// Keyless: the certificate's SAN (email, URI or username), exactly.
    #[arg(long, requires = "issuer_policy")]
    pub identity: Option<String>,
    /// Keyless: a regular expression one SAN must match (unanchored, as cosign's
    /// --certificate-identity-regexp: write ^…$ for a whole match).
    #[arg(long, requires = "issuer_policy", value_name = "REGEXP")]
    pub identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer the certificate names, exactly.
    #[arg(long, conflicts_with_all = ["registry_user", "trusted"])]
    pub issuer: Option<String>,
    /// Keyless: a regular expression the OIDC issuer must match (unanchored).
    #[arg(long, value_name = "REGEXP", conflicts_with_all = ["registry_user", "trusted"])]
    pub issuer_regexp: Option<String>,
    /// The signing certificate must be one of this registry user's certificates,
    /// proven published in the registry log (asks the registry).
    #[arg(long, value_name = "USER")]
    pub registry_user: Option<String>,
    /// With --registry-user: a revocation after the signature is fatal too.
    #[arg(long, requires = "registry_user")]
    pub strict: bool,
    /// The registry for --registry-user [default: the saved one].
    #[arg(long, requires = "registry_user")]
    pub url: Option<String>,
    /// The signing certificate must be one the user trusted with `ccc trust`.
    #[arg(long)]
    pub trusted: bool,
    /// Also check the entry's checkpoint against what its log publishes now.
    #[arg(long)]
    pub online: bool,
    /// The client trust config [default: the one `ccc trust-root fetch` saved].
    #[arg(long, value_name = "FILE")]
    pub trust_config: Option<PathBuf>,
    /// Print one JSON report per file (an array) instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// One file's verdict.
#[derive(Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub bundle: String,
    pub ok: bool,
    /// The check that refused it, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Who signed: the certificate's SANs and issuer, or its subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The verified times, RFC 3339, with where each came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_at: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// What is worth knowing but did not fail it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A failed check: its name and the reason.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub check: &'static str,
    pub reason: String,
}

impl Failure {
    fn new(check: &'static str, reason: impl std::fmt::Display) -> Self {
        Self {
            check,
            reason: reason.to_string(),
        }
    }
}

/// The name of the check a [`VerifyFailure`] comes from.
pub fn check_name(failure: &VerifyFailure) -> &'static str {
    use VerifyFailure as F;
    match failure {
        F::NotAMessageSignature => "bundle",
        F::NoTimestampAuthorities
        | F::TooManyTimestamps(_)
        | F::DuplicateTimestamp
        | F::IntegratedTimeKind(_)
        | F::NoVerifiedTime
        | F::TimeInFuture { .. } => "time",
        F::Certificate(_) | F::Chain { .. } => "certificate",
        F::Sct(_) => "sct",
        F::KeyUsage | F::ExtendedKeyUsage => "key usage",
        F::NotPinned | F::Issuer { .. } | F::San { .. } => "identity",
        F::InclusionProof(_) => "inclusion proof",
        F::Checkpoint(_) => "checkpoint",
        F::Set(_) => "signed entry timestamp",
        F::OutsideValidity { .. } => "validity",
        F::DigestMismatch | F::Signature(_) => "signature",
        F::EntryMismatch(_) => "log entry",
    }
}

/// Who may have signed, resolved before any file is read.
enum Policy {
    Keyless(Identity),
    Registry {
        user: String,
        url: String,
        strict: bool,
        /// What the registry proved, per certificate: a release of many files signed
        /// with one certificate asks the registry once.
        proven: RefCell<BTreeMap<Vec<u8>, Rc<Published>>>,
    },
    Trusted(Vec<Vec<u8>>),
}

impl Policy {
    fn from_args(args: &VerifyBlobArgs) -> anyhow::Result<Self> {
        let pattern = |flag: &str, expr: &str| {
            Expected::pattern(expr).with_context(|| format!("{flag} {expr:?}"))
        };
        if let Some(user) = &args.registry_user {
            let config = ConfigDir::from_env()?;
            let url = config.registry_url(args.url.as_deref())?;
            return Ok(Self::Registry {
                user: user.clone(),
                url,
                strict: args.strict,
                proven: RefCell::default(),
            });
        }
        if args.trusted {
            let dir = ConfigDir::from_env()?.trusted_dir();
            return Ok(Self::Trusted(trusted_certificates(&dir)?));
        }
        let san = match (&args.identity, &args.identity_regexp) {
            (Some(exact), _) => Expected::Exact(exact.clone()),
            (None, Some(expr)) => pattern("--identity-regexp", expr)?,
            (None, None) => bail!("choose a policy: --identity, --registry-user or --trusted"),
        };
        let issuer = match (&args.issuer, &args.issuer_regexp) {
            (Some(exact), _) => Expected::Exact(exact.clone()),
            (None, Some(expr)) => pattern("--issuer-regexp", expr)?,
            (None, None) => bail!("--identity needs --issuer or --issuer-regexp"),
        };
        Ok(Self::Keyless(Identity { san, issuer }))
    }
}

/// The DER certificates in `dir/*.pem` (what `ccc trust` wrote).
fn trusted_certificates(dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "nothing is trusted yet ({} does not exist): run `ccc trust`",
                dir.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut certificates = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pem") {
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            certificates.extend(
                pki::chain::pem_certificates(&pem)
                    .with_context(|| format!("{} is not a PEM certificate", path.display()))?,
            );
        }
    }
    if certificates.is_empty() {
        bail!(
            "nothing is trusted yet ({} is empty): run `ccc trust`",
            dir.display()
        );
    }
    Ok(certificates)
}

pub fn run(args: &VerifyBlobArgs) -> anyhow::Result<ExitCode> {
    if args.files.len() > 1 && (args.bundle.is_some() || args.signature.is_some()) {
        bail!("--bundle and --signature name one file's signature: verify one FILE with them");
    }
    let trust = trust_root::load(args.trust_config.as_deref())?;
    let policy = Policy::from_args(args)?;
    let mut reports = Vec::with_capacity(args.files.len());
    for file in &args.files {
        reports.push(verify_file(args, &trust, &policy, file));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            print_report(r);
        }
    }
    Ok(if reports.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(r: &Report) {
    match &r.failure {
        None => {
            println!("OK      {}", r.file);
            if let Some(signer) = &r.signer {
                println!("  signer      {signer}");
            }
            for t in &r.signed_at {
                println!("  signed at   {t}");
            }
            if let Some(index) = r.log_index {
                println!("  log index   {index}");
            }
        }
        Some(f) => {
            println!("FAILED  {}", r.file);
            println!("  check       {}", f.check);
            println!("  reason      {}", f.reason);
        }
    }
    for note in &r.notes {
        println!("  note        {note}");
    }
}

fn verify_file(
    args: &VerifyBlobArgs,
    trust: &ClientTrustConfig,
    policy: &Policy,
    file: &Path,
) -> Report {
    let bundle_path = args.bundle.clone().unwrap_or_else(|| {
        let mut name = file.as_os_str().to_owned();
        name.push(".sigstore.json");
        PathBuf::from(name)
    });
    let mut report = Report {
        file: file.display().to_string(),
        bundle: match &args.signature {
            Some(sig) => sig.display().to_string(),
            None => bundle_path.display().to_string(),
        },
        ok: false,
        failure: None,
        signer: None,
        signed_at: Vec::new(),
        log_index: None,
        notes: Vec::new(),
    };
    match verify_file_inner(args, trust, policy, file, &bundle_path, &mut report.notes) {
        Ok((verified, signer)) => {
            report.ok = true;
            report.signer = Some(signer);
            report.log_index = Some(verified.log_index);
            report.signed_at = verified
                .times
                .iter()
                .map(|t| {
                    format!(
                        "{} ({})",
                        clock::format_time_ms_millis(t.unix_ms),
                        match t.source {
                            TimeSource::TimestampAuthority => "time-stamp authority",
                            TimeSource::TransparencyLog => "artifact log",
                        }
                    )
                })
                .collect();
        }
        Err(failure) => report.failure = Some(failure),
    }
    report
}

fn verify_file_inner(
    args: &VerifyBlobArgs,
    trust: &ClientTrustConfig,
    policy: &Policy,
    file: &Path,
    bundle_path: &Path,
    notes: &mut Vec<String>,
) -> Result<(Verified, String), Failure> {
    let bundle = match (&args.signature, &args.certificate) {
        (Some(sig), Some(cert)) => detached_bundle(trust, file, sig, cert)?,
        _ => read_bundle(bundle_path)?,
    };
    let algorithm = match &bundle.content {
        BundleContent::MessageSignature(m) => m
            .message_digest
            .as_ref()
            .map_or(HashAlgorithm::Sha256, |d| d.algorithm),
        BundleContent::DsseEnvelope(_) => {
            return Err(Failure::new("bundle", VerifyFailure::NotAMessageSignature));
        }
    };
    let artifact = ArtifactDigest {
        algorithm,
        digest: digest::file_digest(file, algorithm)
            .map_err(|e| Failure::new("artifact", format!("{e:#}")))?,
    };
    let now = trust_root::now_ms();
    let leaf = bundle.signing_certificate().to_vec();
    let signer_policy = match policy {
        Policy::Keyless(identity) => SignerPolicy::Keyless(identity.clone()),
        Policy::Trusted(certs) => SignerPolicy::Pinned(certs.clone()),
        // Offline checks first: the registry is only asked about a bundle that holds.
        Policy::Registry { .. } => SignerPolicy::Pinned(vec![leaf.clone()]),
    };
    let verified = verify_bundle(&bundle, &artifact, &trust.trusted_root, &signer_policy, now)
        .map_err(|f| Failure::new(check_name(&f), f))?;
    if let Policy::Registry {
        user,
        url,
        strict,
        proven,
    } = policy
    {
        let known = proven.borrow().get(&leaf).cloned();
        let published = match known {
            Some(published) => published,
            None => {
                let published = Rc::new(registry_check(url, user, &leaf)?);
                proven.borrow_mut().insert(leaf.clone(), published.clone());
                published
            }
        };
        if let Some(revocation) = &published.revocation {
            // The signature existed by its earliest verified time.
            let signed_by = verified.times.first().map_or(u64::MAX, |t| t.unix_ms);
            let revoked_at = revocation.timestamp_ms;
            let when = clock::format_time_ms_millis(revoked_at);
            if signed_by >= revoked_at {
                return Err(Failure::new(
                    "revocation",
                    format!(
                        "{user} revoked this certificate at {when}, before the signature's \
                         time {}",
                        clock::format_time_ms_millis(signed_by)
                    ),
                ));
            }
            let note =
                format!("{user} revoked this certificate at {when}, after this signature was made");
            if *strict {
                return Err(Failure::new("revocation", format!("{note} (--strict)")));
            }
            notes.push(note);
        }
        notes.push(format!(
            "registry: pushed by {user} at {}, registry log leaf {} in checkpoint size {}",
            clock::format_time_ms_millis(published.push.timestamp_ms),
            published.view.log_index,
            published.checkpoint.size
        ));
    }
    if args.online {
        let fresh = online::check(&bundle.tlog_entry, &trust.trusted_root)
            .map_err(|e| Failure::new("online", format!("{e:#}")))?;
        notes.push(format!(
            "online: the bundle's checkpoint (size {}) is a prefix of {}'s current tree (size {})",
            fresh.bundle_size, fresh.log_url, fresh.current_size
        ));
    }
    Ok((verified, describe_signer(&leaf)))
}

fn registry_check(url: &str, user: &str, leaf: &[u8]) -> Result<Published, Failure> {
    let config = ConfigDir::from_env().map_err(|e| Failure::new("registry", format!("{e:#}")))?;
    let published = registry::prove_published(&config, url, user, &thumbprint(leaf))
        .map_err(|e| Failure::new("registry", format!("{e:#}")))?;
    if published.der != leaf {
        return Err(Failure::new(
            "registry",
            "the registry's certificate is not the bundle's",
        ));
    }
    Ok(published)
}

fn read_bundle(path: &Path) -> Result<Bundle, Failure> {
    let read = || -> anyhow::Result<Vec<u8>> {
        use std::io::Read;
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // One read, bounded: a byte more than the limit says the file is too large.
        let mut bytes = Vec::new();
        file.take(MAX_BUNDLE_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        if bytes.len() as u64 > MAX_BUNDLE_FILE_BYTES {
            bail!(
                "{} is more than {MAX_BUNDLE_FILE_BYTES} bytes, more than a bundle ever is",
                path.display()
            );
        }
        Ok(bytes)
    };
    let bytes = read().map_err(|e| Failure::new("bundle", format!("{e:#}")))?;
    Bundle::from_json(&bytes).map_err(|e| Failure::new("bundle", e))
}

/// A bundle for a detached signature and certificate: the entry found by UUID in the
/// trust config's Rekor v1 logs (with its SET and inclusion proof).
fn detached_bundle(
    trust: &ClientTrustConfig,
    file: &Path,
    signature_path: &Path,
    certificate_path: &Path,
) -> Result<Bundle, Failure> {
    let fail = |e: anyhow::Error| Failure::new("detached signature", format!("{e:#}"));
    let signature = std::fs::read_to_string(signature_path)
        .with_context(|| format!("reading {}", signature_path.display()))
        .and_then(|text| {
            STANDARD
                .decode(text.trim())
                .with_context(|| format!("{} is not base64", signature_path.display()))
        })
        .map_err(fail)?;
    let certificate = std::fs::read_to_string(certificate_path)
        .with_context(|| format!("reading {}", certificate_path.display()))
        .and_then(|pem| {
            pki::chain::pem_certificates(&pem)
                .ok()
                .and_then(|c| c.into_iter().next())
                .with_context(|| format!("{} holds no PEM certificate", certificate_path.display()))
        })
        .map_err(fail)?;
    let algorithm = HashAlgorithm::Sha256;
    let artifact_digest = digest::file_digest(file, algorithm).map_err(fail)?;
    let body =
        HashedRekord::for_certificate(&certificate, signature.clone(), algorithm, &artifact_digest)
            .and_then(|r| r.canonical_body())
            .map_err(|e| Failure::new("signature", format!("over {}: {e}", file.display())))?;
    let uuid = entry_uuid(&body);
    let entry = find_v1_entry(trust, &uuid).map_err(fail)?;
    Ok(Bundle::new_message_signature(
        certificate,
        entry,
        Vec::new(),
        MessageDigest {
            algorithm,
            digest: artifact_digest,
        },
        signature,
    ))
}

fn find_v1_entry(trust: &ClientTrustConfig, uuid: &str) -> anyhow::Result<TransparencyLogEntry> {
    let logs: Vec<&str> = trust
        .signing_config
        .rekor_tlog_urls
        .iter()
        .filter(|s| s.major_api_version == 1)
        .map(|s| s.url.trim_end_matches('/'))
        .collect();
    if logs.is_empty() {
        bail!("the trust config lists no Rekor v1 log to look the signature up in");
    }
    for log in &logs {
        let http = Http::new(log, "verify-blob")?;
        if let Some(entry) =
            http.runtime
                .block_on(services::v1_entry(&http.client, &http.base, uuid))?
        {
            return Ok(entry);
        }
    }
    bail!(
        "no Rekor v1 log of the trust config has entry {uuid} (a detached signature must be \
         logged in one: `ccc sign --detached` signs into a v1 log)"
    )
}

/// The certificate's SANs and OIDC issuer, or its subject when it has none.
fn describe_signer(leaf: &[u8]) -> String {
    use der::Decode;
    let Ok(cert) = x509_cert::Certificate::from_der(leaf) else {
        return "(unparsable certificate)".into();
    };
    let id = monitor::identity::identity_of(cert.tbs_certificate());
    let mut names: Vec<String> = id
        .emails
        .into_iter()
        .chain(id.uris)
        .chain(id.dns_names)
        .collect();
    if names.is_empty() {
        names.push(cert.tbs_certificate().subject().to_string());
    }
    match id.oidc_issuer {
        Some(issuer) => format!("{} (issuer {issuer})", names.join(", ")),
        None => format!("{} (certificate {})", names.join(", "), thumbprint(leaf)),
    }
}
