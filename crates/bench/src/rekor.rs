//! `certcentral-bench rekor`: a load generator for an artifact-signature log's entry
//! submissions, through Rekor's v1 API (`POST /rekor/{log}/api/v1/log/entries`) or
//! rekor-tiles' v2 API (`POST /rekor/{log}/api/v2/log/entries`).
//!
//! Phases:
//! 1. the API the log speaks: `GET /rekor/{log}/api/v1/log` answers 200 on a v1 log
//!    only (or `--api` says);
//! 2. setup (not timed as load): N + 1 distinct `hashedrekord` requests — random
//!    artifacts signed with P-256 keys by aws-lc-rs, the requests written by
//!    `pki::rekor` (v1 proposed entries) or `pki::rekor::v2` (`CreateEntryRequest`s) —
//!    built on all cores. Every request must be a *new* entry: the log de-duplicates
//!    (v1 answers a repeated entry with 409, v2 with the logged entry and 200), so none
//!    is sent twice;
//! 3. a sanity request, checked in full: the logged body is the request's canonical
//!    body, the inclusion proof leads to the checkpoint's root, the checkpoint is
//!    signed by the log key; for v1 the Signed Entry Timestamp verifies with the key
//!    from `api/v1/log/publicKey`. A v2 log publishes no key over its API, so its
//!    checkpoint signature is verified with `--log-key`, and without it only matched to
//!    the entry's log ID;
//! 4. the crypto ceiling, measured on one thread: an entry costs the log one ECDSA
//!    P-256 verification (the entry's signature), and a v1 entry one P-256 signature
//!    more (its SET); the checkpoint signature is one per batch, negligible beside them;
//! 5. N requests with C in flight over one keep-alive pool; an answer counts when its
//!    status is 201 Created (only the status is read, so the client spends little CPU
//!    on the cores the server is measured on).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use bytes::Bytes;
use cli::fulcio::error_message;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;
use pki::rekor::checkpoint::EcdsaNoteVerifier;
use pki::rekor::tle::TransparencyLogEntry;
use pki::rekor::v2::{self, CreateEntryRequest, HashedRekordRequest, KeyDetails, VerifierForm};
use pki::rekor::{
    ArtifactHash, HashedRekord, LogEntryAnswer, ProposedEntry, Verifier, entry_uuid, verify_set,
};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;

use super::crypto_ceiling::{self, PrimitiveCosts};
use super::ct::PhaseReport;
use super::http::{load_client, progress_bar};
use super::load::{ErrorCount, LoadOutcome, PostLoad, PreparedPost, Refusal, top_messages};
use super::rss;

/// Distinct error messages listed in the report.
const TOP_ERRORS: usize = 5;
/// Bytes of each random artifact (only its digest travels).
const ARTIFACT_LEN: usize = 64;

/// Which Rekor API a log serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Api {
    /// Rekor's `/api/v1`: the answer carries a SET and an inclusion proof.
    #[value(name = "1")]
    #[serde(rename = "v1")]
    V1,
    /// rekor-tiles' `/api/v2`: the answer is a `TransparencyLogEntry`.
    #[value(name = "2")]
    #[serde(rename = "v2")]
    V2,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }

    /// The entry submission URL under the log's base URL.
    fn entries_url(self, log_base: &str) -> String {
        match self {
            Self::V1 => format!("{log_base}/api/v1/log/entries"),
            Self::V2 => format!("{log_base}/api/v2/log/entries"),
        }
    }
}

/// Arguments of `certcentral-bench rekor`.
#[derive(Debug, clap::Args)]
pub struct RekorBenchArgs {
    /// Root URL of a `certcentral serve --dev` server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// The artifact log to load, served at `/rekor/{log}/`.
    #[arg(long, default_value = "dev-v1", value_parser = parse_log_name)]
    pub log: String,
    /// The API the log speaks [default: asked of the log].
    #[arg(long, value_enum)]
    pub api: Option<Api>,
    /// Number of entries to submit.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub n: u32,
    /// Concurrent in-flight requests.
    #[arg(long, short = 'c', default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub concurrency: u32,
    /// The log's public key, PEM: a `PUBLIC KEY`, or the `PRIVATE KEY` file `serve --dev`
    /// keeps in `<data-dir>/keys/rekor-<log>.pem`. A v2 log's checkpoint signature is
    /// verified with it (a v1 log publishes its key, which must then be this one).
    #[arg(long, value_name = "PEM")]
    pub log_key: Option<std::path::PathBuf>,
    /// P-256 keys the entries are signed with, in turn [default: a fresh key per entry].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub keys: Option<u32>,
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

/// A log name is one URL path segment.
fn parse_log_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && name != "."
        && name != "..";
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name:?} is not a log name (letters, digits, '-', '_', '.')"
        ))
    }
}

// ---------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------

/// A P-256 signing key and its public key as the entries carry it.
struct EntryKey {
    key_pair: EcdsaKeyPair,
    /// The v1 verifier: the SubjectPublicKeyInfo as a `PUBLIC KEY` PEM block.
    v1_verifier: Verifier,
    /// The v2 verifier: the SubjectPublicKeyInfo DER, `PKIX_ECDSA_P256_SHA_256`.
    v2_verifier: v2::Verifier,
}

impl EntryKey {
    fn generate() -> anyhow::Result<Self> {
        let key_pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| anyhow!("generating a P-256 key"))?;
        let spki = key_pair
            .public_key()
            .as_der()
            .map_err(|_| anyhow!("encoding a P-256 public key"))?;
        let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, spki.as_ref())
            .context("PEM-encoding a public key")?;
        let v1_verifier = Verifier::from_pem(pem.as_bytes())?;
        let v2_verifier = v2::Verifier::new(
            VerifierForm::PublicKey,
            spki.as_ref().to_vec(),
            KeyDetails::EcdsaP256Sha256,
        )?;
        Ok(Self {
            key_pair,
            v1_verifier,
            v2_verifier,
        })
    }
}

/// One signed artifact: its SHA-256 digest and the key's signature over the artifact
/// (ECDSA with SHA-256, so it verifies over the digest, as the log checks it).
struct SignedArtifact {
    digest: [u8; 32],
    signature: Vec<u8>,
}

impl SignedArtifact {
    fn new(key: &EntryKey, rng: &SystemRandom) -> anyhow::Result<Self> {
        let mut artifact = [0u8; ARTIFACT_LEN];
        aws_lc_rs::rand::fill(&mut artifact).map_err(|_| anyhow!("system RNG failed"))?;
        let mut digest_bytes = [0u8; 32];
        digest_bytes.copy_from_slice(digest(&SHA256, &artifact).as_ref());
        let signature = key
            .key_pair
            .sign(rng, &artifact)
            .map_err(|_| anyhow!("signing an artifact"))?;
        Ok(Self {
            digest: digest_bytes,
            signature: signature.as_ref().to_vec(),
        })
    }

    /// The request body for `api`.
    fn request(&self, key: &EntryKey, api: Api) -> anyhow::Result<Vec<u8>> {
        match api {
            Api::V1 => {
                let hash = ArtifactHash::new("sha256", &hex::encode(self.digest))?;
                let entry =
                    HashedRekord::new(self.signature.clone(), key.v1_verifier.clone(), hash)?;
                Ok(entry.to_proposed_json()?)
            }
            Api::V2 => {
                let signature =
                    v2::Signature::new(self.signature.clone(), key.v2_verifier.clone())?;
                let request = HashedRekordRequest::new(self.digest.to_vec(), signature)?;
                Ok(CreateEntryRequest::HashedRekord(request).to_json()?)
            }
        }
    }
}

/// `count` distinct hashedrekord requests for `api`: request `i` is signed by key
/// `i mod keys`, each key fresh. Keys and requests are made on `threads` threads.
fn prepare_requests(
    api: Api,
    count: usize,
    keys: usize,
    threads: usize,
) -> anyhow::Result<Vec<Bytes>> {
    let keys = parallel_map(keys.clamp(1, count.max(1)), threads, |_| {
        EntryKey::generate()
    })?;
    parallel_map(count, threads, |i| {
        let key = &keys[i % keys.len()];
        SignedArtifact::new(key, &SystemRandom::new())?
            .request(key, api)
            .map(Bytes::from)
    })
}

/// `[f(0), …, f(count − 1)]`, computed in `threads` contiguous ranges at once.
fn parallel_map<T: Send>(
    count: usize,
    threads: usize,
    f: impl Fn(usize) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    let per_thread = count.div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(per_thread)
            .map(|start| {
                let range = start..(start + per_thread).min(count);
                scope.spawn(move || range.map(f).collect::<anyhow::Result<Vec<T>>>())
            })
            .collect();
        let mut out = Vec::with_capacity(count);
        for worker in workers {
            out.extend(
                worker
                    .join()
                    .map_err(|_| anyhow!("a setup thread panicked"))??,
            );
        }
        Ok(out)
    })
}

// ---------------------------------------------------------------------------
// The API and the sanity request
// ---------------------------------------------------------------------------

/// The API of the log at `log_base`: `GET api/v1/log` answers 200 on a v1 log only.
async fn discover_api(client: &Client, log_base: &str) -> anyhow::Result<Api> {
    let url = format!("{log_base}/api/v1/log");
    let status = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url} (is `certcentral serve --dev` at --url?)"))?
        .status();
    if status == StatusCode::OK {
        return Ok(Api::V1);
    }
    // Every artifact log serves its checkpoint; a v2 log has no v1 routes.
    let checkpoint = format!("{log_base}/checkpoint");
    let status = client
        .get(&checkpoint)
        .send()
        .await
        .with_context(|| format!("GET {checkpoint}"))?
        .status();
    ensure!(
        status == StatusCode::OK,
        "GET {checkpoint} answered {status}: no artifact log there (check --log)"
    );
    Ok(Api::V2)
}

/// What the sanity request showed.
#[derive(Debug, Serialize)]
struct SanityReport {
    log_index: u64,
    tree_size: u64,
    /// The checkpoint's origin line, which names the log key in its signature.
    origin: String,
    /// Whether the checkpoint's signature was verified with the log key (a v2 log
    /// without `--log-key`: only its key ID was matched to the entry's log ID).
    checkpoint_signature_verified: bool,
    /// What was verified.
    checked: String,
    latency_ms: f64,
}

/// A log key given as PEM: a `PUBLIC KEY` block, or a P-256 `PRIVATE KEY` (PKCS#8),
/// whose public half is taken. Returns the SubjectPublicKeyInfo DER.
fn log_key_from_pem(pem: &str) -> anyhow::Result<Vec<u8>> {
    let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|e| anyhow!("the log key is not PEM: {e}"))?;
    match label {
        "PUBLIC KEY" => Ok(der),
        "PRIVATE KEY" => Ok(pki::keys::EcdsaP256Signer::from_pkcs8_der(&der)
            .map_err(|e| anyhow!("the log key: {e}"))?
            .spki_der()),
        other => bail!("the log key's PEM label is {other:?}, not PUBLIC KEY or PRIVATE KEY"),
    }
}

/// The log key from `GET api/v1/log/publicKey` (a `PUBLIC KEY` PEM block).
async fn v1_log_key(client: &Client, log_base: &str) -> anyhow::Result<Vec<u8>> {
    let url = format!("{log_base}/api/v1/log/publicKey");
    let pem = client
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("GET {url}"))?
        .text()
        .await
        .with_context(|| format!("GET {url}: reading the body"))?;
    log_key_from_pem(&pem).with_context(|| format!("GET {url}"))
}

/// Checks a v1 answer to `request` in full with the log key `log_spki`: one entry
/// under its UUID, whose body is the request's canonical body, whose SET verifies,
/// whose checkpoint is signed by the log key, and whose inclusion proof leads to the
/// checkpoint's root.
fn check_v1_answer(
    log_spki: &[u8],
    request: &[u8],
    answer: &[u8],
    latency_ms: f64,
) -> anyhow::Result<SanityReport> {
    let answer: LogEntryAnswer =
        serde_json::from_slice(answer).context("the answer is not a v1 log entry")?;
    ensure!(
        answer.len() == 1,
        "the answer holds {} entries, not one",
        answer.len()
    );
    let Some((uuid, entry)) = answer.into_iter().next() else {
        bail!("the answer holds no entry");
    };
    let expected = ProposedEntry::from_json(request)
        .and_then(|e| e.canonical_body())
        .context("our own request does not parse")?;
    ensure!(
        entry.body == expected,
        "the logged body is not the request's canonical body"
    );
    ensure!(
        uuid == entry_uuid(&entry.body),
        "the entry's UUID is not the leaf hash of its body"
    );
    verify_set(log_spki, &entry).context("the Signed Entry Timestamp does not verify")?;
    let proof = &entry.verification.inclusion_proof;
    let included = Inclusion {
        body: &entry.body,
        entry_index: entry.log_index,
        proof_index: proof.log_index,
        tree_size: proof.tree_size,
        root: &proof.root_hash,
        hashes: &proof.hashes,
        checkpoint: &proof.checkpoint,
    };
    let origin = included.check(CheckpointKey::Known(log_spki))?;
    Ok(SanityReport {
        log_index: entry.log_index,
        tree_size: proof.tree_size,
        origin,
        checkpoint_signature_verified: true,
        checked: "canonical body, SET, checkpoint signature, inclusion proof".into(),
        latency_ms,
    })
}

/// Checks a v2 answer to `request`: a `TransparencyLogEntry` of kind hashedrekord
/// 0.0.2 whose body is the request's canonical body, whose inclusion proof leads to
/// its checkpoint's root, and whose checkpoint is signed by `log_spki` (when known;
/// else a signature line must carry the entry's log ID as key ID).
fn check_v2_answer(
    log_spki: Option<&[u8]>,
    request: &[u8],
    answer: &[u8],
    latency_ms: f64,
) -> anyhow::Result<SanityReport> {
    let entry = TransparencyLogEntry::from_json(answer)
        .context("the answer is not a TransparencyLogEntry")?;
    let expected = CreateEntryRequest::from_json(request)
        .and_then(|r| r.canonical_body())
        .context("our own request does not parse")?;
    ensure!(
        entry.canonicalized_body == expected,
        "the logged body is not the request's canonical body"
    );
    ensure!(
        (
            entry.kind_version.kind.as_str(),
            entry.kind_version.version.as_str()
        ) == ("hashedrekord", v2::API_VERSION),
        "the entry is of kind {} {}, not hashedrekord {}",
        entry.kind_version.kind,
        entry.kind_version.version,
        v2::API_VERSION
    );
    if let Some(spki) = log_spki {
        ensure!(
            entry.log_id.key_id == pki::ct::log_id(spki),
            "the entry's log ID is not the log key's"
        );
    }
    let proof = &entry.inclusion_proof;
    let included = Inclusion {
        body: &entry.canonicalized_body,
        entry_index: entry.log_index,
        proof_index: proof.log_index,
        tree_size: proof.tree_size,
        root: &proof.root_hash,
        hashes: &proof.hashes,
        checkpoint: &proof.checkpoint.envelope,
    };
    let key = match log_spki {
        Some(spki) => CheckpointKey::Known(spki),
        None => CheckpointKey::LogId(&entry.log_id.key_id),
    };
    let origin = included.check(key)?;
    Ok(SanityReport {
        log_index: entry.log_index,
        tree_size: proof.tree_size,
        origin,
        checkpoint_signature_verified: log_spki.is_some(),
        checked: if log_spki.is_some() {
            "canonical body, checkpoint signature, inclusion proof".into()
        } else {
            "canonical body, checkpoint key ID, inclusion proof (no --log-key: the checkpoint \
             signature is not verified)"
                .into()
        },
        latency_ms,
    })
}

/// What a checkpoint's signature is checked with.
#[derive(Clone, Copy)]
enum CheckpointKey<'a> {
    /// The log key, SubjectPublicKeyInfo DER: the signature must verify.
    Known(&'a [u8]),
    /// Only the log ID the entry names: a signature line must carry its first four
    /// bytes as key ID (sigstore's checkpoint key ID).
    LogId(&'a [u8; 32]),
}

/// An entry's claim to be in a tree, as both APIs state it.
struct Inclusion<'a> {
    body: &'a [u8],
    entry_index: u64,
    proof_index: u64,
    tree_size: u64,
    root: &'a [u8; 32],
    hashes: &'a [[u8; 32]],
    checkpoint: &'a str,
}

impl Inclusion<'_> {
    /// The checkpoint (a signed note under its own origin) states the proof's tree and
    /// is signed by the log key, and the proof leads from the body's leaf hash to its
    /// root. Returns the origin.
    fn check(&self, key: CheckpointKey<'_>) -> anyhow::Result<String> {
        ensure!(
            self.proof_index == self.entry_index,
            "the proof is for index {}, the entry at {}",
            self.proof_index,
            self.entry_index
        );
        let note =
            SignedNote::parse(self.checkpoint).map_err(|e| anyhow!("the checkpoint: {e}"))?;
        let origin = note.text.lines().next().unwrap_or_default().to_owned();
        match key {
            CheckpointKey::Known(spki) => {
                let verifier = EcdsaNoteVerifier::new(&origin, spki)
                    .map_err(|e| anyhow!("the checkpoint's origin {origin:?}: {e}"))?;
                note.verify(&[&verifier])
                    .map_err(|e| anyhow!("the checkpoint is not signed by the log key: {e}"))?;
            }
            CheckpointKey::LogId(log_id) => ensure!(
                note.signatures
                    .iter()
                    .any(|s| s.key_name == origin && s.key_id[..] == log_id[..4]),
                "no signature of the checkpoint carries the entry's log ID"
            ),
        }
        let parsed = Checkpoint::parse(&note.text).map_err(|e| anyhow!("the checkpoint: {e}"))?;
        ensure!(
            parsed.size == self.tree_size && &parsed.root == self.root,
            "the checkpoint is of size {}, the proof of size {} (or their roots differ)",
            parsed.size,
            self.tree_size
        );
        merkle::verify_inclusion(
            &merkle::leaf_hash(self.body),
            self.proof_index,
            self.tree_size,
            self.hashes,
            self.root,
        )
        .map_err(|e| anyhow!("the inclusion proof does not verify: {e}"))?;
        Ok(origin)
    }
}

/// Sends request 0 and checks the answer in full. A v1 log publishes its key; a
/// `given_key` must then be that key.
async fn sanity(
    client: &Client,
    api: Api,
    log_base: &str,
    url: &Url,
    request: &Bytes,
    given_key: Option<&[u8]>,
) -> anyhow::Result<SanityReport> {
    match api {
        Api::V1 => {
            let log_spki = v1_log_key(client, log_base).await?;
            if let Some(given) = given_key {
                ensure!(
                    given == log_spki.as_slice(),
                    "--log-key is not the key the log publishes"
                );
            }
            let (answer, latency_ms) = post_once(client, url, request).await?;
            check_v1_answer(&log_spki, request, &answer, latency_ms)
        }
        Api::V2 => {
            let (answer, latency_ms) = post_once(client, url, request).await?;
            check_v2_answer(given_key, request, &answer, latency_ms)
        }
    }
}

/// POSTs one request; the body of a 201 answer and the latency in milliseconds.
async fn post_once(client: &Client, url: &Url, body: &Bytes) -> anyhow::Result<(Bytes, f64)> {
    let started = Instant::now();
    let response = client
        .post(url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body.clone())
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let answer = response
        .bytes()
        .await
        .with_context(|| format!("POST {url}: reading the answer"))?;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    ensure!(
        status == StatusCode::CREATED,
        "POST {url}: HTTP {status}: {}",
        error_message(&answer)
    );
    Ok((answer, latency_ms))
}

/// A timed answer counts when the entry was created (201); anything else is an error
/// tallied by the server's message.
fn check_created(status: StatusCode, body: &[u8]) -> Result<(), Refusal> {
    match status {
        StatusCode::CREATED => Ok(()),
        // v1 answers a logged entry with 409 and a message naming its UUID, v2 with the
        // entry and 200; one text tallies them all.
        StatusCode::CONFLICT | StatusCode::OK => Err(Refusal::status(
            status,
            "the entry is in the log already (every request must be a new entry)".into(),
        )),
        _ => Err(Refusal::status(status, error_message(body))),
    }
}

// ---------------------------------------------------------------------------
// Ceiling and report
// ---------------------------------------------------------------------------

/// The ceiling: the public-key operations an entry costs the log, on every core.
#[derive(Debug, Serialize)]
struct RekorCeiling {
    /// ECDSA P-256 SHA-256 verify, microseconds, one thread.
    ecdsa_p256_verify_us: f64,
    /// ECDSA P-256 SHA-256 sign, microseconds, one thread.
    ecdsa_p256_sign_us: f64,
    /// P-256 signatures per entry: 1 (the SET) for v1, 0 for v2.
    signs_per_entry: u32,
    /// Crypto time per entry on one core, microseconds.
    cost_us_per_entry: f64,
    cores: usize,
    /// `cores` / cost: perfect scaling, no other work.
    entries_per_sec: f64,
    /// The formula with the numbers filled in, for quoting.
    formula: String,
}

impl RekorCeiling {
    fn new(api: Api, primitives: &PrimitiveCosts, cores: usize) -> Self {
        let (verify, sign) = (
            primitives.ecdsa_p256_verify_us,
            primitives.ecdsa_p256_sign_us,
        );
        let (signs, formula) = match api {
            Api::V1 => (
                1,
                format!(
                    "cost/entry = 1 × P-256 verify + 1 × P-256 sign = {verify:.1} µs + {sign:.1} µs \
                     = {:.1} µs (the entry's signature; its Signed Entry Timestamp)",
                    verify + sign
                ),
            ),
            Api::V2 => (
                0,
                format!(
                    "cost/entry = 1 × P-256 verify = {verify:.1} µs (the entry's signature; a v2 \
                     entry has no promise to sign)"
                ),
            ),
        };
        let cost = verify + f64::from(signs) * sign;
        Self {
            ecdsa_p256_verify_us: verify,
            ecdsa_p256_sign_us: sign,
            signs_per_entry: signs,
            cost_us_per_entry: cost,
            cores,
            entries_per_sec: if cost > 0.0 {
                cores as f64 * 1e6 / cost
            } else {
                0.0
            },
            formula,
        }
    }
}

#[derive(Debug, Serialize)]
struct SetupReport {
    entries: usize,
    keys: usize,
    threads: usize,
    secs: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    url: String,
    log: String,
    api: Api,
    concurrency: u32,
    runtime_threads: u32,
    setup: SetupReport,
    sanity: SanityReport,
    entries: PhaseReport,
    /// Most frequent failures, by status and server message.
    top_errors: Vec<ErrorCount>,
    ceiling: RekorCeiling,
    achieved_entries_per_sec: f64,
    /// achieved / the all-cores ceiling.
    ceiling_ratio: f64,
    /// Server CPU per created entry during the load (`--server-pid` only).
    server_cpu_us_per_entry: Option<f64>,
    /// Server CPU seconds / wall seconds during the load (`--server-pid` only).
    server_cores_busy: Option<f64>,
    #[serde(flatten)]
    rss: rss::PeakRss,
}

impl Report {
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "certcentral-bench rekor  {}  (log {}, API {}, concurrency {}, {} runtime threads, http/1.1)",
            self.url,
            self.log,
            self.api.name(),
            self.concurrency,
            self.runtime_threads
        );
        self.entries.write_text(&mut out, "entries (hashedrekord)");
        if !self.top_errors.is_empty() {
            let _ = writeln!(out, "  top errors");
            for e in &self.top_errors {
                let _ = writeln!(out, "    {:>8} × {}", e.count, e.message);
            }
        }
        let c = &self.ceiling;
        let _ = writeln!(
            out,
            "crypto (1 thread, aws-lc-rs, this run): P-256 verify {:.1} µs, P-256 sign {:.1} µs",
            c.ecdsa_p256_verify_us, c.ecdsa_p256_sign_us
        );
        let _ = writeln!(out, "formula: {}", c.formula);
        let _ = writeln!(
            out,
            "crypto ceiling: {:.0} entries/s for {} cores",
            c.entries_per_sec, c.cores
        );
        let _ = writeln!(
            out,
            "achieved: {:.0} entries/s = {:.2} × the {}-core ceiling",
            self.achieved_entries_per_sec, self.ceiling_ratio, c.cores
        );
        if let (Some(us), Some(busy)) = (self.server_cpu_us_per_entry, self.server_cores_busy) {
            let _ = writeln!(
                out,
                "server CPU during the load: {us:.0} µs per entry, {busy:.2} cores busy"
            );
        }
        self.rss.write(&mut out);
        out
    }
}

/// Runs the benchmark; fails if the sanity request fails or no entry was created.
pub fn run(args: RekorBenchArgs) -> anyhow::Result<ExitCode> {
    let base = cli::cert::server_root(&args.url)?;
    let log_base = format!("{base}/rekor/{}", args.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = load_client(args.concurrency, args.timeout, false, "bench rekor")?;
    let interactive = std::io::stderr().is_terminal();

    // 1. The API.
    let api = match args.api {
        Some(api) => api,
        None => runtime.block_on(discover_api(&client, &log_base))?,
    };
    let url = Url::parse(&api.entries_url(&log_base)).context("entries URL")?;

    // 2. Setup: one request for the sanity check, N for the load.
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let count = args.n as usize + 1;
    let keys = args.keys.map_or(count, |k| k as usize).min(count);
    let mut prepared = prepare_requests(api, count, keys, cores).context("setup")?;
    let setup = SetupReport {
        entries: count,
        keys,
        threads: cores,
        secs: started.elapsed().as_secs_f64(),
    };
    if !args.json {
        eprintln!(
            "setup: {} hashedrekord requests ({} P-256 keys) on {} threads in {:.2} s",
            setup.entries, setup.keys, setup.threads, setup.secs
        );
    }

    // 3. Sanity request.
    let first = prepared
        .pop()
        .ok_or_else(|| anyhow!("setup made no request"))?;
    let given_key = match &args.log_key {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(anyhow::Error::from)
                .and_then(|pem| log_key_from_pem(&pem))
                .with_context(|| format!("--log-key {}", path.display()))?,
        ),
        None => None,
    };
    let sanity = runtime
        .block_on(sanity(
            &client,
            api,
            &log_base,
            &url,
            &first,
            given_key.as_deref(),
        ))
        .context("sanity request")?;
    if !args.json {
        eprintln!(
            "sanity: entry {} in a tree of {} ({}): {} checked ({:.1} ms)",
            sanity.log_index, sanity.tree_size, sanity.origin, sanity.checked, sanity.latency_ms
        );
    }

    // 4. Crypto ceiling, before the load so neither disturbs the other.
    let primitives = crypto_ceiling::measure(Duration::from_millis(args.ceiling_ms))?;
    let ceiling = RekorCeiling::new(api, &primitives, cores);

    // 5. Load.
    let load = PostLoad {
        client: client.clone(),
        url,
        content_type: HeaderValue::from_static("application/json"),
        requests: prepared.into_iter().map(PreparedPost::from).collect(),
        total: args.n as usize,
    };
    let bar = progress_bar(interactive, u64::from(args.n), "entries");
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let cpu_before = server_pid.as_deref().and_then(rss::proc_cpu_secs);
    let LoadOutcome { phase, messages } =
        runtime.block_on(load.run(args.concurrency as usize, &bar, check_created));
    let cpu_after = server_pid.as_deref().and_then(rss::proc_cpu_secs);
    bar.finish_and_clear();
    let server_cpu_secs = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };

    // 6. Memory.
    let rss = runtime.block_on(rss::PeakRss::measure(
        &client,
        &format!("{base}/healthz"),
        args.server_pid,
    ));

    let achieved = phase.ok_per_sec;
    let report = Report {
        url: base,
        log: args.log,
        api,
        concurrency: args.concurrency,
        runtime_threads: args.threads,
        setup,
        sanity,
        top_errors: top_messages(messages, TOP_ERRORS),
        ceiling_ratio: if ceiling.entries_per_sec > 0.0 {
            achieved / ceiling.entries_per_sec
        } else {
            0.0
        },
        achieved_entries_per_sec: achieved,
        server_cpu_us_per_entry: server_cpu_secs
            .filter(|_| phase.ok > 0)
            .map(|secs| secs * 1e6 / phase.ok as f64),
        server_cores_busy: server_cpu_secs
            .filter(|_| phase.wall_secs > 0.0)
            .map(|secs| secs / phase.wall_secs),
        ceiling,
        entries: phase,
        rss,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.entries.ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use merkle::note::NoteSigner;
    use pki::keys::EcdsaP256Signer;
    use pki::rekor::checkpoint::EcdsaNoteSigner;
    use pki::rekor::{InclusionProof, LogEntry, Verification, sign_set};

    use super::*;

    fn hashed_rekord(request: &[u8]) -> HashedRekord {
        match ProposedEntry::from_json(request).unwrap() {
            ProposedEntry::HashedRekord(entry) => entry,
            other => panic!("not a hashedrekord: {other:?}"),
        }
    }

    #[test]
    fn prepared_v1_requests_parse_verify_and_are_distinct() {
        let requests = prepare_requests(Api::V1, 7, 3, 2).unwrap();
        assert_eq!(requests.len(), 7);
        let entries: Vec<HashedRekord> = requests.iter().map(|r| hashed_rekord(r)).collect();
        for entry in &entries {
            entry.verify().unwrap();
            assert_eq!(entry.hash().algorithm().name(), "sha256");
        }
        let bodies: HashSet<Vec<u8>> = entries
            .iter()
            .map(|e| e.canonical_body().unwrap())
            .collect();
        assert_eq!(bodies.len(), 7, "every request is a new entry");
        // Request i is signed by key i mod 3, across the threads' ranges.
        let key = |i: usize| entries[i].verifier().spki_der().to_vec();
        assert_eq!(key(0), key(3));
        assert_eq!(key(2), key(5));
        assert_ne!(key(0), key(1));
        let distinct: HashSet<Vec<u8>> = (0..7).map(key).collect();
        assert_eq!(distinct.len(), 3);
    }

    #[test]
    fn prepared_v2_requests_parse_verify_and_are_distinct() {
        let requests = prepare_requests(Api::V2, 5, 2, 2).unwrap();
        let parsed: Vec<HashedRekordRequest> = requests
            .iter()
            .map(|r| match CreateEntryRequest::from_json(r).unwrap() {
                CreateEntryRequest::HashedRekord(request) => request,
                other => panic!("not a hashedrekord: {other:?}"),
            })
            .collect();
        for request in &parsed {
            request.verify().unwrap();
            assert_eq!(
                request.signature().verifier().key_details(),
                KeyDetails::EcdsaP256Sha256
            );
        }
        let bodies: HashSet<Vec<u8>> = parsed.iter().map(|r| r.canonical_body().unwrap()).collect();
        assert_eq!(bodies.len(), 5, "every request is a new entry");
        let key = |i: usize| parsed[i].signature().verifier().spki_der().to_vec();
        assert_eq!(key(0), key(4));
        assert_ne!(key(0), key(1));
    }

    #[test]
    fn one_key_per_entry_by_default_gives_fresh_keys() {
        let requests = prepare_requests(Api::V1, 4, 4, 4).unwrap();
        let keys: HashSet<Vec<u8>> = requests
            .iter()
            .map(|r| hashed_rekord(r).verifier().spki_der().to_vec())
            .collect();
        assert_eq!(keys.len(), 4);
    }

    /// A log of two entries, `other` then the request's: the answer for the second,
    /// with its SET, a signed checkpoint and the one-hash proof.
    fn v1_answer(log_key: &EcdsaP256Signer, request: &[u8], origin: &str) -> LogEntry {
        let body = ProposedEntry::from_json(request)
            .unwrap()
            .canonical_body()
            .unwrap();
        let other = merkle::leaf_hash(b"an earlier entry");
        let root = merkle::node_hash(&other, &merkle::leaf_hash(&body));
        let mut note = SignedNote::new(Checkpoint::new(origin, 2, root).to_text()).unwrap();
        let signer = EcdsaNoteSigner::new(origin, log_key).unwrap();
        assert_eq!(signer.key_name(), origin);
        note.sign(&signer).unwrap();
        LogEntry {
            integrated_time: 1_700_000_000,
            log_id: log_key.log_id(),
            log_index: 1,
            verification: Verification {
                inclusion_proof: InclusionProof {
                    checkpoint: note.encode(),
                    hashes: vec![other],
                    log_index: 1,
                    root_hash: root,
                    tree_size: 2,
                },
                signed_entry_timestamp: sign_set(log_key, &body, 1_700_000_000, 1).unwrap(),
            },
            body,
        }
    }

    fn encode(entry: &LogEntry) -> Vec<u8> {
        let answer = LogEntryAnswer::from([(entry_uuid(&entry.body), entry.clone())]);
        serde_json::to_vec(&answer).unwrap()
    }

    #[test]
    fn v1_sanity_accepts_an_answer_that_verifies_in_full() {
        let log_key = EcdsaP256Signer::generate().unwrap();
        let request = prepare_requests(Api::V1, 1, 1, 1).unwrap().remove(0);
        let entry = v1_answer(&log_key, &request, "log.example/rekor/dev-v1");
        let report = check_v1_answer(&log_key.spki_der(), &request, &encode(&entry), 1.0).unwrap();
        assert_eq!((report.log_index, report.tree_size), (1, 2));
        assert_eq!(report.origin, "log.example/rekor/dev-v1");
    }

    #[test]
    fn v1_sanity_refuses_each_broken_promise() {
        let log_key = EcdsaP256Signer::generate().unwrap();
        let spki = log_key.spki_der();
        let requests = prepare_requests(Api::V1, 2, 1, 1).unwrap();
        let good = v1_answer(&log_key, &requests[0], "log.example/rekor/dev-v1");
        let check = |entry: &LogEntry| {
            check_v1_answer(&spki, &requests[0], &encode(entry), 1.0)
                .unwrap_err()
                .to_string()
        };

        let mut bad_set = good.clone();
        bad_set.log_index = 0;
        bad_set.verification.inclusion_proof.log_index = 0;
        assert!(check(&bad_set).contains("Signed Entry Timestamp"));

        let other_body = v1_answer(&log_key, &requests[1], "log.example/rekor/dev-v1");
        assert!(check(&other_body).contains("canonical body"));

        let mut bad_proof = good.clone();
        bad_proof.verification.inclusion_proof.hashes = vec![[7; 32]];
        assert!(check(&bad_proof).contains("inclusion proof"));

        let stranger = EcdsaP256Signer::generate().unwrap();
        let mut foreign_checkpoint = good.clone();
        foreign_checkpoint.verification.inclusion_proof.checkpoint =
            v1_answer(&stranger, &requests[0], "log.example/rekor/dev-v1")
                .verification
                .inclusion_proof
                .checkpoint;
        assert!(check(&foreign_checkpoint).contains("not signed by the log key"));

        let mut two = LogEntryAnswer::from([(entry_uuid(&good.body), good.clone())]);
        two.insert("00".repeat(32), good.clone());
        let err = check_v1_answer(&spki, &requests[0], &serde_json::to_vec(&two).unwrap(), 1.0)
            .unwrap_err();
        assert!(err.to_string().contains("2 entries"), "{err}");
    }

    /// The v2 answer for the request as the second entry of a two-entry log.
    fn v2_answer(log_key: &EcdsaP256Signer, request: &[u8], origin: &str) -> TransparencyLogEntry {
        use pki::rekor::tle;
        let body = CreateEntryRequest::from_json(request)
            .unwrap()
            .canonical_body()
            .unwrap();
        let other = merkle::leaf_hash(b"an earlier entry");
        let root = merkle::node_hash(&other, &merkle::leaf_hash(&body));
        let mut note = SignedNote::new(Checkpoint::new(origin, 2, root).to_text()).unwrap();
        note.sign(&EcdsaNoteSigner::new(origin, log_key).unwrap())
            .unwrap();
        TransparencyLogEntry {
            log_index: 1,
            log_id: tle::LogId {
                key_id: log_key.log_id(),
            },
            kind_version: tle::KindVersion {
                kind: "hashedrekord".into(),
                version: v2::API_VERSION.into(),
            },
            integrated_time: None,
            inclusion_promise: None,
            inclusion_proof: tle::InclusionProof {
                log_index: 1,
                root_hash: root,
                tree_size: 2,
                hashes: vec![other],
                checkpoint: tle::Checkpoint {
                    envelope: note.encode(),
                },
            },
            canonicalized_body: body,
        }
    }

    #[test]
    fn v2_sanity_verifies_the_checkpoint_with_the_given_key() {
        let log_key = EcdsaP256Signer::generate().unwrap();
        let spki = log_key.spki_der();
        let requests = prepare_requests(Api::V2, 2, 1, 1).unwrap();
        let good = v2_answer(&log_key, &requests[0], "log.example/rekor/dev-v2");
        let answer = good.to_json().unwrap();
        let report = check_v2_answer(Some(&spki), &requests[0], &answer, 1.0).unwrap();
        assert!(report.checkpoint_signature_verified);
        assert_eq!((report.log_index, report.tree_size), (1, 2));
        // Without the key the checkpoint's key ID is matched to the entry's log ID.
        let report = check_v2_answer(None, &requests[0], &answer, 1.0).unwrap();
        assert!(!report.checkpoint_signature_verified);
        assert!(
            report.checked.contains("not verified"),
            "{}",
            report.checked
        );

        let check = |key: Option<&[u8]>, entry: &TransparencyLogEntry| {
            check_v2_answer(key, &requests[0], &entry.to_json().unwrap(), 1.0)
                .unwrap_err()
                .to_string()
        };
        let other_body = v2_answer(&log_key, &requests[1], "log.example/rekor/dev-v2");
        assert!(check(Some(&spki), &other_body).contains("canonical body"));

        let stranger = EcdsaP256Signer::generate().unwrap();
        let mut foreign = good.clone();
        foreign.inclusion_proof.checkpoint =
            v2_answer(&stranger, &requests[0], "log.example/rekor/dev-v2")
                .inclusion_proof
                .checkpoint;
        assert!(check(Some(&spki), &foreign).contains("not signed by the log key"));
        assert!(check(None, &foreign).contains("log ID"));
        assert!(check(Some(&stranger.spki_der()), &good).contains("log ID is not the log key"));

        let mut bad_proof = good.clone();
        bad_proof.inclusion_proof.hashes = vec![[7; 32]];
        assert!(check(None, &bad_proof).contains("inclusion proof"));

        let mut dsse = good;
        dsse.kind_version.kind = "dsse".into();
        assert!(check(Some(&spki), &dsse).contains("kind dsse"));
    }

    #[test]
    fn log_key_pem_is_a_public_key_or_the_dev_servers_private_key_file() {
        let key = EcdsaP256Signer::generate().unwrap();
        let private = key.to_pkcs8_pem().unwrap();
        let public =
            der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &key.spki_der())
                .unwrap();
        assert_eq!(log_key_from_pem(&private).unwrap(), key.spki_der());
        assert_eq!(log_key_from_pem(&public).unwrap(), key.spki_der());
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(
            log_key_from_pem(cert)
                .unwrap_err()
                .to_string()
                .contains("CERTIFICATE")
        );
        assert!(log_key_from_pem("no PEM").is_err());
    }

    #[test]
    fn only_created_counts_and_conflicts_share_one_message() {
        assert_eq!(check_created(StatusCode::CREATED, b""), Ok(()));
        let conflict = |uuid: &str| {
            check_created(
                StatusCode::CONFLICT,
                format!(r#"{{"code":"conflict","message":"exists with UUID {uuid}"}}"#).as_bytes(),
            )
            .unwrap_err()
        };
        assert_eq!(conflict("aa"), conflict("bb"));
        assert_eq!(conflict("aa").kind, crate::stats::ErrorKind::Http(409));
        let busy = check_created(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"code":"unavailable","message":"the log is overloaded; retry later"}"#,
        )
        .unwrap_err();
        assert_eq!(busy.message, "the log is overloaded; retry later");
        // An existing entry answered 200 is not a new entry either.
        assert!(check_created(StatusCode::OK, b"{}").is_err());
    }

    #[test]
    fn v1_ceiling_is_one_verify_and_one_sign_per_entry() {
        let costs = PrimitiveCosts {
            ecdsa_p256_sign_us: 20.0,
            ecdsa_p256_verify_us: 60.0,
            rsa2048_verify_us: 15.0,
        };
        let c = RekorCeiling::new(Api::V1, &costs, 2);
        assert!((c.cost_us_per_entry - 80.0).abs() < 1e-9);
        assert!((c.entries_per_sec - 2e6 / 80.0).abs() < 1e-6);
        assert!(
            c.formula.contains("60.0 µs + 20.0 µs = 80.0 µs"),
            "{}",
            c.formula
        );
    }

    #[test]
    fn v2_ceiling_is_one_verify_per_entry() {
        let costs = PrimitiveCosts {
            ecdsa_p256_sign_us: 20.0,
            ecdsa_p256_verify_us: 50.0,
            rsa2048_verify_us: 15.0,
        };
        let c = RekorCeiling::new(Api::V2, &costs, 2);
        assert_eq!(c.signs_per_entry, 0);
        assert!((c.cost_us_per_entry - 50.0).abs() < 1e-9);
        assert!((c.entries_per_sec - 40_000.0).abs() < 1e-6);
    }

    #[test]
    fn log_name_is_one_path_segment() {
        assert!(parse_log_name("dev-v1").is_ok());
        for bad in ["", "a/b", "..", "dev v1", "x?y"] {
            assert!(parse_log_name(bad).is_err(), "{bad:?}");
        }
    }
}
