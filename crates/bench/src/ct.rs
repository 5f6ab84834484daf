//! `certcentral-bench ct`: a load generator for an RFC 6962 CT log.
//!
//! Phases, each timed on its own:
//! 1. pre-flight: the log must list the bench root in `get-roots` (otherwise every
//!    submission would fail with 400 and the "benchmark" would measure rejections);
//! 2. pre-build N leaf certificates on all cores (not timed as load);
//! 3. submit them with C concurrent tasks sharing one keep-alive connection pool;
//! 4. optionally, once the STH covers the entries, M `get-proof-by-hash` reads.
//!
//! The bench shares its machine with the server, so the client must stay cheap: one
//! `reqwest::Client`, per-task sample vectors merged at the end, a single relaxed atomic
//! per request for work distribution and one for progress.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use indicatif::ProgressBar;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;

use super::certs::{BenchRoot, LeafSet};
use super::http::{get_json, join_workers, progress_bar, send_timed, spawn_ticker};
use super::rss;
use crate::ctapi::{
    self, AddChainResponse, GetRootsResponse, GetSthResponse, LogKey, LogList, ProofByHashResponse,
    TreeHead,
};
use crate::stats::{ErrorKind, LatencySummary, Recorder, rate};

/// Every `PROOF_VERIFY_EVERY`-th proof read is fully verified against the STH root; the
/// others are only checked for the expected leaf index, to keep client CPU off the
/// server's cores.
const PROOF_VERIFY_EVERY: u64 = 100;

/// Arguments of `certcentral-bench ct`.
#[derive(Debug, clap::Args)]
pub struct CtBenchArgs {
    /// Base URL of the log, e.g. http://127.0.0.1:8080/logs/dev-a
    #[arg(long)]
    pub url: String,
    /// Number of distinct certificates to submit.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// Concurrent in-flight requests.
    #[arg(long, short = 'c', default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub concurrency: u32,
    /// Bench root CA certificate (PEM); created with --root-key if both are missing.
    #[arg(long, default_value = "./ccc-bench-root.pem")]
    pub root_cert: PathBuf,
    /// Bench root CA private key (PKCS#8 PEM).
    #[arg(long, default_value = "./ccc-bench-root.key")]
    pub root_key: PathBuf,
    /// Verify every SCT signature with the log key from /logs/log_list.json.
    #[arg(long)]
    pub verify: bool,
    /// Log key (base64 SubjectPublicKeyInfo DER) instead of looking it up in the log list.
    #[arg(long, value_name = "B64_SPKI")]
    pub log_key: Option<String>,
    /// After submitting, issue M get-proof-by-hash reads for random submitted entries.
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub read_proofs: u64,
    /// Concurrent reads during --read-proofs [default: --concurrency, at most 64].
    /// Writes need thousands in flight to fill a batch; reads are answered at once,
    /// so a few dozen connections saturate the server.
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub read_concurrency: Option<u32>,
    /// Read the server's peak RSS from /proc/PID/status instead of GET /healthz.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Tokio worker threads for the HTTP load.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,
    /// OS threads for pre-building certificates [default: all cores].
    #[arg(long)]
    pub build_threads: Option<usize>,
    /// Speak HTTP/2 over cleartext (prior knowledge) instead of HTTP/1.1.
    #[arg(long)]
    pub h2c: bool,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// How long to wait for the STH to cover the submitted entries before reading, seconds.
    #[arg(long, default_value_t = 10)]
    pub sth_wait: u64,
}

/// Runs the benchmark; the exit code is a failure if nothing succeeded or any
/// cryptographic check failed.
pub fn run(args: CtBenchArgs) -> anyhow::Result<ExitCode> {
    let base_str = args.url.trim_end_matches('/');
    let base = Url::parse(base_str).with_context(|| format!("--url {:?}", args.url))?;
    match base.scheme() {
        "http" => {}
        "https" => bail!("this build of ccc speaks plain HTTP only; use an http:// URL"),
        other => bail!("--url: unsupported scheme {other:?}"),
    }
    let server_root = base.join("/").context("deriving the server root URL")?;
    let endpoints = Endpoints::new(base_str, &server_root)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = super::http::load_client(args.concurrency, args.timeout, args.h2c, "bench ct")?;
    let interactive = std::io::stderr().is_terminal();

    // 1. Root CA and pre-flight.
    let root = BenchRoot::load_or_create(&args.root_cert, &args.root_key)?;
    if root.created {
        eprintln!(
            "created bench root {} (key {}, mode 0600).\n\
             The server must accept this root — start it with \
             `certcentral serve --dev --roots {}`",
            args.root_cert.display(),
            args.root_key.display(),
            args.root_cert.display()
        );
    }
    runtime.block_on(check_root_accepted(&client, &endpoints, &root, &args))?;
    let log_key = if args.verify || args.log_key.is_some() {
        Some(runtime.block_on(find_log_key(
            &client,
            &endpoints,
            &base,
            &server_root,
            &args,
        ))?)
    } else {
        None
    };
    if let (Some(key), false) = (&log_key, args.json) {
        eprintln!(
            "log key: {} (log id {})",
            key.description,
            B64.encode(key.log_id)
        );
    }

    // 2. Pre-build.
    let n = args.n as usize;
    let build_threads = args
        .build_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |p| p.get()))
        .max(1);
    let bar = progress_bar(interactive, n as u64, "building");
    let started = Instant::now();
    let leaves = LeafSet::build(&root, n, build_threads, &bar)?;
    let build_time = started.elapsed();
    bar.finish_and_clear();
    let prebuild = PrebuildReport {
        count: n,
        threads: build_threads,
        secs: build_time.as_secs_f64(),
        per_sec: rate(n as u64, build_time),
        der_bytes: leaves.total_bytes(),
    };
    if !args.json {
        eprintln!(
            "pre-built {} leaf certificates in {:.2} s ({:.0} certs/s on {} threads, {:.1} MiB DER)",
            prebuild.count,
            prebuild.secs,
            prebuild.per_sec,
            prebuild.threads,
            prebuild.der_bytes as f64 / (1024.0 * 1024.0)
        );
    }

    // 3. Submit.
    let submitter = Arc::new(Submitter {
        client: client.clone(),
        url: endpoints.add_chain.clone(),
        root_b64: B64.encode(&root.cert_der),
        leaves,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        log_key: log_key.clone(),
        keep_entries: args.read_proofs > 0,
    });
    let bar = progress_bar(interactive, n as u64, "add-chain");
    let (submit, accepted) = runtime.block_on(run_submissions(
        submitter.clone(),
        args.concurrency as usize,
        &bar,
    ));
    bar.finish_and_clear();
    let mut verification_failed = submit.errors_contain(ErrorKind::Verify);
    let mut any_ok = submit.ok > 0;

    // 4. Proof reads.
    let read = if args.read_proofs > 0 {
        let targets: Vec<ProofTarget> = accepted;
        let outcome = runtime.block_on(run_reads(
            &client,
            &endpoints,
            targets,
            log_key.as_ref(),
            &args,
            interactive,
        ))?;
        verification_failed |=
            outcome.sth_verified == Some(false) || outcome.phase.errors_contain(ErrorKind::Verify);
        any_ok &= outcome.phase.ok > 0;
        Some(outcome)
    } else {
        None
    };

    // 5. Memory.
    let rss = runtime.block_on(rss::PeakRss::measure(
        &client,
        &endpoints.healthz,
        args.server_pid,
    ));

    let report = Report {
        url: base_str.to_owned(),
        concurrency: args.concurrency,
        runtime_threads: args.threads,
        http: if args.h2c { "h2c" } else { "http/1.1" },
        prebuild,
        add_chain: submit,
        sct_verification: log_key.is_some() && args.verify,
        read_proofs: read,
        rss,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(if verification_failed || !any_ok {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The URLs the bench uses, built once.
#[derive(Clone)]
struct Endpoints {
    base: String,
    add_chain: Url,
    get_sth: String,
    get_roots: String,
    log_list: String,
    healthz: String,
}

impl Endpoints {
    fn new(base: &str, server_root: &Url) -> anyhow::Result<Self> {
        Ok(Self {
            base: base.to_owned(),
            add_chain: Url::parse(&format!("{base}/ct/v1/add-chain"))?,
            get_sth: format!("{base}/ct/v1/get-sth"),
            get_roots: format!("{base}/ct/v1/get-roots"),
            log_list: server_root.join("/logs/log_list.json")?.to_string(),
            healthz: server_root.join("/healthz")?.to_string(),
        })
    }

    /// `get-proof-by-hash` for `hash` at `tree_size`, written into `out` (reused buffer).
    fn proof_by_hash(&self, out: &mut String, hash: &[u8; 32], tree_size: u64) {
        use std::fmt::Write;
        out.clear();
        out.push_str(&self.base);
        out.push_str("/ct/v1/get-proof-by-hash?hash=");
        let mut b64 = [0u8; 44];
        let len = B64
            .encode_slice(hash, &mut b64)
            .expect("32 bytes encode to 44 base64 characters");
        // base64 output is ASCII.
        ctapi::push_query_value(out, std::str::from_utf8(&b64[..len]).unwrap_or_default());
        let _ = write!(out, "&tree_size={tree_size}");
    }
}

/// Fails early if the log does not list the bench root as accepted.
async fn check_root_accepted(
    client: &Client,
    endpoints: &Endpoints,
    root: &BenchRoot,
    args: &CtBenchArgs,
) -> anyhow::Result<()> {
    let roots: GetRootsResponse = match get_json(client, &endpoints.get_roots).await {
        Ok(roots) => roots,
        // No connection at all: nothing to benchmark.
        Err(e) if e.chain().any(|c| c.is::<reqwest::Error>()) => {
            return Err(e.context("pre-flight: is the log server running at --url?"));
        }
        // The log answered but get-roots is unusable: let add-chain tell the truth.
        Err(e) => {
            eprintln!("warning: cannot check the accepted roots: {e:#}");
            return Ok(());
        }
    };
    if roots.certificates.contains(&root.cert_der) {
        return Ok(());
    }
    bail!(
        "the log at {} does not accept the bench root {} ({} roots listed).\n\
         The server must accept this root — start it with \
         `certcentral serve --dev --roots {}`",
        endpoints.base,
        args.root_cert.display(),
        roots.certificates.len(),
        args.root_cert.display()
    )
}

/// The log's key: `--log-key`, else the log-list entry whose `url` is `--url`, else the
/// single log-list key that verifies the log's current STH signature.
async fn find_log_key(
    client: &Client,
    endpoints: &Endpoints,
    base: &Url,
    server_root: &Url,
    args: &CtBenchArgs,
) -> anyhow::Result<LogKey> {
    if let Some(b64) = &args.log_key {
        let spki = B64
            .decode(b64.trim())
            .context("--log-key: invalid base64")?;
        return Ok(LogKey::from_spki("--log-key", spki));
    }
    let list: LogList = get_json(client, &endpoints.log_list)
        .await
        .context("fetching the log key for --verify (or pass --log-key)")?;
    if let Some(key) = ctapi::find_by_url(&list, base, server_root)? {
        return Ok(key);
    }
    // No URL match (e.g. the list advertises a public hostname): the log's own signed
    // tree head tells which listed key is this log's.
    let sth = get_json::<GetSthResponse>(client, &endpoints.get_sth)
        .await?
        .into_tree_head()?;
    let matching: Vec<LogKey> = list
        .logs()
        .filter_map(|l| ctapi::to_key(l).ok())
        .filter(|k| sth.verify(&k.spki_der).is_ok())
        .collect();
    match <[LogKey; 1]>::try_from(matching) {
        Ok([key]) => Ok(key),
        Err(m) => bail!(
            "{} lists no log with url {} and {} listed keys verify its STH; pass --log-key",
            endpoints.log_list,
            endpoints.base,
            m.len()
        ),
    }
}

// ---------------------------------------------------------------------------
// add-chain
// ---------------------------------------------------------------------------

struct Submitter {
    client: Client,
    url: Url,
    root_b64: String,
    leaves: LeafSet,
    /// Index of the next leaf to submit (work distribution).
    next: AtomicUsize,
    /// Completed requests (progress display only).
    done: AtomicUsize,
    log_key: Option<LogKey>,
    /// Keep each accepted entry's leaf hash and index for the proof-read phase.
    keep_entries: bool,
}

/// An accepted entry, as the read phase needs it.
#[derive(Debug, Clone, Copy)]
struct ProofTarget {
    leaf_hash: merkle::Hash,
    /// From the SCT's static-ct-api `leaf_index` extension, if present.
    leaf_index: Option<u64>,
}

impl Submitter {
    /// `{"chain":["<leaf>","<root>"]}`; base64 needs no JSON escaping.
    fn body(&self, leaf: &[u8]) -> Vec<u8> {
        const HEAD: &[u8] = br#"{"chain":[""#;
        const MID: &[u8] = br#"",""#;
        const TAIL: &[u8] = br#""]}"#;
        let leaf_len = leaf.len().div_ceil(3) * 4;
        let mut body = Vec::with_capacity(
            HEAD.len() + leaf_len + MID.len() + self.root_b64.len() + TAIL.len(),
        );
        body.extend_from_slice(HEAD);
        body.resize(HEAD.len() + leaf_len, 0);
        let written = B64
            .encode_slice(leaf, &mut body[HEAD.len()..])
            .expect("buffer sized for the base64 encoding");
        body.truncate(HEAD.len() + written);
        body.extend_from_slice(MID);
        body.extend_from_slice(self.root_b64.as_bytes());
        body.extend_from_slice(TAIL);
        body
    }

    /// Checks a 2xx `add-chain` answer; returns the entry's proof target.
    fn accept(&self, leaf: &[u8], body: &[u8]) -> Result<ProofTarget, (ErrorKind, String)> {
        let sct = serde_json::from_slice::<AddChainResponse>(body)
            .map_err(|e| e.to_string())
            .and_then(|r| r.into_sct().map_err(|e| e.to_string()))
            .map_err(|e| (ErrorKind::Decode, e))?;
        let leaf_index = pki::ct::parse_leaf_index_extension(&sct.extensions).ok();
        let leaf_hash = match &self.log_key {
            Some(key) => {
                let entry = ctapi::x509_timestamped_entry(leaf, sct.timestamp, &sct.extensions);
                ctapi::verify_sct(&entry, &sct, key)
                    .map_err(|e| (ErrorKind::Verify, e.to_string()))?;
                if self.keep_entries {
                    ctapi::entry_leaf_hash(&entry)
                } else {
                    [0; 32]
                }
            }
            None if self.keep_entries => ctapi::x509_leaf_hash(leaf, &sct),
            None => [0; 32],
        };
        Ok(ProofTarget {
            leaf_hash,
            leaf_index,
        })
    }
}

async fn run_submissions(
    s: Arc<Submitter>,
    concurrency: usize,
    bar: &ProgressBar,
) -> (PhaseReport, Vec<ProofTarget>) {
    let n = s.leaves.len();
    let per_task = n.div_ceil(concurrency) + 1;
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(submit_worker(s.clone(), per_task)))
        .collect();
    let ticker = spawn_ticker(bar.clone(), s.clone(), |s| s.done.load(Ordering::Relaxed));
    let mut rec = Recorder::with_capacity(n);
    let mut accepted = Vec::new();
    join_workers(&mut rec, workers, |rec, (r, a)| {
        rec.merge(r);
        accepted.extend(a);
    })
    .await;
    let wall = started.elapsed();
    ticker.abort();
    (PhaseReport::new(n as u64, rec, wall), accepted)
}

async fn submit_worker(s: Arc<Submitter>, expected: usize) -> (Recorder, Vec<ProofTarget>) {
    let json = HeaderValue::from_static("application/json");
    let mut rec = Recorder::with_capacity(expected);
    let mut accepted = Vec::with_capacity(if s.keep_entries { expected } else { 0 });
    loop {
        let i = s.next.fetch_add(1, Ordering::Relaxed);
        if i >= s.leaves.len() {
            break;
        }
        let leaf = s.leaves.get(i);
        let body = s.body(leaf);
        let request = s
            .client
            .post(s.url.clone())
            .header(CONTENT_TYPE, json.clone())
            .body(body);
        let reply = send_timed(&mut rec, request, |status| status.is_success()).await;
        s.done.fetch_add(1, Ordering::Relaxed);
        let Some((latency, body)) = reply else {
            continue;
        };
        match s.accept(leaf, &body) {
            Ok(target) => {
                rec.ok(latency);
                if s.keep_entries {
                    accepted.push(target);
                }
            }
            Err((kind, detail)) => rec.error_detail(kind, || detail),
        }
    }
    (rec, accepted)
}

// ---------------------------------------------------------------------------
// get-proof-by-hash
// ---------------------------------------------------------------------------

struct Reader {
    client: Client,
    endpoints: Endpoints,
    targets: Vec<ProofTarget>,
    sth: TreeHead,
    total: u64,
    next: std::sync::atomic::AtomicU64,
    done: AtomicUsize,
}

async fn run_reads(
    client: &Client,
    endpoints: &Endpoints,
    accepted: Vec<ProofTarget>,
    log_key: Option<&LogKey>,
    args: &CtBenchArgs,
    interactive: bool,
) -> anyhow::Result<ReadReport> {
    if accepted.is_empty() {
        bail!("--read-proofs: no submission succeeded, nothing to read");
    }
    // Wait until the log has integrated what it promised: RFC 6962 §3 lets a log
    // sequence within its MMD; certcentral sequences about once a second.
    let max_index = accepted.iter().filter_map(|t| t.leaf_index).max();
    let want_size = max_index.map_or(accepted.len() as u64, |i| i + 1);
    let wait_started = Instant::now();
    let deadline = wait_started + Duration::from_secs(args.sth_wait);
    let sth = loop {
        let sth = get_json::<GetSthResponse>(client, &endpoints.get_sth)
            .await?
            .into_tree_head()?;
        if sth.tree_size >= want_size || Instant::now() >= deadline {
            break sth;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let sth_wait_secs = wait_started.elapsed().as_secs_f64();
    let sth_verified = log_key.map(|k| sth.verify(&k.spki_der).is_ok());
    let targets: Vec<ProofTarget> = accepted
        .into_iter()
        .filter(|t| t.leaf_index.is_none_or(|i| i < sth.tree_size))
        .collect();
    if targets.is_empty() {
        bail!(
            "--read-proofs: the STH (tree_size {}) covers none of the submitted entries after {:.1} s",
            sth.tree_size,
            sth_wait_secs
        );
    }
    let covered = targets.len();
    let tree_size = sth.tree_size;

    let reader = Arc::new(Reader {
        client: client.clone(),
        endpoints: endpoints.clone(),
        targets,
        sth,
        total: args.read_proofs,
        next: std::sync::atomic::AtomicU64::new(0),
        done: AtomicUsize::new(0),
    });
    let concurrency = args
        .read_concurrency
        .unwrap_or_else(|| args.concurrency.min(64)) as usize;
    let per_task = usize::try_from(args.read_proofs).unwrap_or(usize::MAX) / concurrency + 1;
    let baseline = run_baseline(client, &endpoints.get_sth, args.read_proofs, concurrency).await;
    let bar = progress_bar(interactive, args.read_proofs, "proofs");
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let seed = random_seed();
            tokio::spawn(read_worker(reader.clone(), per_task, seed))
        })
        .collect();
    let ticker = spawn_ticker(bar.clone(), reader.clone(), |r| {
        r.done.load(Ordering::Relaxed)
    });
    let mut rec = Recorder::with_capacity(usize::try_from(args.read_proofs).unwrap_or(0));
    let mut proofs_verified = 0;
    join_workers(&mut rec, workers, |rec, (r, v)| {
        rec.merge(r);
        proofs_verified += v;
    })
    .await;
    let wall = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    Ok(ReadReport {
        phase: PhaseReport::new(args.read_proofs, rec, wall),
        tree_size,
        entries_covered: covered,
        sth_wait_secs,
        sth_verified,
        proofs_verified,
        get_sth_baseline: baseline,
    })
}

/// `total` GETs of `url` with `concurrency` in flight: the same-run baseline.
async fn run_baseline(client: &Client, url: &str, total: u64, concurrency: usize) -> PhaseReport {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, next) = (client.clone(), url.to_owned(), next.clone());
            tokio::spawn(async move {
                let mut rec = Recorder::with_capacity(0);
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let request = client.get(url.as_str());
                    if let Some((latency, _)) =
                        send_timed(&mut rec, request, |status| status == StatusCode::OK).await
                    {
                        rec.ok(latency);
                    }
                }
                rec
            })
        })
        .collect();
    let mut rec = Recorder::with_capacity(usize::try_from(total).unwrap_or(0));
    join_workers(&mut rec, workers, Recorder::merge).await;
    PhaseReport::new(total, rec, started.elapsed())
}

async fn read_worker(r: Arc<Reader>, expected: usize, seed: u64) -> (Recorder, u64) {
    let mut rng = SplitMix64(seed);
    let mut rec = Recorder::with_capacity(expected);
    let mut url = String::with_capacity(r.endpoints.base.len() + 100);
    let mut verified = 0;
    loop {
        let k = r.next.fetch_add(1, Ordering::Relaxed);
        if k >= r.total {
            break;
        }
        let target = r.targets[rng.below(r.targets.len())];
        r.endpoints
            .proof_by_hash(&mut url, &target.leaf_hash, r.sth.tree_size);
        let request = r.client.get(url.as_str());
        let reply = send_timed(&mut rec, request, |status| status == StatusCode::OK).await;
        r.done.fetch_add(1, Ordering::Relaxed);
        let Some((latency, body)) = reply else {
            continue;
        };
        let full = k.is_multiple_of(PROOF_VERIFY_EVERY);
        match check_proof(&r.sth, &target, &body, full) {
            Ok(()) => {
                rec.ok(latency);
                verified += u64::from(full);
            }
            Err((kind, detail)) => rec.error_detail(kind, || detail),
        }
    }
    (rec, verified)
}

/// Checks a `get-proof-by-hash` answer: the index must be the one the SCT promised; with
/// `full`, the audit path must lead from the leaf hash to the STH root (RFC 9162 §2.1.3.2).
fn check_proof(
    sth: &TreeHead,
    target: &ProofTarget,
    body: &[u8],
    full: bool,
) -> Result<(), (ErrorKind, String)> {
    let proof: ProofByHashResponse =
        serde_json::from_slice(body).map_err(|e| (ErrorKind::Decode, e.to_string()))?;
    if let Some(want) = target.leaf_index.filter(|&want| want != proof.leaf_index) {
        return Err((
            ErrorKind::Verify,
            format!(
                "leaf_index {} but the SCT promised {want}",
                proof.leaf_index
            ),
        ));
    }
    if full {
        let path = &proof.audit_path;
        merkle::verify_inclusion(
            &target.leaf_hash,
            proof.leaf_index,
            sth.tree_size,
            path,
            &sth.root_hash,
        )
        .map_err(|e| (ErrorKind::Verify, format!("inclusion proof: {e}")))?;
    }
    Ok(())
}

fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    // A failed RNG only makes the read pattern predictable, which is harmless here.
    let _ = aws_lc_rs::rand::fill(&mut b);
    u64::from_le_bytes(b)
}

/// SplitMix64: a tiny, fast generator for picking read targets (not for secrets).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; bias ≤ n/2^64).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Report {
    url: String,
    concurrency: u32,
    runtime_threads: u32,
    http: &'static str,
    prebuild: PrebuildReport,
    add_chain: PhaseReport,
    sct_verification: bool,
    read_proofs: Option<ReadReport>,
    #[serde(flatten)]
    rss: rss::PeakRss,
}

#[derive(Debug, Serialize)]
struct PrebuildReport {
    count: usize,
    threads: usize,
    secs: f64,
    per_sec: f64,
    der_bytes: usize,
}

/// One timed phase of requests: counts, error tallies, rate and latency.
#[derive(Debug, Serialize)]
pub(super) struct PhaseReport {
    total: u64,
    pub(super) ok: u64,
    errors: std::collections::BTreeMap<String, u64>,
    /// First error message seen per kind.
    error_samples: std::collections::BTreeMap<String, String>,
    pub(super) wall_secs: f64,
    /// Completed requests (ok or not) per second.
    requests_per_sec: f64,
    /// Successful requests per second.
    pub(super) ok_per_sec: f64,
    /// Latency of successful requests.
    latency: Option<LatencySummary>,
}

impl PhaseReport {
    pub(super) fn new(total: u64, mut rec: Recorder, wall: Duration) -> Self {
        let ok = rec.latencies_us.len() as u64;
        Self {
            total,
            ok,
            errors: rec.errors_by_kind(),
            error_samples: rec.error_samples(),
            wall_secs: wall.as_secs_f64(),
            requests_per_sec: rate(ok + rec.error_count(), wall),
            ok_per_sec: rate(ok, wall),
            latency: LatencySummary::from_micros(&mut rec.latencies_us),
        }
    }

    /// Whether any request failed with `kind`.
    pub(super) fn errors_contain(&self, kind: ErrorKind) -> bool {
        self.errors.contains_key(&kind.to_string())
    }

    pub(super) fn write_text(&self, out: &mut String, title: &str) {
        use std::fmt::Write;
        let _ = writeln!(out, "{title}");
        let _ = writeln!(out, "  requests    {}", self.total);
        let _ = writeln!(out, "  ok          {}", self.ok);
        let errors: u64 = self.errors.values().sum();
        let _ = write!(out, "  errors      {errors}");
        if !self.errors.is_empty() {
            let kinds: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            let _ = write!(out, "  ({})", kinds.join(", "));
        }
        out.push('\n');
        for (kind, sample) in &self.error_samples {
            let _ = writeln!(out, "    first {kind}: {sample}");
        }
        let _ = writeln!(out, "  wall        {:.3} s", self.wall_secs);
        let _ = writeln!(
            out,
            "  throughput  {:.1} ok/s  ({:.1} req/s)",
            self.ok_per_sec, self.requests_per_sec
        );
        match &self.latency {
            Some(l) => {
                let _ = writeln!(out, "  latency     {l}");
            }
            None => {
                let _ = writeln!(out, "  latency     n/a (no successful request)");
            }
        }
    }
}

#[derive(Debug, Serialize)]
struct ReadReport {
    #[serde(flatten)]
    phase: PhaseReport,
    tree_size: u64,
    entries_covered: usize,
    sth_wait_secs: f64,
    /// `None` if the log key is unknown (no --verify / --log-key).
    sth_verified: Option<bool>,
    /// Proofs fully verified against the STH root (1 in 100 reads).
    proofs_verified: u64,
    /// The same number of `get-sth` reads at the same concurrency, measured just
    /// before: the cheapest endpoint, so its rate is what HTTP alone allows on this
    /// machine and the proof rate can be stated as a ratio of it.
    get_sth_baseline: PhaseReport,
}

impl Report {
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "certcentral-bench ct  {}  (concurrency {}, {} runtime threads, {})",
            self.url, self.concurrency, self.runtime_threads, self.http
        );
        let _ = writeln!(
            out,
            "pre-build     {} certs in {:.2} s ({:.0}/s, {} threads)",
            self.prebuild.count, self.prebuild.secs, self.prebuild.per_sec, self.prebuild.threads
        );
        let title = if self.sct_verification {
            "add-chain (every SCT verified)"
        } else {
            "add-chain"
        };
        self.add_chain.write_text(&mut out, title);
        if let Some(r) = &self.read_proofs {
            r.phase.write_text(
                &mut out,
                &format!(
                    "get-proof-by-hash at tree_size {} ({} submitted entries covered, STH after {:.1} s)",
                    r.tree_size, r.entries_covered, r.sth_wait_secs
                ),
            );
            let sth = match r.sth_verified {
                Some(true) => "signature verified",
                Some(false) => "SIGNATURE INVALID",
                None => "signature not checked (no log key)",
            };
            let _ = writeln!(
                out,
                "  checks      {} proofs verified against the STH root; STH {sth}",
                r.proofs_verified
            );
            let base = &r.get_sth_baseline;
            let ratio = if base.ok_per_sec > 0.0 {
                r.phase.ok_per_sec / base.ok_per_sec
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "  baseline    get-sth {:.0}/s at the same concurrency, just before: proofs run at {:.2} × that",
                base.ok_per_sec, ratio
            );
        }
        self.rss.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints() -> Endpoints {
        let root = Url::parse("http://127.0.0.1:8080/").unwrap();
        Endpoints::new("http://127.0.0.1:8080/logs/dev-a", &root).unwrap()
    }

    #[test]
    fn endpoints_are_rooted_correctly() {
        let e = endpoints();
        assert_eq!(
            e.add_chain.as_str(),
            "http://127.0.0.1:8080/logs/dev-a/ct/v1/add-chain"
        );
        assert_eq!(e.get_sth, "http://127.0.0.1:8080/logs/dev-a/ct/v1/get-sth");
        assert_eq!(e.log_list, "http://127.0.0.1:8080/logs/log_list.json");
        assert_eq!(e.healthz, "http://127.0.0.1:8080/healthz");
    }

    #[test]
    fn proof_url_percent_encodes_hash() {
        let e = endpoints();
        let mut hash = [0u8; 32];
        hash[0] = 0xfb; // encodes to "+", and the padding is "="
        hash[1] = 0xff;
        let mut url = String::from("stale contents");
        e.proof_by_hash(&mut url, &hash, 17);
        let parsed = Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs[0].0, "hash");
        assert_eq!(B64.decode(&pairs[0].1).unwrap(), hash);
        assert_eq!(pairs[1], ("tree_size".into(), "17".into()));
        assert!(url.starts_with("http://127.0.0.1:8080/logs/dev-a/ct/v1/get-proof-by-hash?"));
    }

    #[test]
    fn add_chain_body_is_the_rfc6962_json() {
        let s = Submitter {
            client: Client::new(),
            url: endpoints().add_chain,
            root_b64: B64.encode(b"root-der"),
            leaves: empty_leaves(),
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            log_key: None,
            keep_entries: false,
        };
        for leaf in [&b"a"[..], b"ab", b"abc", b"abcd"] {
            let body = s.body(leaf);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                v,
                serde_json::json!({"chain": [B64.encode(leaf), B64.encode(b"root-der")]})
            );
        }
    }

    fn empty_leaves() -> LeafSet {
        let dir = std::env::temp_dir().join(format!("ccc-test-body-{}", random_seed()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = BenchRoot::load_or_create(&dir.join("r.pem"), &dir.join("r.key")).unwrap();
        let leaves = LeafSet::build(&root, 1, 1, &ProgressBar::hidden()).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        leaves
    }

    fn tree_of(leaves: &[merkle::Hash]) -> (merkle::Hash, Vec<Vec<merkle::Hash>>) {
        // Build the RFC 6962 tree naively and produce audit paths for every leaf.
        fn mth(l: &[merkle::Hash]) -> merkle::Hash {
            if l.len() == 1 {
                return l[0];
            }
            let k = l.len().next_power_of_two() / 2;
            merkle::node_hash(&mth(&l[..k]), &mth(&l[k..]))
        }
        fn path(m: usize, l: &[merkle::Hash]) -> Vec<merkle::Hash> {
            if l.len() == 1 {
                return vec![];
            }
            let k = l.len().next_power_of_two() / 2;
            if m < k {
                let mut p = path(m, &l[..k]);
                p.push(mth(&l[k..]));
                p
            } else {
                let mut p = path(m - k, &l[k..]);
                p.push(mth(&l[..k]));
                p
            }
        }
        (
            mth(leaves),
            (0..leaves.len()).map(|m| path(m, leaves)).collect(),
        )
    }

    fn proof_json(index: u64, path: &[merkle::Hash]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "leaf_index": index,
            "audit_path": path.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn proof_check_verifies_inclusion_and_index() {
        let leaves: Vec<merkle::Hash> = (0u8..7).map(|i| merkle::leaf_hash(&[i])).collect();
        let (root, paths) = tree_of(&leaves);
        let sth = TreeHead {
            tree_size: 7,
            timestamp: 0,
            root_hash: root,
            signature: pki::DigitallySigned {
                hash: 4,
                signature_algorithm: 3,
                signature: vec![],
            },
        };
        for (i, leaf) in leaves.iter().enumerate() {
            let target = ProofTarget {
                leaf_hash: *leaf,
                leaf_index: Some(i as u64),
            };
            let body = proof_json(i as u64, &paths[i]);
            check_proof(&sth, &target, &body, true).unwrap();
            // An index other than the SCT's is caught even without full verification.
            let wrong = proof_json((i as u64 + 1) % 7, &paths[i]);
            assert_eq!(
                check_proof(&sth, &target, &wrong, false).unwrap_err().0,
                ErrorKind::Verify
            );
        }
        // A tampered path fails full verification but passes the cheap check.
        let mut bad = paths[3].clone();
        bad[0][0] ^= 1;
        let target = ProofTarget {
            leaf_hash: leaves[3],
            leaf_index: Some(3),
        };
        let body = proof_json(3, &bad);
        check_proof(&sth, &target, &body, false).unwrap();
        assert_eq!(
            check_proof(&sth, &target, &body, true).unwrap_err().0,
            ErrorKind::Verify
        );
        assert_eq!(
            check_proof(&sth, &target, b"not json", false)
                .unwrap_err()
                .0,
            ErrorKind::Decode
        );
    }

    #[test]
    fn splitmix_below_stays_in_range_and_spreads() {
        let mut rng = SplitMix64(1);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[rng.below(10)] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        assert_eq!(SplitMix64(5).below(1), 0);
    }

    #[test]
    fn report_text_mentions_unknown_rss_and_errors() {
        let mut rec = Recorder::default();
        rec.ok(Duration::from_millis(3));
        rec.error_detail(ErrorKind::Http(400), || "unknown root".into());
        let report = Report {
            url: "http://x/logs/a".into(),
            concurrency: 4,
            runtime_threads: 2,
            http: "http/1.1",
            prebuild: PrebuildReport {
                count: 2,
                threads: 1,
                secs: 0.5,
                per_sec: 4.0,
                der_bytes: 700,
            },
            add_chain: PhaseReport::new(2, rec, Duration::from_secs(1)),
            sct_verification: false,
            read_proofs: None,
            rss: rss::PeakRss {
                server_peak_rss_kib: None,
                server_rss_source: "GET /healthz".into(),
                client_peak_rss_kib: Some(2048),
            },
        };
        let text = report.to_text();
        assert!(text.contains("server peak RSS  unknown"), "{text}");
        assert!(text.contains("http 400: 1"), "{text}");
        assert!(text.contains("first http 400: unknown root"), "{text}");
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["add_chain"]["ok"], 1);
        assert_eq!(json["add_chain"]["errors"]["http 400"], 1);
        assert!(json["server_peak_rss_kib"].is_null());
    }
}
