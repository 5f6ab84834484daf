//! The issuance pipeline: token → proof of possession → precertificate → one SCT from
//! every configured log → final certificate with the SCTs embedded.
//!
//! The certificate authority never answers with a certificate whose SCTs are missing:
//! if any log fails or times out, the request fails (503) and the final certificate is
//! never signed. Logs are asked concurrently, so the latency is that of the slowest
//! log, not the sum.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use clock::Clock;
use serde_json::Value;
use thiserror::Error;

use pki::{FulcioExtensions, SignedCertificateTimestamp};

use crate::cert::{self, CaSigner, CertError, CertificateTemplate, San, SerialSource};
use crate::pop::{self, PopError, SubjectKey};
use oidc::{IdentityKind, OidcError, VerifiedIdentity, Verifier};

/// Default certificate lifetime: long enough to sign, short enough that a stolen key
/// is useless soon after (Fulcio's default).
pub const DEFAULT_CERT_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long the CA waits for all logs before giving up on a request.
pub const DEFAULT_SCT_TIMEOUT: Duration = Duration::from_secs(30);

/// A precertificate on its way to a log, with what a remote log's SCT must be checked
/// against.
#[derive(Debug, Clone)]
pub struct PrecertSubmission {
    /// `[precertificate, issuing CA, …, root]`, DER.
    pub chain: Vec<Vec<u8>>,
    /// RFC 6962 `PreCert.issuer_key_hash`.
    pub issuer_key_hash: [u8; 32],
    /// RFC 6962 `PreCert.tbs_certificate` (the TBS without the poison).
    pub tbs_certificate: Vec<u8>,
}

/// Why a log gave no SCT. The message is shown to the client (no secrets in it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct SctError(pub String);

/// The future a [`SctSource`] returns.
pub type SctFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SignedCertificateTimestamp, SctError>> + Send + 'a>>;

/// A CT log the CA obtains SCTs from: a log in this process, or a remote one over RFC
/// 6962 `add-pre-chain` ([`crate::remote_log::RemoteLog`]).
pub trait SctSource: Send + Sync {
    /// A name for messages: the log's name or URL.
    fn name(&self) -> &str;
    /// Submits the precertificate and returns the log's SCT for it.
    fn submit_precert(&self, submission: Arc<PrecertSubmission>) -> SctFuture<'_>;
}

/// What the requester proves key possession with.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A public key (PEM or DER SubjectPublicKeyInfo) and its signature over the
    /// challenge claim (`sub`, or `email` for email issuers, as Fulcio clients sign).
    SignedChallenge {
        /// The key to certify.
        public_key: Vec<u8>,
        /// Signature over the challenge.
        signature: Vec<u8>,
    },
    /// A PKCS#10 CSR (PEM or DER) whose self-signature proves possession.
    Csr(Vec<u8>),
}

/// Why issuance failed; [`IssueError::status`] maps it onto HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IssueError {
    /// The identity token was refused.
    #[error("identity token rejected: {0}")]
    Token(#[from] OidcError),
    /// The key or the proof of possession was refused.
    #[error("{0}")]
    Proof(#[from] PopError),
    /// A log did not return an SCT; no certificate was issued.
    #[error("no certificate issued: CT log {log} gave no SCT: {reason}")]
    LogUnavailable {
        /// The log's name.
        log: String,
        /// What went wrong.
        reason: String,
    },
    /// The identity cannot be written into a certificate (e.g. non-ASCII email).
    #[error("identity cannot be certified: {0}")]
    Identity(String),
    /// Signing or encoding failed on our side.
    #[error("certificate authority failure: {0}")]
    Internal(String),
}

impl IssueError {
    /// HTTP status: 401 for token problems (Fulcio's `Unauthenticated`), 400 for the
    /// caller's key or proof, 503 when a log gave no SCT, 500 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::Token(e) if e.is_unavailable() => 503,
            Self::Token(_) => 401,
            Self::Proof(_) | Self::Identity(_) => 400,
            Self::LogUnavailable { .. } => 503,
            Self::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Token(e) if e.is_unavailable() => "oidc_unavailable",
            Self::Token(_) => "invalid_token",
            Self::Proof(PopError::UnsupportedKey { .. }) => "unsupported_key",
            Self::Proof(_) => "invalid_proof",
            Self::Identity(_) => "invalid_identity",
            Self::LogUnavailable { .. } => "ct_log_unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<CertError> for IssueError {
    fn from(e: CertError) -> Self {
        match e {
            CertError::Template(m) => Self::Identity(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// An issued certificate and its chain, DER, leaf first.
#[derive(Debug, Clone)]
pub struct Issued {
    /// `[leaf, issuing CA, …, root]`.
    pub chain: Vec<Vec<u8>>,
    /// The identity that was certified.
    pub identity: VerifiedIdentity,
}

/// The certificate authority: verifier, signer, chain, logs, and the clock and serial
/// source every certificate's validity and serial come from.
pub struct CertificateAuthority {
    verifier: Arc<Verifier>,
    signer: Arc<dyn CaSigner>,
    clock: Arc<dyn Clock>,
    serials: Arc<dyn SerialSource>,
    /// `[issuing CA, …, root]`, DER.
    ca_chain: Vec<Vec<u8>>,
    issuer_key_hash: [u8; 32],
    lifetime: Duration,
    logs: Vec<Arc<dyn SctSource>>,
    sct_timeout: Duration,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("verifier", &self.verifier)
            .field("chain_len", &self.ca_chain.len())
            .field("lifetime", &self.lifetime)
            .field(
                "logs",
                &self.logs.iter().map(|l| l.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Builds the CA. `ca_chain` starts with the certificate of `signer`'s key and ends
    /// with the root; the signer's key must match the first certificate, or every
    /// issued certificate would fail to verify, so that is checked here. Validity
    /// starts at `clock`'s time; serials come from `serials`.
    pub fn new(
        verifier: Arc<Verifier>,
        signer: Arc<dyn CaSigner>,
        ca_chain: Vec<Vec<u8>>,
        logs: Vec<Arc<dyn SctSource>>,
        clock: Arc<dyn Clock>,
        serials: Arc<dyn SerialSource>,
    ) -> Result<Self, IssueError> {
        let issuing = ca_chain
            .first()
            .ok_or_else(|| IssueError::Internal("the CA chain is empty".into()))?;
        let cert_spki = cert::certificate_spki(issuing)?;
        if cert_spki != signer.spki_der() {
            return Err(IssueError::Internal(
                "the CA signing key does not match the first certificate of the CA chain".into(),
            ));
        }
        if logs.is_empty() {
            return Err(IssueError::Internal(
                "no CT logs configured for SCTs".into(),
            ));
        }
        Ok(Self {
            issuer_key_hash: cert::issuer_key_hash(issuing)?,
            verifier,
            signer,
            clock,
            serials,
            ca_chain,
            lifetime: DEFAULT_CERT_LIFETIME,
            logs,
            sct_timeout: DEFAULT_SCT_TIMEOUT,
        })
    }

    /// Sets the certificate lifetime.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets how long to wait for the logs.
    pub fn with_sct_timeout(mut self, timeout: Duration) -> Self {
        self.sct_timeout = timeout;
        self
    }

    /// The token verifier (for `/api/v2/configuration`).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// `[issuing CA, …, root]`, DER (for `/api/v2/trustBundle`).
    pub fn ca_chain(&self) -> &[Vec<u8>] {
        &self.ca_chain
    }

    /// The names of the logs SCTs come from.
    pub fn log_names(&self) -> Vec<&str> {
        self.logs.iter().map(|l| l.name()).collect()
    }

    /// Issues a certificate. The token is verified first, asynchronously (a key fetch
    /// waits for the identity provider without holding a thread); CPU-heavy and
    /// possibly blocking steps (signers may be hardware) run on the blocking pool.
    pub async fn issue(
        self: &Arc<Self>,
        token: String,
        proof: Proof,
    ) -> Result<Issued, IssueError> {
        let identity = self.verifier.verify(&token).await?;
        let ca = Arc::clone(self);
        let (template, identity, submission) =
            run_blocking(move || ca.prepare(identity, &proof)).await??;
        let submission = Arc::new(submission);

        let requests = self.logs.iter().map(|log| {
            let submission = Arc::clone(&submission);
            async move {
                log.submit_precert(submission)
                    .await
                    .map_err(|e| IssueError::LogUnavailable {
                        log: log.name().to_string(),
                        reason: e.0,
                    })
            }
        });
        let scts = match tokio::time::timeout(self.sct_timeout, try_join_all(requests)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(IssueError::LogUnavailable {
                    log: self.log_names().join(", "),
                    reason: format!("no answer within {} s", self.sct_timeout.as_secs()),
                });
            }
        };

        let ca = Arc::clone(self);
        let leaf = run_blocking(move || {
            cert::build_final_certificate(&template, &ca.ca_chain[0], ca.signer.as_ref(), &scts)
        })
        .await??;
        let mut chain = Vec::with_capacity(1 + self.ca_chain.len());
        chain.push(leaf);
        chain.extend(self.ca_chain.iter().cloned());
        Ok(Issued { chain, identity })
    }

    /// Proof, template and signed precertificate for a verified identity: everything
    /// before the logs.
    fn prepare(
        &self,
        identity: VerifiedIdentity,
        proof: &Proof,
    ) -> Result<(CertificateTemplate, VerifiedIdentity, PrecertSubmission), IssueError> {
        let subject_key = match proof {
            Proof::SignedChallenge {
                public_key,
                signature,
            } => {
                let key = SubjectKey::parse(public_key)?;
                verify_challenge_claims(&key, &identity, signature)?;
                key
            }
            Proof::Csr(csr) => pop::parse_csr(csr)?.public_key,
        };
        let ci_server = self
            .verifier
            .issuer_for(&identity.issuer)
            .and_then(|c| c.ci_server_url.as_deref());
        let ci_server = ci_server_url(&identity, ci_server);
        // Whole seconds: X.509 validity has no finer resolution (RFC 5280 §4.1.2.5).
        let now = UNIX_EPOCH + Duration::from_secs(self.clock.now_ms() / 1000);
        let template = CertificateTemplate {
            serial: self.serials.next_serial()?,
            not_before: now,
            not_after: now + self.lifetime,
            subject_key,
            san: san_for(&identity, ci_server.as_deref())?,
            fulcio: fulcio_extensions(&identity, ci_server.as_deref()),
        };
        let issuing = &self.ca_chain[0];
        let precert = cert::build_precertificate(&template, issuing, self.signer.as_ref())?;
        let tbs_certificate = cert::precert_tbs(&template, issuing, self.signer.as_ref())?;
        let mut chain = Vec::with_capacity(1 + self.ca_chain.len());
        chain.push(precert);
        chain.extend(self.ca_chain.iter().cloned());
        let submission = PrecertSubmission {
            chain,
            issuer_key_hash: self.issuer_key_hash,
            tbs_certificate,
        };
        Ok((template, identity, submission))
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, IssueError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| IssueError::Internal(format!("issuance task failed: {e}")))
}

/// Awaits all futures concurrently; the first error wins (the others are dropped).
async fn try_join_all<T, F>(futures: impl Iterator<Item = F>) -> Result<Vec<T>, IssueError>
where
    F: Future<Output = Result<T, IssueError>>,
{
    let mut pending: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<T>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (fut, slot) in pending.iter_mut().zip(results.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            match fut.as_mut().poll(cx) {
                std::task::Poll::Ready(Ok(v)) => *slot = Some(v),
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => done = false,
            }
        }
        if done {
            std::task::Poll::Ready(Ok(()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await?;
    Ok(results.into_iter().flatten().collect())
}

/// The challenge is the `sub` claim (Fulcio API v2). Clients derived from cosign sign
/// the `email` claim instead when the token has one, so for email issuers either is
/// accepted: both are claims of the same verified token.
fn verify_challenge_claims(
    key: &SubjectKey,
    identity: &VerifiedIdentity,
    signature: &[u8],
) -> Result<(), PopError> {
    let first = pop::verify_challenge(key, identity.subject.as_bytes(), signature);
    if first.is_ok()
        || identity.kind != IdentityKind::Email
        || identity.identity == identity.subject
    {
        return first;
    }
    pop::verify_challenge(key, identity.identity.as_bytes(), signature)
}

/// The SAN for the identity, as Fulcio writes it; `ci_server` is the CI server's
/// base URL ([`ci_server_url`]).
fn san_for(identity: &VerifiedIdentity, ci_server: Option<&str>) -> Result<San, IssueError> {
    Ok(match identity.kind {
        IdentityKind::Email => San::Email(identity.identity.clone()),
        IdentityKind::Spiffe | IdentityKind::Uri => San::Uri(identity.identity.clone()),
        IdentityKind::Username => San::Username(format!(
            "{}!{}",
            identity.identity,
            host_of(&identity.issuer)
        )),
        // GitHub-style tokens name the workflow file in `job_workflow_ref`; that URL is
        // the identity cosign policies match on. Other CI systems: `sub`.
        IdentityKind::CiWorkflow => {
            match (claim(&identity.claims, "job_workflow_ref"), ci_server) {
                (Some(workflow), Some(server)) => San::Uri(format!("{server}/{workflow}")),
                _ => San::Uri(identity.identity.clone()),
            }
        }
    })
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The CI server's base URL for a CI-workflow identity: the issuer's configured
/// `configured` URL, else github.com for GitHub's token issuer. Never the token's
/// `server_url` claim: the certificate's URIs are what policies match on, and a claim
/// would let whoever controls the token's contents (a GitHub Enterprise tenant, a
/// self-hosted CI under a meta-issuer) name another server's repositories.
fn ci_server_url(identity: &VerifiedIdentity, configured: Option<&str>) -> Option<String> {
    if identity.kind != IdentityKind::CiWorkflow {
        return None;
    }
    if let Some(url) = configured {
        return Some(url.trim_end_matches('/').to_string());
    }
    (host_of(&identity.issuer) == "token.actions.githubusercontent.com")
        .then(|| "https://github.com".to_string())
}

/// Fulcio's extensions for `identity`: the OIDC issuer, and for CI workflows the
/// deprecated raw claims (.2–.6, still read by older verifiers) and the build claims
/// (.9–.22) the token has.
fn fulcio_extensions(identity: &VerifiedIdentity, ci_server: Option<&str>) -> FulcioExtensions {
    let mut out = FulcioExtensions {
        issuer: Some(identity.issuer.clone()),
        ..FulcioExtensions::default()
    };
    if identity.kind != IdentityKind::CiWorkflow {
        return out;
    }
    let claims = &identity.claims;
    let with_server =
        |path: Option<String>| -> Option<String> { Some(format!("{}/{}", ci_server?, path?)) };
    let get = |name: &str| claim(claims, name).map(str::to_string);
    let run_invocation = match (get("repository"), get("run_id"), get("run_attempt")) {
        (Some(repo), Some(id), Some(attempt)) => {
            with_server(Some(format!("{repo}/actions/runs/{id}/attempts/{attempt}")))
        }
        _ => None,
    };
    // Deprecated raw-value extensions, still read by older verifiers.
    out.github_workflow_trigger = get("event_name");
    out.github_workflow_sha = get("sha");
    out.github_workflow_name = get("workflow");
    out.github_workflow_repository = get("repository");
    out.github_workflow_ref = get("ref");
    out.build_signer_uri = with_server(get("job_workflow_ref"));
    out.build_signer_digest = get("job_workflow_sha");
    out.runner_environment = get("runner_environment");
    out.source_repository_uri = with_server(get("repository"));
    out.source_repository_digest = get("sha");
    out.source_repository_ref = get("ref");
    out.source_repository_identifier = get("repository_id");
    out.source_repository_owner_uri = with_server(get("repository_owner"));
    out.source_repository_owner_identifier = get("repository_owner_id");
    out.build_config_uri = with_server(get("workflow_ref"));
    out.build_config_digest = get("workflow_sha");
    out.build_trigger = get("event_name");
    out.run_invocation_uri = run_invocation;
    out.source_repository_visibility_at_signing = get("repository_visibility");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(kind: IdentityKind, claims: Value) -> VerifiedIdentity {
        VerifiedIdentity {
            issuer: "https://token.actions.githubusercontent.com".into(),
            subject: "repo:octo/app:ref:refs/heads/main".into(),
            identity: "repo:octo/app:ref:refs/heads/main".into(),
            kind,
            expires_at: 0,
            issued_at: None,
            token_id: [0; 32],
            claims,
        }
    }

    /// The SAN and extensions the CA writes for `id` when its issuer is configured
    /// with `configured` as `ci_server_url`.
    fn issued(id: &VerifiedIdentity, configured: Option<&str>) -> (San, FulcioExtensions) {
        let server = ci_server_url(id, configured);
        (
            san_for(id, server.as_deref()).unwrap(),
            fulcio_extensions(id, server.as_deref()),
        )
    }

    /// The token's `server_url` claim names no server: GitHub's issuer means
    /// github.com, another CI issuer its configured URL, or no URL at all.
    #[test]
    fn the_ci_server_url_comes_from_configuration_not_the_token() {
        let claims = serde_json::json!({
            "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
            "repository": "octo/app",
            "server_url": "https://evil.example",
        });
        let github = identity(IdentityKind::CiWorkflow, claims.clone());
        let (san, exts) = issued(&github, None);
        assert_eq!(
            san,
            San::Uri(
                "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main".into()
            )
        );
        assert_eq!(
            exts.source_repository_uri.as_deref(),
            Some("https://github.com/octo/app")
        );

        let mut other = identity(IdentityKind::CiWorkflow, claims);
        other.issuer = "https://ci.example.com/oidc".into();
        let (san, exts) = issued(&other, None);
        assert_eq!(san, San::Uri(other.subject.clone()), "no server: the sub");
        assert_eq!(exts.source_repository_uri, None);
        assert_eq!(exts.build_signer_uri, None);
        let (san, exts) = issued(&other, Some("https://git.example.com/"));
        assert_eq!(
            san,
            San::Uri(
                "https://git.example.com/octo/app/.github/workflows/release.yml@refs/heads/main"
                    .into()
            )
        );
        assert_eq!(
            exts.source_repository_uri.as_deref(),
            Some("https://git.example.com/octo/app")
        );
    }

    #[test]
    fn github_workflow_identity_uses_the_workflow_url() {
        let id = identity(
            IdentityKind::CiWorkflow,
            serde_json::json!({
                "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
                "repository": "octo/app", "run_id": "42", "run_attempt": "1",
                "sha": "abc", "event_name": "push"
            }),
        );
        let (san, exts) = issued(&id, None);
        assert_eq!(
            san,
            San::Uri(
                "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main".into()
            )
        );
        let exts = exts.render().unwrap();
        let arcs: Vec<String> = exts.iter().map(|e| e.extn_id.to_string()).collect();
        assert!(arcs.contains(&"1.3.6.1.4.1.57264.1.21".to_string()));
        assert!(arcs.contains(&"1.3.6.1.4.1.57264.1.3".to_string()));
        // v2 values are DER UTF8Strings.
        let run = exts
            .iter()
            .find(|e| e.extn_id.to_string() == "1.3.6.1.4.1.57264.1.21")
            .unwrap();
        let bytes = run.extn_value.as_bytes();
        assert_eq!(bytes[0], 0x0c);
        assert!(bytes.ends_with(b"https://github.com/octo/app/actions/runs/42/attempts/1"));
    }

    #[test]
    fn other_kinds_get_no_workflow_extensions() {
        let id = identity(IdentityKind::Uri, serde_json::json!({ "sha": "abc" }));
        let (san, exts) = issued(&id, Some("https://git.example.com"));
        assert_eq!(
            exts,
            FulcioExtensions {
                issuer: Some(id.issuer.clone()),
                ..FulcioExtensions::default()
            }
        );
        assert_eq!(san, San::Uri("repo:octo/app:ref:refs/heads/main".into()));
    }

    #[test]
    fn username_is_qualified_by_the_issuer_host() {
        let mut id = identity(IdentityKind::Username, serde_json::json!({}));
        id.identity = "alice".into();
        id.issuer = "https://login.example.com/realm".into();
        assert_eq!(
            issued(&id, None).0,
            San::Username("alice!login.example.com".into())
        );
    }
}
