//! The HTTP side shared by the load generators: one keep-alive client, timed sends that
//! record into a [`Recorder`], and progress display.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cli::error_text::{body_excerpt, error_chain};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;

use crate::stats::{ErrorKind, Recorder};

/// A client for `concurrency` requests in flight against one host: that many idle
/// keep-alive connections are kept, so no request waits for a TCP handshake once the
/// pool is warm. `what` names the bench in the User-Agent.
pub fn load_client(
    concurrency: u32,
    timeout_secs: u64,
    h2c: bool,
    what: &str,
) -> anyhow::Result<Client> {
    let builder = Client::builder()
        // Loopback benchmarks must not detour through an HTTP_PROXY from the environment.
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(concurrency as usize)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(timeout_secs))
        .user_agent(format!("ccc/{} ({what})", env!("CARGO_PKG_VERSION")));
    let builder = if h2c {
        builder.http2_prior_knowledge()
    } else {
        builder.http1_only()
    };
    builder.build().context("building the HTTP client")
}

/// A progress bar on stderr, or a hidden one when stderr is not a terminal (so logs of
/// scripted runs are not filled with redraws).
pub fn progress_bar(interactive: bool, len: u64, what: &'static str) -> ProgressBar {
    if !interactive {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(what);
    bar
}

/// GETs `url` and decodes its JSON body; non-2xx is an error carrying the body's start.
pub async fn get_json<T: DeserializeOwned>(client: &Client, url: &str) -> anyhow::Result<T> {
    let resp = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .with_context(|| format!("GET {url}: reading body"))?;
    if !status.is_success() {
        bail!("GET {url}: HTTP {status}: {}", body_excerpt(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {url}: decoding JSON"))
}

/// Sends one request, timed until its whole body is in. Returns the latency and the
/// body when `expected(status)` holds; otherwise records the transport failure or the
/// unexpected status (with an excerpt of the body) in `rec` and returns `None`.
pub async fn send_timed(
    rec: &mut Recorder,
    request: reqwest::RequestBuilder,
    expected: impl Fn(StatusCode) -> bool,
) -> Option<(Duration, bytes::Bytes)> {
    let (latency, status, body) = send_timed_any_status(rec, request).await?;
    if expected(status) {
        Some((latency, body))
    } else {
        rec.error_detail(ErrorKind::Http(status.as_u16()), || body_excerpt(&body));
        None
    }
}

/// As [`send_timed`], but any status is returned with its body for the caller to judge;
/// only transport failures are recorded in `rec`.
pub async fn send_timed_any_status(
    rec: &mut Recorder,
    request: reqwest::RequestBuilder,
) -> Option<(Duration, StatusCode, bytes::Bytes)> {
    let started = Instant::now();
    let result = async {
        let resp = request.send().await?;
        let status = resp.status();
        Ok::<_, reqwest::Error>((status, resp.bytes().await?))
    }
    .await;
    let latency = started.elapsed();
    match result {
        Err(e) => {
            rec.error_detail(ErrorKind::from_transport(&e), || error_chain(&e));
            None
        }
        Ok((status, body)) => Some((latency, status, body)),
    }
}

/// Waits for every worker and hands each one's result to `take` (which merges its
/// recorder into `rec` and keeps the rest); a worker that panicked counts as one
/// transport error, so a run never hides a lost worker.
pub async fn join_workers<W>(
    rec: &mut Recorder,
    workers: Vec<tokio::task::JoinHandle<W>>,
    mut take: impl FnMut(&mut Recorder, W),
) {
    for w in workers {
        match w.await {
            Ok(result) => take(rec, result),
            Err(e) => rec.error_detail(ErrorKind::Transport, || format!("worker panicked: {e}")),
        }
    }
}

/// Moves `bar` to `position(state)` five times a second, so workers never touch it.
pub fn spawn_ticker<S: Send + Sync + 'static>(
    bar: ProgressBar,
    state: Arc<S>,
    position: fn(&S) -> usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if bar.is_hidden() {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            bar.set_position(position(&state) as u64);
        }
    })
}
