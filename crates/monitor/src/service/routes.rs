//! The monitor's HTTP routes: subscriptions (owned by the registry account whose API
//! key created them) and the status page.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use store::monitor::Subscription;
use webapi::{ApiError, body_error, json_response};

use super::{AlertView, MAX_ALERTS, MonitorService, lock};
use crate::WatchRule;
use crate::webhook::{self, Resolver};

/// Largest subscription request body.
const MAX_BODY_BYTES: usize = 8 * 1024;
/// Longest webhook URL accepted.
const MAX_WEBHOOK_LEN: usize = 2048;
/// Subscriptions one account may hold: each one costs a rule match per logged entry.
const MAX_SUBSCRIPTIONS_PER_ACCOUNT: u64 = 100;

/// The routes, to be merged at the server root.
pub fn router(service: Arc<MonitorService>) -> Router {
    Router::new()
        .route(
            "/api/v1/subscriptions",
            get(list_subscriptions).post(create_subscription),
        )
        .route("/api/v1/subscriptions/{id}", delete(delete_subscription))
        .route(
            "/api/v1/subscriptions/{id}/secret",
            post(rotate_subscription_secret),
        )
        .route("/api/v1/monitor/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeRequest {
    rule: String,
    webhook: String,
}

#[derive(Serialize)]
struct SubscriptionView {
    id: String,
    rule: String,
    webhook: String,
    /// Whether deliveries carry a signature (subscriptions older than signing do not).
    signed: bool,
    created_ms: u64,
    /// The signing key: in the answer that creates the subscription, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id,
            rule: s.rule,
            webhook: s.webhook,
            signed: s.secret.is_some(),
            created_ms: s.created_ms,
            secret: None,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "monitor request failed");
    ApiError::internal("the monitor could not complete the request")
}

/// The id of the registry account behind `Authorization: Bearer <API key>`, as
/// [`SubscriberAuth`](super::SubscriberAuth) answers (on the blocking pool: it reads the database).
async fn account_of(service: &Arc<MonitorService>, headers: &HeaderMap) -> Result<i64, ApiError> {
    let auth = service.auth.clone();
    let headers = headers.clone();
    tokio::task::spawn_blocking(move || auth.subscriber(&headers))
        .await
        .map_err(internal)?
}

/// The caller's account, for a route naming one of its subscriptions: an id no
/// subscription can have is answered like a missing one.
async fn owner_of_subscription(
    service: &Arc<MonitorService>,
    headers: &HeaderMap,
    id: &str,
) -> Result<i64, ApiError> {
    let account = account_of(service, headers).await?;
    if id.len() > 64 {
        return Err(ApiError::not_found("no such subscription"));
    }
    Ok(account)
}

/// Checks a webhook URL: http(s) with a host, bounded length, and a destination the
/// server may reach. Anything else would fail every delivery.
async fn check_webhook(url: &str, resolver: &Resolver) -> Result<(), ApiError> {
    if url.len() > MAX_WEBHOOK_LEN {
        return Err(ApiError::bad_request(format!(
            "webhook URL is longer than {MAX_WEBHOOK_LEN} bytes"
        )));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::bad_request(format!("webhook is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "webhook must be an http:// or https:// URL with a host",
        ));
    }
    resolver
        .check(&parsed)
        .await
        .map_err(|refused| match refused {
            webhook::Refused::NotPublic { .. } => ApiError::bad_request(format!(
                "{refused}; this server delivers webhooks to public addresses only \
                 ([monitor] allow_private_webhooks)"
            )),
            other => ApiError::bad_request(other.to_string()),
        })
}

async fn create_subscription(
    State(service): State<Arc<MonitorService>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let account = account_of(&service, &headers).await?;
    let request: SubscribeRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
    let rule: WatchRule = request
        .rule
        .parse()
        .map_err(|e: crate::rules::RuleError| ApiError::bad_request(e.to_string()))?;
    check_webhook(&request.webhook, &service.resolver).await?;
    let id = random::<16>()?;
    let secret = new_secret()?;
    let sub = Subscription {
        id: id.iter().map(|b| format!("{b:02x}")).collect(),
        account_id: account,
        // The canonical text: what the follower's matches carry.
        rule: rule.to_string(),
        webhook: request.webhook,
        secret: Some(secret.clone()),
        created_ms: service.clock.now_ms(),
    };
    let stored = sub.clone();
    let added = service
        .blocking(move |s| s.add_subscription(&stored, MAX_SUBSCRIPTIONS_PER_ACCOUNT))
        .await
        .map_err(internal)?;
    if !added {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "too_many_subscriptions",
            format!("an account may hold at most {MAX_SUBSCRIPTIONS_PER_ACCOUNT} subscriptions"),
        ));
    }
    let view = SubscriptionView {
        secret: Some(secret),
        ..SubscriptionView::from(sub)
    };
    Ok(json_response(StatusCode::CREATED, &view))
}

async fn list_subscriptions(
    State(service): State<Arc<MonitorService>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account_of(&service, &headers).await?;
    let subs = service
        .blocking(move |s| s.account_subscriptions(account))
        .await
        .map_err(internal)?;
    let views: Vec<SubscriptionView> = subs.into_iter().map(Into::into).collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "subscriptions": views }),
    ))
}

async fn delete_subscription(
    State(service): State<Arc<MonitorService>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = owner_of_subscription(&service, &headers, &id).await?;
    let deleted = service
        .blocking(move |s| s.delete_subscription(account, &id))
        .await
        .map_err(internal)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        // Another account's subscription is answered like a missing one, so ids
        // cannot be probed.
        Err(ApiError::not_found("no such subscription"))
    }
}

/// `N` bytes from the operating system's CSPRNG (through aws-lc).
fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| internal("no randomness"))?;
    Ok(bytes)
}

/// A fresh subscription secret from the system's entropy.
fn new_secret() -> Result<String, ApiError> {
    Ok(webhook::secret_from(&random::<32>()?))
}

/// A new signing secret for one of the caller's subscriptions (also the way to get
/// one for a subscription made before deliveries were signed). The old secret stops
/// at once for new deliveries; a delivery already being retried keeps the secret it
/// started with.
async fn rotate_subscription_secret(
    State(service): State<Arc<MonitorService>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = owner_of_subscription(&service, &headers, &id).await?;
    let secret = new_secret()?;
    let stored = secret.clone();
    let answer_id = id.clone();
    let changed = service
        .blocking(move |s| s.set_subscription_secret(account, &id, &stored))
        .await
        .map_err(internal)?;
    if !changed {
        return Err(ApiError::not_found("no such subscription"));
    }
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "id": answer_id, "secret": secret }),
    ))
}

async fn status(State(service): State<Arc<MonitorService>>) -> Response {
    // Alerts from the store: every process shows them, also after a restart.
    let open = match service.blocking(|s| s.open_alerts(MAX_ALERTS)).await {
        Ok(open) => open,
        Err(e) => return internal(e).into_response(),
    };
    let url_of = |key: &str| {
        service
            .logs
            .iter()
            .find(|l| l.key.is(key))
            .map_or_else(|| key.to_owned(), |l| l.target.url.clone())
    };
    let alerts: Vec<AlertView> = open
        .iter()
        .map(|a| AlertView {
            at_ms: a.at_ms,
            log: url_of(&a.log),
            kind: a.kind.clone(),
            detail: a.detail.clone(),
        })
        .collect();
    let body = {
        let board = lock(&service.status);
        let mut logs = board.logs.clone();
        for (log, status) in service.logs.iter().zip(logs.iter_mut()) {
            status.halted = open.iter().any(|a| log.key.is(&a.log));
        }
        serde_json::json!({
            "role": board.role,
            "logs": logs,
            "alerts": alerts,
            "deliveries": board.deliveries,
        })
    };
    json_response(StatusCode::OK, &body)
}
