//! `certcentral-bench tsa`: a load generator for the RFC 3161 time-stamp authority's
//! `POST /api/v1/timestamp`.
//!
//! Phases:
//! 1. setup (not timed as load): K distinct DER `TimeStampReq`s (random SHA-256
//!    digests and nonces, certReq set), encoded by `pki::tsp`, so that the timed loop
//!    only sends bytes;
//! 2. a sanity request, checked in full: status granted, the imprint and the nonce
//!    echoed (the signature is what `openssl ts -verify` checks in the end-to-end test);
//! 3. the crypto ceiling, measured on one thread: a token costs the TSA one ECDSA P-256
//!    signature, so the ceiling is the machine's P-256 signing rate (see
//!    [`super::crypto_ceiling`]);
//! 4. N requests with C in flight over one keep-alive pool, latency per request; an
//!    answer counts as a timestamp when its PKIStatus is granted (only the status is
//!    decoded, so the client spends little CPU on the cores the server is measured on).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bytes::Bytes;
use cli::error_text::body_excerpt;
use der::{Decode, Encode, Reader};
use pki::tsp::{
    HashAlgorithm, MessageImprint, PkiStatus, PkiStatusInfo, QUERY_MEDIA_TYPE, TimeStampReq,
    TimeStampResp,
};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Serialize;

use super::crypto_ceiling;
use super::ct::PhaseReport;
use super::http::{load_client, progress_bar};
use super::load::{PostLoad, PreparedPost, Refusal};
use super::rss;
use crate::stats::ErrorKind;

/// Arguments of `certcentral-bench tsa`.
#[derive(Debug, clap::Args)]
pub struct TsaBenchArgs {
    /// Root URL of a `certcentral serve --dev` server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// Number of timestamps to request.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// Concurrent in-flight requests.
    #[arg(long, short = 'c', default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub concurrency: u32,
    /// Distinct request bodies the load cycles through.
    #[arg(long, value_name = "K", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub requests: u32,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Read the server's peak RSS and CPU from /proc/PID instead of GET /healthz.
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

/// `count` DER requests with random SHA-256 digests and nonces.
fn prepare_requests(count: usize) -> anyhow::Result<Vec<(TimeStampReq, Bytes)>> {
    (0..count)
        .map(|_| {
            let mut digest = [0u8; 32];
            let mut nonce = [0u8; 8];
            aws_lc_rs::rand::fill(&mut digest)
                .and_then(|()| aws_lc_rs::rand::fill(&mut nonce))
                .map_err(|_| anyhow::anyhow!("system RNG failed"))?;
            let nonce = u64::from_be_bytes(nonce) >> 1;
            let request = TimeStampReq {
                version: 1,
                message_imprint: MessageImprint {
                    hash_algorithm: HashAlgorithm::Sha256.identifier(),
                    hashed_message: der::asn1::OctetString::new(digest)?,
                },
                req_policy: None,
                nonce: Some(der::asn1::Int::from_der(&nonce.to_der()?)?),
                cert_req: true,
                extensions: None,
            };
            let der = request.to_der()?;
            Ok((request, Bytes::from(der)))
        })
        .collect()
}

/// The PKIStatus of a DER `TimeStampResp`, decoding only its first field.
fn response_status(body: &[u8]) -> Option<u8> {
    let mut reader = der::SliceReader::new(body).ok()?;
    let header = der::Header::decode(&mut reader).ok()?;
    if header.tag() != der::Tag::Sequence {
        return None;
    }
    let info: PkiStatusInfo = reader.decode().ok()?;
    Some(info.status)
}

/// What the sanity request showed.
#[derive(Debug, Serialize)]
struct SanityReport {
    policy: String,
    gen_time_ms: u64,
    serial_octets: usize,
    latency_ms: f64,
}

fn check_sanity(
    request: &TimeStampReq,
    body: &[u8],
    latency_ms: f64,
) -> anyhow::Result<SanityReport> {
    let response = TimeStampResp::from_der(body).context("the reply is not a TimeStampResp")?;
    ensure!(
        PkiStatus::from_value(response.status.status) == Some(PkiStatus::Granted),
        "the TSA did not grant: {:?}",
        response.status
    );
    let info = response.tst_info()?;
    ensure!(
        info.message_imprint == request.message_imprint,
        "the imprint is not echoed"
    );
    ensure!(info.nonce == request.nonce, "the nonce is not echoed");
    Ok(SanityReport {
        policy: info.policy.to_string(),
        gen_time_ms: info.gen_time.unix_ms(),
        serial_octets: info.serial_number.as_bytes().len(),
        latency_ms,
    })
}

/// The ceiling: one P-256 signature per token, on every core.
#[derive(Debug, Serialize)]
struct TsaCeiling {
    /// ECDSA P-256 SHA-256 sign, microseconds, one thread.
    ecdsa_p256_sign_us: f64,
    cores: usize,
    /// `cores` × 1 / sign cost: perfect scaling, no other work.
    timestamps_per_sec: f64,
}

/// Runs the benchmark; fails if the sanity request fails or nothing was granted.
pub fn run(args: TsaBenchArgs) -> anyhow::Result<ExitCode> {
    let base = cli::cert::server_root(&args.url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = load_client(args.concurrency, args.timeout, false, "bench tsa")?;
    let url = Url::parse(&format!("{base}/api/v1/timestamp")).context("timestamp URL")?;
    let interactive = std::io::stderr().is_terminal();

    // 1. Setup.
    let prepared = prepare_requests(args.requests.min(args.n) as usize)?;

    // 2. Sanity request.
    let started = Instant::now();
    let reply = runtime
        .block_on(async {
            client
                .post(url.clone())
                .header(CONTENT_TYPE, QUERY_MEDIA_TYPE)
                .body(prepared[0].1.clone())
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await
        })
        .context("sanity request (is `certcentral serve --dev` at --url?)")?;
    let sanity = check_sanity(
        &prepared[0].0,
        &reply,
        started.elapsed().as_secs_f64() * 1000.0,
    )?;
    if !args.json {
        eprintln!(
            "sanity: granted, policy {}, {}-octet serial, imprint and nonce echoed ({:.1} ms)",
            sanity.policy, sanity.serial_octets, sanity.latency_ms
        );
    }

    // 3. Crypto ceiling, before the load so neither disturbs the other.
    let primitives = crypto_ceiling::measure(Duration::from_millis(args.ceiling_ms))?;
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let ceiling = TsaCeiling {
        ecdsa_p256_sign_us: primitives.ecdsa_p256_sign_us,
        cores,
        timestamps_per_sec: if primitives.ecdsa_p256_sign_us > 0.0 {
            cores as f64 * 1e6 / primitives.ecdsa_p256_sign_us
        } else {
            0.0
        },
    };

    // 4. Load.
    let load = PostLoad {
        client: client.clone(),
        url,
        content_type: HeaderValue::from_static(QUERY_MEDIA_TYPE),
        requests: prepared
            .into_iter()
            .map(|(_, body)| PreparedPost::from(body))
            .collect(),
        total: args.n as usize,
    };
    let bar = progress_bar(interactive, u64::from(args.n), "timestamp");
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let cpu_before = server_pid.as_deref().and_then(rss::proc_cpu_secs);
    let phase = runtime
        .block_on(load.run(args.concurrency as usize, &bar, check_granted))
        .phase;
    let cpu_after = server_pid.as_deref().and_then(rss::proc_cpu_secs);
    bar.finish_and_clear();
    let server_cpu_us_per_timestamp = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) if phase.ok > 0 => {
            Some((after - before) * 1e6 / phase.ok as f64)
        }
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
        concurrency: args.concurrency,
        runtime_threads: args.threads,
        sanity,
        ceiling_ratio: if ceiling.timestamps_per_sec > 0.0 {
            achieved / ceiling.timestamps_per_sec
        } else {
            0.0
        },
        achieved_timestamps_per_sec: achieved,
        ceiling,
        timestamp: phase,
        server_cpu_us_per_timestamp,
        rss,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.timestamp.ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A timed answer counts when it is a `TimeStampResp` whose PKIStatus is granted.
fn check_granted(status: StatusCode, body: &[u8]) -> Result<(), Refusal> {
    if !status.is_success() {
        return Err(Refusal::status(status, body_excerpt(body)));
    }
    match response_status(body).and_then(PkiStatus::from_value) {
        Some(PkiStatus::Granted) => Ok(()),
        other => Err(Refusal {
            kind: ErrorKind::Decode,
            message: match other {
                Some(status) => format!("PKIStatus {status:?}"),
                None => "the reply is not a TimeStampResp".to_string(),
            },
        }),
    }
}

#[derive(Debug, Serialize)]
struct Report {
    url: String,
    concurrency: u32,
    runtime_threads: u32,
    sanity: SanityReport,
    timestamp: PhaseReport,
    ceiling: TsaCeiling,
    achieved_timestamps_per_sec: f64,
    /// achieved / the all-cores ceiling.
    ceiling_ratio: f64,
    /// Server CPU per granted timestamp during the load (`--server-pid` only).
    server_cpu_us_per_timestamp: Option<f64>,
    #[serde(flatten)]
    rss: rss::PeakRss,
}

impl Report {
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "certcentral-bench tsa  {}  (concurrency {}, {} runtime threads, http/1.1)",
            self.url, self.concurrency, self.runtime_threads
        );
        self.timestamp.write_text(&mut out, "timestamp");
        let c = &self.ceiling;
        let _ = writeln!(
            out,
            "crypto (1 thread, aws-lc-rs, this run): P-256 sign {:.1} µs; one per timestamp",
            c.ecdsa_p256_sign_us
        );
        let _ = writeln!(
            out,
            "P-256 sign ceiling: {:.0} timestamps/s for {} cores",
            c.timestamps_per_sec, c.cores
        );
        let _ = writeln!(
            out,
            "achieved: {:.0} timestamps/s = {:.2} × the {}-core sign ceiling",
            self.achieved_timestamps_per_sec, self.ceiling_ratio, c.cores
        );
        if let Some(us) = self.server_cpu_us_per_timestamp {
            let _ = writeln!(out, "server CPU during the load: {us:.0} µs per timestamp");
        }
        self.rss.write(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_requests_are_distinct_der_requests() {
        let prepared = prepare_requests(4).unwrap();
        for (request, der) in &prepared {
            assert_eq!(&TimeStampReq::from_der_canonical(der).unwrap(), request);
            assert!(request.cert_req && request.nonce.is_some());
        }
        assert_ne!(prepared[0].1, prepared[1].1);
    }

    #[test]
    fn status_is_read_from_the_first_field() {
        let rejected = TimeStampResp::rejection(pki::tsp::PkiFailureInfo::BadAlg, "no")
            .to_der()
            .unwrap();
        assert_eq!(response_status(&rejected), Some(PkiStatus::Rejection as u8));
        assert_eq!(response_status(b"not DER"), None);
        assert_eq!(response_status(&[]), None);
    }

    #[test]
    fn only_a_granted_answer_counts() {
        let rejected = TimeStampResp::rejection(pki::tsp::PkiFailureInfo::BadAlg, "no")
            .to_der()
            .unwrap();
        let refusal = check_granted(StatusCode::OK, &rejected).unwrap_err();
        assert_eq!(refusal.kind, ErrorKind::Decode);
        assert_eq!(refusal.message, "PKIStatus Rejection");
        let refusal = check_granted(StatusCode::OK, b"<html>").unwrap_err();
        assert_eq!(refusal.message, "the reply is not a TimeStampResp");
        let refusal = check_granted(StatusCode::SERVICE_UNAVAILABLE, b"busy").unwrap_err();
        assert_eq!(
            (refusal.kind, refusal.message.as_str()),
            (ErrorKind::Http(503), "busy")
        );
    }
}
