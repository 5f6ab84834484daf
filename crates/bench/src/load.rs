//! The timed phase of the benches that POST prepared bodies to one URL (`issue`, `tsa`,
//! `rekor`): N requests over C in-flight tasks, bodies cycled from a prepared list, each
//! answer judged by the bench's own check, a progress bar, and one [`PhaseReport`].
//!
//! Bodies are built before the clock starts, so the load generator only sends bytes
//! and reads a status on the cores the server is measured on; each task keeps its own
//! [`Recorder`], merged once at the end, so the hot path touches no shared state but
//! two counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use indicatif::ProgressBar;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;

use super::ct::PhaseReport;
use super::http::{join_workers, send_timed_any_status, spawn_ticker};
use crate::stats::{ErrorKind, Recorder};

/// One prepared request: its body and, when the credential is not in the body, an
/// `Authorization` value.
#[derive(Debug, Clone)]
pub struct PreparedPost {
    pub body: Bytes,
    pub authorization: Option<HeaderValue>,
}

impl From<Bytes> for PreparedPost {
    fn from(body: Bytes) -> Self {
        Self {
            body,
            authorization: None,
        }
    }
}

/// Why one answer does not count as a success: the kind it is tallied under and a
/// message (the server's, or what the check found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: ErrorKind,
    pub message: String,
}

impl Refusal {
    /// An answer with an unexpected status; `message` is what the server said.
    pub fn status(status: StatusCode, message: String) -> Self {
        Self {
            kind: ErrorKind::Http(status.as_u16()),
            message,
        }
    }
}

/// A POST load: `total` requests to `url`, request `i` sending `requests[i mod len]`.
pub struct PostLoad {
    pub client: Client,
    pub url: Url,
    pub content_type: HeaderValue,
    pub requests: Vec<PreparedPost>,
    pub total: usize,
}

/// What a POST load measured.
pub struct LoadOutcome {
    pub phase: PhaseReport,
    /// Failures by `"{kind}: {message}"` for refused answers and by kind alone for
    /// transport failures (which carry no server message).
    pub messages: HashMap<String, u64>,
}

/// One failure message and how often it came.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ErrorCount {
    pub message: String,
    pub count: u64,
}

/// The `limit` most frequent messages, most frequent first (ties by text, so the
/// report is stable).
pub fn top_messages(messages: HashMap<String, u64>, limit: usize) -> Vec<ErrorCount> {
    let mut all: Vec<ErrorCount> = messages
        .into_iter()
        .map(|(message, count)| ErrorCount { message, count })
        .collect();
    all.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.message.cmp(&b.message))
    });
    all.truncate(limit);
    all
}

/// The state the tasks of one load share.
struct Shared<C> {
    load: PostLoad,
    check: C,
    /// Index of the next request (work distribution).
    next: AtomicUsize,
    /// Completed requests (progress display only).
    done: AtomicUsize,
}

impl PostLoad {
    /// Sends the load with `concurrency` requests in flight, moving `bar`. `check`
    /// judges each answer that arrived (status and whole body): `Ok` counts the request
    /// with its latency, a [`Refusal`] as an error; transport failures are errors of
    /// their kind.
    pub async fn run<C>(self, concurrency: usize, bar: &ProgressBar, check: C) -> LoadOutcome
    where
        C: Fn(StatusCode, &[u8]) -> Result<(), Refusal> + Send + Sync + 'static,
    {
        let total = self.total;
        let concurrency = concurrency.max(1);
        let per_task = total.div_ceil(concurrency) + 1;
        let shared = Arc::new(Shared {
            load: self,
            check,
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        });
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(post_worker(shared.clone(), per_task)))
            .collect();
        let ticker = spawn_ticker(bar.clone(), shared.clone(), |s| {
            s.done.load(Ordering::Relaxed)
        });
        let mut rec = Recorder::with_capacity(total);
        let mut messages: HashMap<String, u64> = HashMap::new();
        join_workers(&mut rec, workers, |rec, (r, m)| {
            rec.merge(r);
            for (message, n) in m {
                *messages.entry(message).or_default() += n;
            }
        })
        .await;
        let wall = started.elapsed();
        ticker.abort();
        for (kind, n) in &rec.errors {
            if kind.is_transport() {
                *messages.entry(kind.to_string()).or_default() += n;
            }
        }
        LoadOutcome {
            phase: PhaseReport::new(total as u64, rec, wall),
            messages,
        }
    }
}

async fn post_worker<C>(s: Arc<Shared<C>>, expected: usize) -> (Recorder, HashMap<String, u64>)
where
    C: Fn(StatusCode, &[u8]) -> Result<(), Refusal>,
{
    let load = &s.load;
    let mut rec = Recorder::with_capacity(expected);
    let mut messages = HashMap::new();
    if load.requests.is_empty() {
        return (rec, messages);
    }
    loop {
        let i = s.next.fetch_add(1, Ordering::Relaxed);
        if i >= load.total {
            break;
        }
        let prepared = &load.requests[i % load.requests.len()];
        let mut request = load
            .client
            .post(load.url.clone())
            .header(CONTENT_TYPE, load.content_type.clone())
            .body(prepared.body.clone());
        if let Some(authorization) = &prepared.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let reply = send_timed_any_status(&mut rec, request).await;
        s.done.fetch_add(1, Ordering::Relaxed);
        let Some((latency, status, body)) = reply else {
            continue;
        };
        match (s.check)(status, &body) {
            Ok(()) => rec.ok(latency),
            Err(refusal) => {
                *messages
                    .entry(format!("{}: {}", refusal.kind, refusal.message))
                    .or_insert(0u64) += 1;
                rec.error_detail(refusal.kind, || refusal.message);
            }
        }
    }
    (rec, messages)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::http::load_client;

    /// A loopback HTTP/1.1 server with keep-alive: a POST whose body is `good` and
    /// whose `Authorization` is `Bearer t` gets 201; any other gets 400 with the body
    /// echoed, or `unauthorized`.
    fn answering_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || serve_connection(stream));
            }
        });
        format!("http://{addr}/entries")
    }

    fn serve_connection(stream: TcpStream) -> Option<()> {
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut out = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let (mut length, mut authorized) = (0, false);
            loop {
                line.clear();
                reader.read_line(&mut line).ok()?;
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break;
                };
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().ok()?;
                } else if name.eq_ignore_ascii_case("authorization") {
                    authorized = value == "Bearer t";
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).ok()?;
            let (status, reply) = match (body.as_slice(), authorized) {
                (b"good", true) => ("201 Created", Vec::new()),
                (b"good", false) => ("400 Bad Request", b"unauthorized".to_vec()),
                _ => ("400 Bad Request", body),
            };
            write!(
                out,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n",
                reply.len()
            )
            .ok()?;
            out.write_all(&reply).ok()?;
        }
    }

    fn created_or_refused(status: StatusCode, body: &[u8]) -> Result<(), Refusal> {
        if status == StatusCode::CREATED {
            Ok(())
        } else {
            Err(Refusal::status(
                status,
                String::from_utf8_lossy(body).into_owned(),
            ))
        }
    }

    fn load(url: &str, requests: Vec<PreparedPost>, total: usize) -> PostLoad {
        PostLoad {
            client: load_client(4, 5, false, "test").unwrap(),
            url: Url::parse(url).unwrap(),
            content_type: HeaderValue::from_static("application/json"),
            requests,
            total,
        }
    }

    #[test]
    fn top_messages_sorted_by_count_then_text() {
        let m: HashMap<String, u64> = [("b", 5), ("a", 5), ("c", 9), ("d", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let top = top_messages(m, 3);
        let got: Vec<_> = top.iter().map(|e| (e.message.as_str(), e.count)).collect();
        assert_eq!(got, [("c", 9), ("a", 5), ("b", 5)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bodies_cycle_and_the_check_decides_what_counts() {
        let url = answering_server();
        let good = PreparedPost {
            body: Bytes::from_static(b"good"),
            authorization: Some(HeaderValue::from_static("Bearer t")),
        };
        let requests = vec![
            good.clone(),
            PreparedPost::from(Bytes::from_static(b"bad one")),
            good,
            PreparedPost::from(Bytes::from_static(b"good")),
        ];
        // Requests 0..10 send bodies 0,1,2,3,0,1,2,3,0,1.
        let outcome = load(&url, requests, 10)
            .run(3, &ProgressBar::hidden(), created_or_refused)
            .await;
        assert_eq!(outcome.phase.ok, 5);
        let expected: HashMap<String, u64> = [
            ("http 400: bad one".to_owned(), 3),
            ("http 400: unauthorized".to_owned(), 2),
        ]
        .into();
        assert_eq!(outcome.messages, expected);
        assert!(outcome.phase.errors_contain(ErrorKind::Http(400)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn transport_failures_are_tallied_by_kind() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/entries");
        let requests = vec![PreparedPost::from(Bytes::from_static(b"good"))];
        let outcome = load(&url, requests, 4)
            .run(2, &ProgressBar::hidden(), created_or_refused)
            .await;
        assert_eq!(outcome.phase.ok, 0);
        assert_eq!(
            outcome.messages,
            HashMap::from([("transport/connect".to_owned(), 4)])
        );
    }
}
