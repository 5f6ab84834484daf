//! `certcentral-bench issue`: a load generator for the CA's Fulcio v2 `signingCert`.
//!
//! Phases:
//! 1. setup (not timed as load): dev tokens for K identities from `/dev/oidc/token`, a
//!    pool of P-256 keys, and every request body built ahead — each proof of possession
//!    signs its token's `sub`, so one body per (key, identity) pair — so that the timed
//!    loop only sends bytes;
//! 2. a sanity request, checked in full: the chain parses, the leaf names the requested
//!    email and certifies our key; its SCT count L sizes the crypto ceiling;
//! 3. the crypto ceiling, measured on one thread (see [`super::crypto_ceiling`]);
//! 4. N requests with C in flight over one keep-alive pool, latency per request, errors
//!    tallied by status and server message.
//!
//! The answers of the timed phase are counted by status only (2xx = issued): parsing
//! each chain would spend client CPU on the cores the server is being measured on.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use cli::fulcio::{self, PreparedRequest, SigningCertRequest};
use cli::issued::{self, IssuedChain};
use cli::keygen::{self, Algorithm};
use cli::oidc;
use cli::request_key::RequestKey;
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use serde::Serialize;

use super::crypto_ceiling::{self, Ceiling};
use super::ct::PhaseReport;
use super::http::{load_client, progress_bar};
use super::load::{ErrorCount, LoadOutcome, PostLoad, PreparedPost, Refusal, top_messages};
use super::rss;

/// Keys in the pool when `--keys` is not given (fewer if N is smaller): enough that
/// requests do not all present one key, few enough that setup stays well under a second.
const DEFAULT_KEY_POOL: u32 = 256;
/// Distinct error messages listed in the report.
const TOP_ERRORS: usize = 5;

/// Arguments of `certcentral-bench issue`.
#[derive(Debug, clap::Args)]
pub struct IssueBenchArgs {
    /// Root URL of a `certcentral serve --dev` server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// Number of certificates to request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// Concurrent in-flight requests.
    #[arg(long, short = 'c', default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub concurrency: u32,
    /// Distinct identities (dev tokens) the requests cycle through.
    #[arg(long, value_name = "K", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub emails: u32,
    /// P-256 keys in the pool [default: min(N, 256)].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub keys: Option<u32>,
    /// Prove possession with PKCS#10 CSRs (token in `Authorization: Bearer`).
    #[arg(long)]
    pub csr: bool,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Read the server's peak RSS from /proc/PID/status instead of GET /healthz.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Tokio worker threads for the HTTP load.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Time spent measuring each crypto primitive for the ceiling, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub ceiling_ms: u64,
}

/// Runs the benchmark; fails if the sanity request fails or nothing was issued.
pub fn run(args: IssueBenchArgs) -> anyhow::Result<ExitCode> {
    let base = cli::cert::server_root(&args.url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = load_client(args.concurrency, args.timeout, false, "bench issue")?;
    let interactive = std::io::stderr().is_terminal();

    // 1. Setup.
    let started = Instant::now();
    let emails: Vec<String> = (0..args.emails)
        .map(|i| format!("ccc-bench-{i}@example.com"))
        .collect();
    let mut identities = Vec::with_capacity(emails.len());
    for email in &emails {
        let token = runtime
            .block_on(oidc::mint_dev_token(&client, &base, email))
            .context("setup: minting dev tokens (is `certcentral serve --dev` at --url?)")?;
        let sub = oidc::subject(&token).context("setup: the dev token")?;
        identities.push(Identity { token, sub });
    }
    ensure!(!identities.is_empty(), "--emails must be at least 1");
    let plan = RequestPlan::new(
        args.n as usize,
        args.keys.unwrap_or(args.n.min(DEFAULT_KEY_POOL)) as usize,
        identities.len(),
    );
    let keys = (0..plan.keys_used())
        .map(|_| RequestKey::new(keygen::generate(Algorithm::P256)?))
        .collect::<anyhow::Result<Vec<_>>>()
        .context("setup: generating keys")?;
    let prepared = if args.csr {
        prepare_csr_requests(&plan, &keys, &identities)?
    } else {
        prepare_proof_requests(&plan, &keys, &identities)?
    };
    let setup = SetupReport {
        identities: identities.len(),
        keys: keys.len(),
        distinct_requests: prepared.len(),
        secs: started.elapsed().as_secs_f64(),
    };
    if !args.json {
        eprintln!(
            "setup: {} dev tokens, {} P-256 keys, {} distinct request bodies in {:.2} s",
            setup.identities, setup.keys, setup.distinct_requests, setup.secs
        );
    }

    // 2. Sanity request (request 0: key 0, identity 0).
    let started = Instant::now();
    let pems = runtime
        .block_on(fulcio::request_certificate(&client, &base, &prepared[0]))
        .context("sanity request")?;
    let sanity_ms = started.elapsed().as_secs_f64() * 1000.0;
    let sanity = check_sanity(&pems, &emails[0], &keys[0], sanity_ms)?;
    if !args.json {
        eprintln!(
            "sanity: {}-certificate chain, leaf for {} with {} embedded SCTs, our key ({:.1} ms)",
            sanity.chain_len, sanity.email, sanity.embedded_scts, sanity.latency_ms
        );
    }

    // 3. Crypto ceiling, before the load so neither disturbs the other.
    let primitives = crypto_ceiling::measure(Duration::from_millis(args.ceiling_ms))?;
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let ceiling = Ceiling::new(primitives, sanity.embedded_scts, cores);

    // 4. Load.
    let load = PostLoad {
        client: client.clone(),
        url: Url::parse(&fulcio::signing_cert_url(&base)).context("signingCert URL")?,
        content_type: HeaderValue::from_static("application/json"),
        requests: prepared
            .into_iter()
            .map(|p| PreparedPost {
                body: p.body,
                authorization: p.bearer,
            })
            .collect(),
        total: args.n as usize,
    };
    let bar = progress_bar(interactive, u64::from(args.n), "signingCert");
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let cpu_before = server_pid.as_deref().and_then(rss::proc_cpu_secs);
    let LoadOutcome { phase, messages } =
        runtime.block_on(load.run(args.concurrency as usize, &bar, check_issued));
    let cpu_after = server_pid.as_deref().and_then(rss::proc_cpu_secs);
    bar.finish_and_clear();
    let server_cpu = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => Some(ServerCpu::new(
            after - before,
            phase.wall_secs,
            phase.ok,
            ceiling.cost_us_per_cert,
        )),
        _ => None,
    };

    // 5. Memory.
    let rss = runtime.block_on(rss::PeakRss::measure(
        &client,
        &format!("{base}/healthz"),
        args.server_pid,
    ));

    let achieved = phase.ok_per_sec;
    let report = Report {
        url: base,
        mode: if args.csr {
            "csr"
        } else {
            "proof-of-possession"
        },
        concurrency: args.concurrency,
        runtime_threads: args.threads,
        setup,
        sanity,
        top_errors: top_messages(messages, TOP_ERRORS),
        ceiling_ratio: if ceiling.all_cores_certs_per_sec > 0.0 {
            achieved / ceiling.all_cores_certs_per_sec
        } else {
            0.0
        },
        achieved_certs_per_sec: achieved,
        ceiling,
        signing_cert: phase,
        server_cpu,
        rss,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.signing_cert.ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A dev token and its `sub`.
struct Identity {
    token: String,
    sub: String,
}

/// Which key and identity each distinct request body uses. Body `p` pairs identity
/// `p mod K` with key `(p div K) mod keys`: consecutive requests rotate through all
/// identities, and over `keys × K` bodies every pair occurs once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RequestPlan {
    bodies: usize,
    keys: usize,
    identities: usize,
}

impl RequestPlan {
    /// Bodies for `n` requests: one per pair, never more than `n`.
    fn new(n: usize, keys: usize, identities: usize) -> Self {
        let (keys, identities) = (keys.max(1), identities.max(1));
        Self {
            bodies: n.min(keys.saturating_mul(identities)).max(1),
            keys,
            identities,
        }
    }

    /// Keys the bodies actually use (no point generating the others).
    fn keys_used(&self) -> usize {
        self.keys.min(self.bodies.div_ceil(self.identities))
    }

    /// (key, identity) of body `p`.
    fn pair(&self, p: usize) -> (usize, usize) {
        ((p / self.identities) % self.keys, p % self.identities)
    }
}

/// Public key + proof of possession bodies, one per (key, identity) pair: the proof
/// signs the identity's `sub`, so it cannot be shared between identities.
fn prepare_proof_requests(
    plan: &RequestPlan,
    keys: &[RequestKey],
    identities: &[Identity],
) -> anyhow::Result<Vec<PreparedRequest>> {
    (0..plan.bodies)
        .map(|p| {
            let (k, i) = plan.pair(p);
            let id = &identities[i];
            SigningCertRequest::with_proof(&id.token, &keys[k], &id.sub)?.prepare(None)
        })
        .collect::<anyhow::Result<_>>()
        .context("setup: building proof-of-possession requests")
}

/// CSR bodies, one per key (a CSR does not depend on the identity), with the
/// identity's token as the bearer header.
fn prepare_csr_requests(
    plan: &RequestPlan,
    keys: &[RequestKey],
    identities: &[Identity],
) -> anyhow::Result<Vec<PreparedRequest>> {
    let bodies = keys
        .iter()
        .map(|key| {
            SigningCertRequest::with_csr(&key.csr_pem()?)
                .prepare(None)
                .map(|r| r.body)
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context("setup: building CSRs")?;
    let bearers = identities
        .iter()
        .map(|id| fulcio::bearer_header(&id.token))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((0..plan.bodies)
        .map(|p| {
            let (k, i) = plan.pair(p);
            PreparedRequest {
                body: bodies[k].clone(),
                bearer: Some(bearers[i].clone()),
            }
        })
        .collect())
}

/// What the sanity request established.
#[derive(Debug, Serialize)]
struct SanityReport {
    email: String,
    chain_len: usize,
    embedded_scts: usize,
    latency_ms: f64,
}

/// The chain must parse, and its leaf must name `email` and certify `key` — otherwise
/// the "benchmark" would time something other than correct issuance.
fn check_sanity(
    pems: &[String],
    email: &str,
    key: &RequestKey,
    latency_ms: f64,
) -> anyhow::Result<SanityReport> {
    let chain = IssuedChain::parse(pems).context("sanity: the issued chain")?;
    let leaf = chain.leaf();
    let emails = issued::san_emails(leaf).context("sanity: the leaf's SAN")?;
    ensure!(
        emails.iter().any(|e| e == email),
        "sanity: the leaf's SAN emails are {emails:?}, not the requested {email}"
    );
    let spki = der::Encode::to_der(leaf.tbs_certificate().subject_public_key_info())
        .context("sanity: encoding the leaf's public key")?;
    ensure!(
        spki == key.spki_der(),
        "sanity: the leaf certifies another public key than the one requested"
    );
    Ok(SanityReport {
        email: email.to_owned(),
        chain_len: chain.certificates.len(),
        embedded_scts: issued::count_embedded_scts(&chain.leaf_der)?,
        latency_ms,
    })
}

/// A timed answer counts as issued by its status alone (2xx); a refusal is tallied by
/// the server's message.
fn check_issued(status: StatusCode, body: &[u8]) -> Result<(), Refusal> {
    if status.is_success() {
        Ok(())
    } else {
        Err(Refusal::status(status, fulcio::error_message(body)))
    }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct SetupReport {
    identities: usize,
    keys: usize,
    distinct_requests: usize,
    secs: f64,
}

/// How busy the server was during the timed phase (`--server-pid` only): whether the
/// CA ran out of CPU or waited (for log sequencing, say), and how much of its CPU per
/// certificate the crypto accounts for.
#[derive(Debug, Serialize)]
struct ServerCpu {
    /// User + system CPU seconds the server used during the timed phase.
    secs: f64,
    /// `secs` / wall time: cores kept busy on average.
    cores_busy: f64,
    /// Server CPU per issued certificate, microseconds.
    us_per_cert: f64,
    /// The ceiling's crypto cost per certificate as a fraction of `us_per_cert`.
    crypto_share: f64,
}

impl ServerCpu {
    fn new(secs: f64, wall_secs: f64, issued: u64, crypto_us_per_cert: f64) -> Self {
        let us_per_cert = if issued > 0 {
            secs * 1e6 / issued as f64
        } else {
            0.0
        };
        Self {
            secs,
            cores_busy: if wall_secs > 0.0 {
                secs / wall_secs
            } else {
                0.0
            },
            us_per_cert,
            crypto_share: if us_per_cert > 0.0 {
                crypto_us_per_cert / us_per_cert
            } else {
                0.0
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    url: String,
    mode: &'static str,
    concurrency: u32,
    runtime_threads: u32,
    setup: SetupReport,
    sanity: SanityReport,
    signing_cert: PhaseReport,
    /// Most frequent failures, by status and server message.
    top_errors: Vec<ErrorCount>,
    ceiling: Ceiling,
    achieved_certs_per_sec: f64,
    /// achieved / the all-cores ceiling.
    ceiling_ratio: f64,
    /// Server CPU during the timed phase (`--server-pid` only).
    server_cpu: Option<ServerCpu>,
    #[serde(flatten)]
    rss: rss::PeakRss,
}

impl Report {
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "certcentral-bench issue  {}  ({}, concurrency {}, {} runtime threads, http/1.1)",
            self.url, self.mode, self.concurrency, self.runtime_threads
        );
        self.signing_cert.write_text(&mut out, "signingCert");
        if !self.top_errors.is_empty() {
            let _ = writeln!(out, "  top errors");
            for e in &self.top_errors {
                let _ = writeln!(out, "    {:>8} × {}", e.count, e.message);
            }
        }
        let c = &self.ceiling;
        let p = &c.primitives;
        let _ = writeln!(
            out,
            "crypto (1 thread, aws-lc-rs, this run): P-256 sign {:.1} µs, P-256 verify {:.1} µs, RSA-2048 verify {:.1} µs",
            p.ecdsa_p256_sign_us, p.ecdsa_p256_verify_us, p.rsa2048_verify_us
        );
        let _ = writeln!(out, "formula: {}", c.formula);
        let _ = writeln!(
            out,
            "crypto ceiling: {:.0} certs/s per core, {:.0} for {} cores",
            c.per_core_certs_per_sec, c.all_cores_certs_per_sec, c.cores
        );
        let _ = writeln!(
            out,
            "achieved: {:.0} certs/s = {:.2} × the {}-core ceiling",
            self.achieved_certs_per_sec, self.ceiling_ratio, c.cores
        );
        if let Some(cpu) = &self.server_cpu {
            let _ = writeln!(
                out,
                "server CPU during the load: {:.1} s = {:.2} cores busy, {:.0} µs per certificate \
                 (crypto cost {:.1} µs = {:.0} % of it)",
                cpu.secs,
                cpu.cores_busy,
                cpu.us_per_cert,
                c.cost_us_per_cert,
                cpu.crypto_share * 100.0
            );
        }
        self.rss.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_covers_every_pair_once_and_rotates_identities() {
        let plan = RequestPlan::new(10_000, 4, 3);
        assert_eq!(plan.bodies, 12);
        assert_eq!(plan.keys_used(), 4);
        let pairs: std::collections::HashSet<_> = (0..plan.bodies).map(|p| plan.pair(p)).collect();
        assert_eq!(pairs.len(), 12, "every (key, identity) pair once");
        // Consecutive requests use different identities.
        assert_eq!(plan.pair(0).1, 0);
        assert_eq!(plan.pair(1).1, 1);
        assert_eq!(plan.pair(2).1, 2);
    }

    #[test]
    fn plan_for_few_requests_builds_only_what_is_sent() {
        let plan = RequestPlan::new(5, 256, 8);
        assert_eq!(plan.bodies, 5);
        assert_eq!(plan.keys_used(), 1);
        let plan = RequestPlan::new(20, 20, 8);
        assert_eq!(plan.bodies, 20);
        assert_eq!(plan.keys_used(), 3);
        assert!((0..plan.bodies).all(|p| plan.pair(p).0 < plan.keys_used()));
    }

    fn identities() -> Vec<Identity> {
        ["a@example.com", "b@example.com"]
            .iter()
            .map(|e| Identity {
                token: format!("h.{e}.s"),
                sub: (*e).to_owned(),
            })
            .collect()
    }

    fn pool(n: usize) -> Vec<RequestKey> {
        (0..n)
            .map(|_| RequestKey::new(keygen::generate(Algorithm::P256).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn proof_bodies_sign_their_own_identity() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
        use base64::Engine;
        let ids = identities();
        let plan = RequestPlan::new(100, 2, ids.len());
        let keys = pool(plan.keys_used());
        let bodies = prepare_proof_requests(&plan, &keys, &ids).unwrap();
        assert_eq!(bodies.len(), 4);
        for (p, req) in bodies.iter().enumerate() {
            let (k, i) = plan.pair(p);
            assert!(req.bearer.is_none());
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(v["credentials"]["oidcIdentityToken"], ids[i].token);
            let proof = base64::engine::general_purpose::STANDARD
                .decode(v["publicKeyRequest"]["proofOfPossession"].as_str().unwrap())
                .unwrap();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, keys[k].key_pair().public_key_raw())
                .verify(ids[i].sub.as_bytes(), &proof)
                .unwrap();
        }
    }

    #[test]
    fn csr_bodies_carry_the_token_in_the_header() {
        let ids = identities();
        let plan = RequestPlan::new(3, 2, ids.len());
        let keys = pool(plan.keys_used());
        let bodies = prepare_csr_requests(&plan, &keys, &ids).unwrap();
        assert_eq!(bodies.len(), 3);
        for (p, req) in bodies.iter().enumerate() {
            let (_, i) = plan.pair(p);
            let bearer = req.bearer.as_ref().unwrap().to_str().unwrap();
            assert_eq!(bearer, format!("Bearer {}", ids[i].token));
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            assert!(v.get("credentials").is_none());
            assert!(v["certificateSigningRequest"].is_string());
        }
    }

    #[test]
    fn server_cpu_per_cert_and_crypto_share() {
        let cpu = ServerCpu::new(15.0, 10.0, 20_000, 300.0);
        assert!((cpu.cores_busy - 1.5).abs() < 1e-9);
        assert!((cpu.us_per_cert - 750.0).abs() < 1e-9);
        assert!((cpu.crypto_share - 0.4).abs() < 1e-9);
        let none = ServerCpu::new(1.0, 0.0, 0, 300.0);
        assert_eq!(
            (none.cores_busy, none.us_per_cert, none.crypto_share),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn sanity_rejects_another_identity() {
        use rcgen::{CertificateParams, SanType};
        let key = pool(1).remove(0);
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![SanType::Rfc822Name("a@example.com".try_into().unwrap())];
        let cert = params.self_signed(key.key_pair()).unwrap();
        let chain = [cert.pem()];
        let ok = check_sanity(&chain, "a@example.com", &key, 1.0).unwrap();
        assert_eq!((ok.chain_len, ok.embedded_scts), (1, 0));
        let err = check_sanity(&chain, "b@example.com", &key, 1.0).unwrap_err();
        assert!(
            err.to_string().contains("not the requested b@example.com"),
            "{err}"
        );
        let other = pool(1).remove(0);
        let err = check_sanity(&chain, "a@example.com", &other, 1.0).unwrap_err();
        assert!(err.to_string().contains("another public key"), "{err}");
    }
}
