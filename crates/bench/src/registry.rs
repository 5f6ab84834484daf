//! `certcentral-bench registry`: loads the developer-certificate registry of a `--dev` server.
//!
//! 1. Builds N distinct code-signing certificates (one shared P-256 key: the registry
//!    checks possession per push, not key uniqueness) before any clock starts.
//! 2. Creates accounts through the dev OIDC issuer.
//! 3. Pushes every certificate the way `ccc push` does (challenge → CMS SignedData
//!    over the nonce → push), C at once, and checks each answer's thumbprint.
//! 4. Reads: first the same-run baseline (a static server route), then `getusercert`
//!    for random pushed certificates, each on its own keep-alive connection.
//!
//! The read phase uses hyper's bare HTTP/1.1 connection rather than reqwest: at tens
//! of thousands of requests per second on the server's own cores, a heavier client
//! would measure itself.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use cli::error_text::body_excerpt;
use cli::registry::signing::{CodeSigner, thumbprint};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;

use super::ct::PhaseReport;
use super::http::{join_workers, progress_bar, send_timed, spawn_ticker};
use super::rss;
use crate::stats::{ErrorKind, Recorder};
use pki::registry_api::{
    ApiKeyResponse, CertView, ChallengeResponse, PushRequest, RegisterRequest,
};

/// Every this many look-ups, the downloaded PEM is decoded and compared with the
/// pushed DER (the rest check status and length only, to keep the client light).
const FULL_CHECK_EVERY: u64 = 100;

/// Arguments of `certcentral-bench registry`.
#[derive(Debug, clap::Args)]
pub struct RegistryBenchArgs {
    /// Server root URL of a `certcentral serve --dev` (its dev OIDC issuer makes the
    /// bench accounts).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Certificates to push.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// Accounts the certificates are spread over.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub accounts: u32,
    /// Pushes in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4_096))]
    pub push_concurrency: u32,
    /// `getusercert` look-ups after the pushes (0: none).
    #[arg(long, default_value_t = 200_000)]
    pub lookups: u64,
    /// Look-ups in flight, one keep-alive connection each.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4_096))]
    pub lookup_concurrency: u32,
    /// Same-run baseline: a route the server answers from memory without work.
    #[arg(long, default_value = "/logs/log_list.json")]
    pub baseline_path: String,
    /// Read the server's peak RSS and CPU time from /proc/PID instead of GET /healthz.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Tokio worker threads for the load.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,
    /// Per-request timeout of the push phase, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// One bench account.
struct Account {
    username: String,
    api_key: String,
}

/// A pushed certificate, for the look-ups.
struct Pushed {
    account: usize,
    thumbprint: String,
    der: Vec<u8>,
}

pub fn run(args: RegistryBenchArgs) -> anyhow::Result<ExitCode> {
    let base = Url::parse(args.url.trim_end_matches('/'))
        .with_context(|| format!("--url {:?}", args.url))?;
    if base.scheme() != "http" {
        bail!("--url: this load generator speaks plain http:// only");
    }
    let base_str = base.as_str().trim_end_matches('/').to_owned();
    if !args.baseline_path.starts_with('/') {
        bail!("--baseline-path must start with '/'");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client =
        super::http::load_client(args.push_concurrency, args.timeout, false, "bench registry")?;
    let interactive = std::io::stderr().is_terminal();
    let say = |line: String| {
        if !args.json {
            eprintln!("{line}");
        }
    };

    // 1. Certificates.
    let started = Instant::now();
    let run_id = format!("{:06x}", random_u64() & 0xff_ffff);
    let (key_der, certs) = build_certificates(args.n as usize, &run_id)?;
    say(format!(
        "built {} code-signing certificates in {:.2} s",
        certs.len(),
        started.elapsed().as_secs_f64()
    ));

    // 2. Accounts.
    let accounts = runtime.block_on(create_accounts(&client, &base_str, &run_id, args.accounts))?;
    say(format!(
        "created {} accounts bench-{run_id}-0…{}",
        accounts.len(),
        accounts.len() - 1
    ));

    // 3. Pushes.
    let cpu_before = server_cpu(args.server_pid);
    let pusher = Arc::new(Pusher {
        client: client.clone(),
        base: base_str.clone(),
        accounts,
        key_der,
        certs,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
    });
    let bar = progress_bar(interactive, u64::from(args.n), "push");
    let started = Instant::now();
    let workers: Vec<_> = (0..args.push_concurrency)
        .map(|_| runtime.spawn(push_worker(pusher.clone())))
        .collect();
    let ticker = {
        let _runtime = runtime.enter();
        spawn_ticker(bar.clone(), pusher.clone(), |p| {
            p.done.load(Ordering::Relaxed)
        })
    };
    let mut rec = Recorder::with_capacity(args.n as usize);
    let mut pushed = Vec::with_capacity(args.n as usize);
    runtime.block_on(join_workers(&mut rec, workers, |rec, (r, p)| {
        rec.merge(r);
        pushed.extend(p);
    }));
    let push_wall = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    let push = PhaseReport::new(u64::from(args.n), rec, push_wall);
    let push_cpu = cpu_delta(cpu_before, server_cpu(args.server_pid));
    let pushed = Arc::new(pushed);

    // 4. Reads.
    let read = if args.lookups > 0 && !pushed.is_empty() {
        let target = ReadTarget::new(&base)?;
        let baseline = runtime.block_on(read_phase(
            &target,
            args.lookups,
            args.lookup_concurrency,
            Lookups::Fixed(args.baseline_path.clone()),
            interactive,
        ));
        let cpu_before = server_cpu(args.server_pid);
        let lookups = runtime.block_on(read_phase(
            &target,
            args.lookups,
            args.lookup_concurrency,
            Lookups::UserCerts {
                usernames: pusher.accounts.iter().map(|a| a.username.clone()).collect(),
                pushed: pushed.clone(),
            },
            interactive,
        ));
        let cpu = cpu_delta(cpu_before, server_cpu(args.server_pid));
        Some(ReadReport {
            ratio_to_baseline: (baseline.ok_per_sec > 0.0)
                .then(|| lookups.ok_per_sec / baseline.ok_per_sec),
            server_cpu_us_per_lookup: cpu.map(|s| s * 1e6 / lookups.ok.max(1) as f64),
            baseline_path: args.baseline_path.clone(),
            baseline,
            getusercert: lookups,
        })
    } else {
        None
    };

    let rss = runtime.block_on(rss::PeakRss::measure(
        &client,
        &format!("{base_str}/healthz"),
        args.server_pid,
    ));
    let any_verify_error = push.errors_contain(ErrorKind::Verify)
        || read
            .as_ref()
            .is_some_and(|r| r.getusercert.errors_contain(ErrorKind::Verify));
    let report = Report {
        url: base_str,
        certificates: args.n,
        accounts: args.accounts,
        push_concurrency: args.push_concurrency,
        lookup_concurrency: args.lookup_concurrency,
        server_cpu_us_per_push: push_cpu.map(|s| s * 1e6 / push.ok.max(1) as f64),
        push,
        read,
        rss,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    let all_ok = report.push.ok == u64::from(args.n)
        && report
            .read
            .as_ref()
            .is_none_or(|r| r.getusercert.ok == args.lookups);
    Ok(if all_ok && !any_verify_error {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
    u64::from_le_bytes(bytes)
}

fn server_cpu(pid: Option<u32>) -> Option<f64> {
    rss::proc_cpu_secs(&pid?.to_string())
}

fn cpu_delta(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}

/// N self-signed code-signing certificates sharing one P-256 key (PKCS#8 DER).
fn build_certificates(n: usize, run_id: &str) -> anyhow::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the key")?;
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let chunk = n.div_ceil(threads).max(1);
    let key = &key;
    let certs = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|i| code_signing_certificate(key, run_id, i))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("builder thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<Vec<Vec<u8>>>>>()
    })?;
    Ok((key.serialize_der(), certs.into_iter().flatten().collect()))
}

fn code_signing_certificate(key: &KeyPair, run_id: &str, i: usize) -> anyhow::Result<Vec<u8>> {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("ccc bench {run_id} #{i}"));
    params.serial_number = Some(SerialNumber::from((i as u64 + 1).to_be_bytes().to_vec()));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - Duration::from_secs(3600);
    params.not_after = now + Duration::from_secs(30 * 24 * 3600);
    Ok(params
        .self_signed(key)
        .context("signing a bench certificate")?
        .der()
        .to_vec())
}

async fn create_accounts(
    client: &Client,
    base: &str,
    run_id: &str,
    count: u32,
) -> anyhow::Result<Vec<Account>> {
    let mut accounts = Vec::with_capacity(count as usize);
    for i in 0..count {
        let email = format!("ccc-bench-{run_id}-{i}@example.com");
        let audience = pki::registry_api::DEFAULT_REGISTRY_AUDIENCE;
        let token = cli::oidc::mint_dev_token_for(client, base, &email, Some(audience))
            .await
            .context("minting a dev OIDC token (is the server running with --dev?)")?;
        let response = client
            .post(format!("{base}/api/v1/accounts"))
            .bearer_auth(token)
            .json(&RegisterRequest {
                username: format!("bench-{run_id}-{i}"),
            })
            .send()
            .await
            .context("creating a bench account")?;
        let status = response.status();
        let body = response.bytes().await?;
        if status != StatusCode::CREATED {
            bail!(
                "creating a bench account: HTTP {status}: {}",
                body_excerpt(&body)
            );
        }
        let answer: ApiKeyResponse =
            serde_json::from_slice(&body).context("creating a bench account: bad answer")?;
        accounts.push(Account {
            username: answer.username,
            api_key: answer.api_key,
        });
    }
    Ok(accounts)
}

struct Pusher {
    client: Client,
    base: String,
    accounts: Vec<Account>,
    key_der: Vec<u8>,
    certs: Vec<Vec<u8>>,
    next: AtomicUsize,
    done: AtomicUsize,
}

/// Pushes certificates until none are left (CMS signing is ~30 µs of CPU: fine on a
/// runtime worker).
async fn push_worker(p: Arc<Pusher>) -> (Recorder, Vec<Pushed>) {
    let mut rec = Recorder::with_capacity(p.certs.len() / 8);
    let mut pushed = Vec::new();
    loop {
        let i = p.next.fetch_add(1, Ordering::Relaxed);
        let Some(der) = p.certs.get(i) else {
            break;
        };
        let account_index = i % p.accounts.len();
        let account = &p.accounts[account_index];
        let started = Instant::now();
        let outcome = push_one(&p, account, der, &mut rec).await;
        p.done.fetch_add(1, Ordering::Relaxed);
        let Some(answer) = outcome else {
            continue;
        };
        let want = thumbprint(der);
        if answer.thumbprint == want {
            rec.ok(started.elapsed());
            pushed.push(Pushed {
                account: account_index,
                thumbprint: want,
                der: der.clone(),
            });
        } else {
            rec.error_detail(ErrorKind::Verify, || {
                format!("pushed {want}, the server says {}", answer.thumbprint)
            });
        }
    }
    (rec, pushed)
}

/// challenge → CMS → push; a failure is recorded in `rec`.
async fn push_one(
    p: &Pusher,
    account: &Account,
    der: &[u8],
    rec: &mut Recorder,
) -> Option<CertView> {
    let request = p
        .client
        .post(format!("{}/api/v1/challenges", p.base))
        .bearer_auth(&account.api_key);
    let (_, body) = send_timed(rec, request, |s| {
        s == StatusCode::CREATED || s == StatusCode::OK
    })
    .await?;
    let decoded = serde_json::from_slice::<ChallengeResponse>(&body)
        .ok()
        .map(|c| (c.nonce, c.challenge_id));
    let Some((nonce, challenge_id)) = decoded else {
        rec.error_detail(ErrorKind::Decode, || "challenge answer".to_owned());
        return None;
    };
    let cms = CodeSigner::new(der.to_vec(), "PRIVATE KEY", &p.key_der)
        .and_then(|signer| signer.sign_cms(&nonce));
    let cms = match cms {
        Ok(cms) => cms,
        Err(e) => {
            rec.error_detail(ErrorKind::Verify, || format!("signing: {e:#}"));
            return None;
        }
    };
    let request = p
        .client
        .post(format!("{}/api/v1/certs", p.base))
        .bearer_auth(&account.api_key)
        .json(&PushRequest::new(challenge_id, &cms));
    let (_, body) = send_timed(rec, request, |s| s == StatusCode::CREATED).await?;
    match serde_json::from_slice::<CertView>(&body) {
        Ok(answer) => Some(answer),
        Err(e) => {
            rec.error_detail(ErrorKind::Decode, || format!("push answer: {e}"));
            None
        }
    }
}

/// Where the read phase connects.
struct ReadTarget {
    addr: String,
    host: String,
    /// Path prefix of the server root (normally empty).
    prefix: String,
}

impl ReadTarget {
    fn new(base: &Url) -> anyhow::Result<Self> {
        let host = base.host_str().context("--url has no host")?.to_owned();
        let port = base.port_or_known_default().context("--url has no port")?;
        Ok(Self {
            addr: format!("{host}:{port}"),
            host: format!("{host}:{port}"),
            prefix: base.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// What the read phase asks for.
#[derive(Clone)]
enum Lookups {
    /// The same path every time (the baseline).
    Fixed(String),
    /// `getusercert` for random pushed certificates.
    UserCerts {
        usernames: Vec<String>,
        pushed: Arc<Vec<Pushed>>,
    },
}

async fn read_phase(
    target: &ReadTarget,
    total: u64,
    concurrency: u32,
    lookups: Lookups,
    interactive: bool,
) -> PhaseReport {
    let next = Arc::new(AtomicU64::new(0));
    let what = match lookups {
        Lookups::Fixed(_) => "baseline",
        Lookups::UserCerts { .. } => "getusercert",
    };
    let bar = progress_bar(interactive, total, what);
    let ticker = spawn_ticker(bar.clone(), next.clone(), |n| {
        n.load(Ordering::Relaxed) as usize
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (next, lookups) = (next.clone(), lookups.clone());
            let (addr, host, prefix) = (
                target.addr.clone(),
                target.host.clone(),
                target.prefix.clone(),
            );
            tokio::spawn(async move {
                read_worker(
                    &addr,
                    &host,
                    &prefix,
                    &next,
                    total,
                    &lookups,
                    random_u64() ^ u64::from(w),
                )
                .await
            })
        })
        .collect();
    let mut rec = Recorder::with_capacity(usize::try_from(total).unwrap_or(0));
    join_workers(&mut rec, workers, Recorder::merge).await;
    let wall = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    PhaseReport::new(total, rec, wall)
}

type Sender = http1::SendRequest<Empty<Bytes>>;

async fn connect(addr: &str) -> std::io::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn read_worker(
    addr: &str,
    host: &str,
    prefix: &str,
    next: &AtomicU64,
    total: u64,
    lookups: &Lookups,
    seed: u64,
) -> Recorder {
    let mut rec = Recorder::with_capacity(usize::try_from(total / 8).unwrap_or(0));
    let mut rng = seed | 1;
    let mut sender: Option<Sender> = None;
    let mut path = String::with_capacity(160);
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= total {
            break;
        }
        // xorshift64: cheap, and good enough to spread look-ups over the certificates.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        path.clear();
        path.push_str(prefix);
        let expected = match lookups {
            Lookups::Fixed(p) => {
                path.push_str(p);
                None
            }
            Lookups::UserCerts { usernames, pushed } => {
                let cert = &pushed[(rng % pushed.len() as u64) as usize];
                path.push_str("/api/cert/getusercert?username=");
                path.push_str(&usernames[cert.account]);
                path.push_str("&thumbprint=");
                path.push_str(&cert.thumbprint);
                Some(cert)
            }
        };
        let started = Instant::now();
        let answer = async {
            if sender.as_ref().is_none_or(|s| s.is_closed()) {
                sender = Some(
                    connect(addr)
                        .await
                        .map_err(|e| (ErrorKind::Connect, e.to_string()))?,
                );
            }
            let request = hyper::Request::get(path.as_str())
                .header(hyper::header::HOST, host)
                .body(Empty::<Bytes>::new())
                .map_err(|e| (ErrorKind::Transport, e.to_string()))?;
            let Some(s) = sender.as_mut() else {
                return Err((ErrorKind::Connect, "no connection".to_owned()));
            };
            let response = s
                .send_request(request)
                .await
                .map_err(|e| (ErrorKind::Transport, e.to_string()))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| (ErrorKind::Transport, e.to_string()))?
                .to_bytes();
            Ok::<_, (ErrorKind, String)>((status, body))
        }
        .await;
        let latency = started.elapsed();
        match answer {
            Err((kind, detail)) => {
                sender = None;
                rec.error_detail(kind, || detail);
            }
            Ok((status, body)) if status != 200 => {
                rec.error_detail(ErrorKind::Http(status), || body_excerpt(&body));
            }
            Ok((_, body)) => match expected.map(|cert| check_download(cert, &body, k)) {
                Some(Err(detail)) => rec.error_detail(ErrorKind::Verify, || detail),
                _ => rec.ok(latency),
            },
        }
    }
    rec
}

/// The downloaded PEM must be the pushed certificate: always by length, and every
/// [`FULL_CHECK_EVERY`]th by content.
fn check_download(cert: &Pushed, body: &[u8], k: u64) -> Result<(), String> {
    let expected_len = pem_len(cert.der.len());
    if body.len() != expected_len {
        return Err(format!(
            "{}: {} bytes of PEM, expected {expected_len}",
            cert.thumbprint,
            body.len()
        ));
    }
    if k.is_multiple_of(FULL_CHECK_EVERY) {
        let text = std::str::from_utf8(body).map_err(|_| "PEM is not UTF-8".to_owned())?;
        let (label, der) =
            der::pem::decode_vec(text.as_bytes()).map_err(|e| format!("bad PEM: {e}"))?;
        if label != "CERTIFICATE" || der != cert.der {
            return Err(format!(
                "{}: another certificate came back",
                cert.thumbprint
            ));
        }
    }
    Ok(())
}

/// Length of a certificate's PEM with 64-character lines and LF endings.
fn pem_len(der_len: usize) -> usize {
    let b64 = der_len.div_ceil(3) * 4;
    "-----BEGIN CERTIFICATE-----\n".len()
        + b64
        + b64.div_ceil(64)
        + "-----END CERTIFICATE-----\n".len()
}

#[derive(Debug, Serialize)]
struct ReadReport {
    baseline_path: String,
    baseline: PhaseReport,
    getusercert: PhaseReport,
    /// getusercert ok/s ÷ baseline ok/s.
    ratio_to_baseline: Option<f64>,
    server_cpu_us_per_lookup: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    url: String,
    certificates: u32,
    accounts: u32,
    push_concurrency: u32,
    lookup_concurrency: u32,
    push: PhaseReport,
    server_cpu_us_per_push: Option<f64>,
    read: Option<ReadReport>,
    #[serde(flatten)]
    rss: rss::PeakRss,
}

impl Report {
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "registry bench against {} ({} certificates over {} accounts)",
            self.url, self.certificates, self.accounts
        );
        self.push.write_text(
            &mut out,
            &format!(
                "push (challenge + CMS + push, {} in flight)",
                self.push_concurrency
            ),
        );
        if let Some(us) = self.server_cpu_us_per_push {
            let _ = writeln!(out, "  server CPU  {us:.0} µs per push");
        }
        if let Some(read) = &self.read {
            read.baseline.write_text(
                &mut out,
                &format!(
                    "baseline GET {} ({} connections)",
                    read.baseline_path, self.lookup_concurrency
                ),
            );
            read.getusercert.write_text(
                &mut out,
                &format!("getusercert ({} connections)", self.lookup_concurrency),
            );
            if let Some(us) = read.server_cpu_us_per_lookup {
                let _ = writeln!(out, "  server CPU  {us:.1} µs per look-up");
            }
            if let Some(ratio) = read.ratio_to_baseline {
                let _ = writeln!(out, "  = {ratio:.2} × the baseline's throughput");
            }
        }
        self.rss.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_length_matches_the_servers_encoding() {
        for len in [1usize, 47, 48, 49, 300, 767, 768, 769, 1500] {
            let der = vec![0x42u8; len];
            assert_eq!(
                pem_len(len),
                registry::cert::pem(&der).len(),
                "DER of {len} bytes"
            );
        }
    }

    #[test]
    fn bench_certificates_are_distinct_code_signing_certificates() {
        let (key, certs) = build_certificates(5, "abc123").expect("build");
        assert_eq!(certs.len(), 5);
        let thumbprints: std::collections::BTreeSet<String> =
            certs.iter().map(|c| thumbprint(c)).collect();
        assert_eq!(thumbprints.len(), 5);
        // The same checks `ccc push` runs before signing (EKU, key match).
        for der in &certs {
            let signer = CodeSigner::new(der.clone(), "PRIVATE KEY", &key).expect("usable");
            let cms = signer.sign_cms(b"nonce").expect("sign");
            assert!(!cms.is_empty());
        }
    }

    #[test]
    fn download_check_catches_length_and_content() {
        let (_, certs) = build_certificates(2, "abc124").expect("build");
        let cert = Pushed {
            account: 0,
            thumbprint: thumbprint(&certs[0]),
            der: certs[0].clone(),
        };
        let good = registry::cert::pem(&certs[0]);
        assert_eq!(check_download(&cert, good.as_bytes(), 0), Ok(()));
        assert!(check_download(&cert, &good.as_bytes()[1..], 1).is_err());
        let other = registry::cert::pem(&certs[1]);
        if other.len() == good.len() {
            assert!(check_download(&cert, other.as_bytes(), 0).is_err());
            // Only every FULL_CHECK_EVERY-th look-up compares the content.
            assert_eq!(check_download(&cert, other.as_bytes(), 1), Ok(()));
        }
    }
}
