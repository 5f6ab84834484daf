//! The process's lifecycle as load balancers and service managers see it: `/readyz`
//! (ready to take writes) and the orderly stop on SIGTERM/SIGINT.
//!
//! The stop keeps the one promise a log makes: no SCT or inclusion proof without its
//! batch committed. So on the signal the listener stops accepting, every sequencer
//! integrates what is waiting at once (those submitters get their answers), and the
//! HTTP connections drain. If that takes longer than `shutdown_timeout`, whoever is
//! still waiting is answered 503 (retry; a retry of a logged entry gets the same
//! answer), and the process exits anyway. Webhook deliveries need nothing here: the
//! monitor's outbox keeps any that did not finish, and the next start sends them.
//! Leases (PostgreSQL session locks) end with their sessions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

/// How long one readiness check may take before it counts as not ready: a load
/// balancer's probe must not hang on a storage that does not answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What is left of the shutdown budget for the 503s to reach their clients after the
/// waiters are given up on.
const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// The services whose state `/readyz` reports and the stop drains.
pub struct Lifecycle {
    logs: Vec<Arc<ctlog::Log>>,
    artifact_logs: Vec<Arc<rekor::ArtifactLog>>,
    registry: Option<Arc<registry::Registry>>,
    stopping: AtomicBool,
}

/// One line of `/readyz`.
#[derive(Debug, Serialize)]
struct Check {
    component: String,
    ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// How the stop went.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every waiting submitter got its answer and every sequencer ended.
    Cleanly,
    /// The timeout ran out: named are what still ran (waiters were answered 503).
    TimedOut(Vec<String>),
}

impl Lifecycle {
    pub fn new(
        logs: Vec<Arc<ctlog::Log>>,
        artifact_logs: Vec<Arc<rekor::ArtifactLog>>,
        registry: Option<Arc<registry::Registry>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            logs,
            artifact_logs,
            registry,
            stopping: AtomicBool::new(false),
        })
    }

    /// `GET /readyz`.
    pub fn router(self: &Arc<Self>) -> Router {
        let this = self.clone();
        Router::new().route(
            "/readyz",
            get(move || {
                let this = this.clone();
                async move { this.readyz().await }
            }),
        )
    }

    async fn readyz(self: Arc<Self>) -> Response {
        let checks = self.checks().await;
        let not_ready: Vec<String> = checks
            .iter()
            .filter_map(|c| c.problem.as_ref().map(|p| format!("{}: {p}", c.component)))
            .collect();
        if not_ready.is_empty() {
            return axum::Json(serde_json::json!({ "ready": true, "checks": checks }))
                .into_response();
        }
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "code": "not_ready",
                "message": not_ready.join("; "),
                "ready": false,
                "checks": checks,
            })),
        )
            .into_response()
    }

    /// Every component's readiness, checked concurrently on the blocking pool (each
    /// is a storage round trip).
    async fn checks(self: &Arc<Self>) -> Vec<Check> {
        let mut checks = vec![Check::from_result(
            "server".into(),
            if self.stopping.load(Ordering::Relaxed) {
                Err("shutting down".into())
            } else {
                Ok(())
            },
        )];
        type Probe = Box<dyn FnOnce() -> Result<(), String> + Send>;
        let mut probes: Vec<(String, Probe)> = Vec::new();
        for log in &self.logs {
            let log = log.clone();
            probes.push((
                format!("log {}", log.name()),
                Box::new(move || log.readiness()),
            ));
        }
        for log in &self.artifact_logs {
            let log = log.clone();
            probes.push((
                format!("artifact log {}", log.name()),
                Box::new(move || log.readiness()),
            ));
        }
        if let Some(registry) = &self.registry {
            let registry = registry.clone();
            probes.push((
                "registry".into(),
                Box::new(move || {
                    registry
                        .checkpoint()
                        .map(|_| ())
                        .map_err(|e| format!("storage: {e}"))
                }),
            ));
        }
        let running: Vec<_> = probes
            .into_iter()
            .map(|(name, probe)| (name, tokio::task::spawn_blocking(probe)))
            .collect();
        for (name, task) in running {
            let result = match tokio::time::timeout(CHECK_TIMEOUT, task).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err("the check failed".into()),
                Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
            };
            checks.push(Check::from_result(name, result));
        }
        checks
    }

    /// The orderly stop, once the signal came and the listener was told to stop
    /// accepting: `serving` is the HTTP server draining its connections.
    pub async fn stop(
        &self,
        serving: tokio::task::JoinHandle<std::io::Result<()>>,
        timeout: Duration,
    ) -> anyhow::Result<Stopped> {
        let deadline = Instant::now() + timeout;
        self.stopping.store(true, Ordering::Relaxed);
        let mut threads = Vec::new();
        for log in &self.logs {
            threads.extend(log.close().map(|t| (format!("log {}", log.name()), t)));
        }
        for log in &self.artifact_logs {
            threads.extend(
                log.close()
                    .map(|t| (format!("artifact log {}", log.name()), t)),
            );
        }
        let mut still_running = Vec::new();
        let answer_by = deadline - ANSWER_GRACE.min(timeout / 2);
        let mut serving = serving;
        let drained = match tokio::time::timeout_at(answer_by.into(), &mut serving).await {
            Ok(result) => Some(result),
            Err(_) => {
                tracing::warn!("shutdown: answering the submitters still waiting with 503");
                for log in &self.logs {
                    log.abandon_waiters();
                }
                for log in &self.artifact_logs {
                    log.abandon_waiters();
                }
                tokio::time::timeout_at(deadline.into(), &mut serving)
                    .await
                    .ok()
            }
        };
        match drained {
            Some(result) => result??,
            None => {
                serving.abort();
                still_running.push("HTTP connections".to_owned());
            }
        }
        // The sequencers ended their last batch, or are still in it: then a commit
        // is under way, and nobody was promised its result (its waiters got 503s).
        let ended = tokio::task::spawn_blocking(move || {
            let mut running = Vec::new();
            for (name, thread) in threads {
                while !thread.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if thread.is_finished() {
                    let _ = thread.join();
                } else {
                    running.push(name);
                }
            }
            running
        })
        .await?;
        still_running.extend(ended);
        Ok(if still_running.is_empty() {
            Stopped::Cleanly
        } else {
            Stopped::TimedOut(still_running)
        })
    }
}

impl Check {
    fn from_result(component: String, result: Result<(), String>) -> Self {
        Self {
            component,
            ready: result.is_ok(),
            problem: result.err(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn readyz_turns_503_and_says_why_once_the_server_stops() {
        let lifecycle = Lifecycle::new(Vec::new(), Vec::new(), None);
        let ready = lifecycle.clone().readyz().await;
        assert_eq!(ready.status(), StatusCode::OK);
        assert_eq!(body(ready).await["ready"], true);

        lifecycle.stopping.store(true, Ordering::Relaxed);
        let stopping = lifecycle.clone().readyz().await;
        assert_eq!(stopping.status(), StatusCode::SERVICE_UNAVAILABLE);
        let json = body(stopping).await;
        assert_eq!(json["code"], "not_ready");
        assert_eq!(json["message"], "server: shutting down");
        assert_eq!(json["checks"][0]["ready"], false);
    }
}
