//! The registry's HTTP routes (Cert Central protocol):
//!
//! - `POST /api/v1/accounts` (OIDC bearer token) `{"username"}` → 201 `{"username","api_key"}`
//! - `POST /api/v1/api-keys/rotate` (API key, or OIDC token if the key is lost)
//! - `POST /api/v1/challenges` (API key) → 201 `{"challenge_id","nonce","expires_at"}`
//! - `POST /api/v1/certs` (API key) `{"challenge_id","cms"}` → 201 with the log proof
//! - `DELETE /api/v1/certs/{thumbprint}` (API key) → the revoke leaf's proof
//! - `GET /api/cert/getusercert?username=U&thumbprint=T` → PEM
//! - `GET /api/v1/users/{username}/certs`, `GET /api/v1/search?q=`, `GET /api/v1/keys/{storage_key}`
//! - `/registry/log/checkpoint`, `/registry/log/tile/…`, `/registry/log/proof`,
//!   `/registry/log/consistency`, `/registry/log/key`
//!
//! OIDC tokens (registration, rotation of a lost key) must carry the registry's own
//! audience, be at most a few minutes old and are accepted once: see
//! [`TokenRules`](crate::service::TokenRules).
//!
//! Token verification runs on the async runtime (a key fetch holds no thread while
//! it waits); every other operation runs on the blocking pool: pushes verify
//! signatures and every write waits for an fsync.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use clock::format_time_ms;
use merkle::tiles::{TilePath, parse_tile_path};
use pki::registry_api::{
    ApiKeyResponse, CertView, ChallengeResponse, ConsistencyProofResponse, InclusionProofResponse,
    PushRequest, RegisterRequest, SearchResponse, UserCertsResponse, normalize_thumbprint,
};
use serde::Deserialize;
use store::registry::{CertRecord, Page};
use webapi::{ApiError, body_error, json_response, query_error};

use crate::cert::pem;
use crate::service::{LoggedChange, MAX_PAGE, Registry, RegistryError, RotateWith};

/// Largest request body (the protocol's limit): a CMS with a certificate chain fits
/// many times over.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Header marking a revoked certificate on the PEM download.
pub const REVOKED_HEADER: &str = "x-certcentral-revoked";

/// The routes, to be merged at the server root.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/api/v1/accounts", post(register))
        .route("/api/v1/api-keys/rotate", post(rotate))
        .route("/api/v1/challenges", post(challenge))
        .route("/api/v1/certs", post(push))
        .route("/api/v1/certs/{thumbprint}", delete(revoke))
        .route("/api/cert/getusercert", get(getusercert))
        .route("/api/v1/users/{username}/certs", get(user_certs))
        .route("/api/v1/search", get(search))
        .route("/api/v1/keys/{storage_key}", get(by_storage_key))
        .route("/registry/log/checkpoint", get(checkpoint))
        .route("/registry/log/key", get(verifier_key))
        .route("/registry/log/proof", get(proof))
        .route("/registry/log/consistency", get(consistency))
        .route("/registry/log/tile/{*path}", get(tile))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(registry)
}

/// What a client is told of an internal error: the detail (storage errors name
/// tables, paths and database hosts) goes to the server's log only.
pub const INTERNAL_MESSAGE: &str =
    "the registry could not complete the request; the server log has the details";

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let (status, code) = e.status();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %e, "registry request failed");
        }
        let message = match e {
            RegistryError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
            other => other.to_string(),
        };
        ApiError::new(status, code, message)
    }
}

/// Runs a registry operation on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::from(RegistryError::Internal(e.to_string())))?
        .map_err(ApiError::from)
}

/// The credential of `Authorization: Bearer …` (or `X-Api-Key`). Public so other
/// services authenticating registry accounts (the monitor's subscriptions) read it
/// the same way.
pub fn credential(headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(value) = headers.get("x-api-key") {
        return value
            .to_str()
            .map(|v| v.trim().to_owned())
            .map_err(|_| ApiError::bad_request("X-Api-Key header is not ASCII"));
    }
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::from(RegistryError::MissingApiKey))?
        .to_str()
        .map_err(|_| ApiError::bad_request("Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::unauthorized(
            "invalid_api_key",
            "Authorization header must be `Bearer <credential>`",
        )),
    }
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))
}

/// The public view of a stored certificate.
fn cert_view(c: &CertRecord) -> CertView {
    CertView {
        checkpoint: None,
        download_url: format!(
            "/api/cert/getusercert?username={}&thumbprint={}",
            c.username, c.thumbprint
        ),
        inclusion_proof: None,
        log_index: c.log_index,
        not_after: format_time_ms(c.not_after_ms),
        not_before: format_time_ms(c.not_before_ms),
        pem: None,
        pushed_at: format_time_ms(c.pushed_ms),
        revoke_log_index: c.revoke_log_index,
        revoked: c.revoked,
        sha256: c.sha256.clone(),
        storage_key: c.storage_key.clone(),
        subject: c.subject.clone(),
        thumbprint: c.thumbprint.clone(),
        username: c.username.clone(),
    }
}

/// A certificate view plus the log leaf this request appended: `log_index` is that
/// leaf (the push leaf for a push, the revoke leaf for a revocation), and
/// `inclusion_proof` proves it against `checkpoint`.
fn logged_view(change: LoggedChange) -> CertView {
    CertView {
        log_index: change.log_index,
        inclusion_proof: Some(change.inclusion_proof),
        checkpoint: Some(change.checkpoint),
        ..cert_view(&change.cert)
    }
}

async fn register(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let token = credential(&headers).map_err(|_| {
        ApiError::unauthorized(
            "invalid_token",
            "send the OIDC identity token as `Authorization: Bearer <token>`",
        )
    })?;
    let request: RegisterRequest = parse_json(&body)?;
    let identity = registry.verify_token(&token).await?;
    let issued = blocking(move || registry.register(identity, &request.username)).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &ApiKeyResponse {
            api_key: issued.api_key,
            username: issued.username,
        },
    ))
}

async fn rotate(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credential = credential(&headers)?;
    let by = if RotateWith::is_api_key(&credential) {
        RotateWith::ApiKey(credential)
    } else {
        RotateWith::Identity(registry.verify_token(&credential).await?)
    };
    let issued = blocking(move || registry.rotate_key(&by)).await?;
    Ok(json_response(
        StatusCode::OK,
        &ApiKeyResponse {
            api_key: issued.api_key,
            username: issued.username,
        },
    ))
}

async fn challenge(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = credential(&headers)?;
    let issued = blocking(move || {
        let account = registry.authenticate(&key)?;
        registry.challenge(&account)
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &ChallengeResponse {
            challenge_id: issued.challenge_id,
            expires_at: format_time_ms(issued.expires_ms),
            nonce: issued.nonce,
        },
    ))
}

async fn push(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let key = credential(&headers)?;
    let request: PushRequest = parse_json(&body)?;
    let cms = request
        .cms_der()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let change = blocking(move || {
        let account = registry.authenticate(&key)?;
        registry.push(&account, &request.challenge_id, &cms)
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &logged_view(change)))
}

async fn revoke(
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
    Path(thumbprint): Path<String>,
) -> Result<Response, ApiError> {
    let key = credential(&headers)?;
    let change = blocking(move || {
        let account = registry.authenticate(&key)?;
        registry.revoke(&account, &thumbprint)
    })
    .await?;
    Ok(json_response(StatusCode::OK, &logged_view(change)))
}

#[derive(Deserialize)]
struct UserCertQuery {
    username: String,
    thumbprint: String,
}

async fn getusercert(
    State(registry): State<Arc<Registry>>,
    query: Result<Query<UserCertQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    if normalize_thumbprint(&q.thumbprint).is_none() {
        return Err(ApiError::bad_request(
            "thumbprint must be the 40 hex digits of the certificate's SHA-1",
        ));
    }
    let download = match registry.cached_download(&q.username, &q.thumbprint) {
        Some(hit) => hit,
        None => blocking(move || registry.download(&q.username, &q.thumbprint)).await?,
    };
    let mut response = (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        download.pem.clone(),
    )
        .into_response();
    response.headers_mut().insert(
        REVOKED_HEADER,
        HeaderValue::from_static(if download.revoked { "true" } else { "false" }),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    page: Option<u64>,
    #[serde(default)]
    per_page: Option<u32>,
}

impl PageQuery {
    /// `page` is 1-based; `per_page` defaults to 50 and is capped at [`MAX_PAGE`].
    fn page(&self) -> Result<Page, ApiError> {
        let limit = self.per_page.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::bad_request(format!(
                "per_page must be 1 to {MAX_PAGE}"
            )));
        }
        let page = self.page.unwrap_or(1);
        if page == 0 || page > 1_000_000 {
            return Err(ApiError::bad_request("page must be 1 to 1000000"));
        }
        Ok(Page {
            offset: (page - 1) * u64::from(limit),
            limit,
        })
    }
}

async fn user_certs(
    State(registry): State<Arc<Registry>>,
    Path(username): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let page = q.page()?;
    let name = username.clone();
    let certs = blocking(move || registry.user_certs(&name, page)).await?;
    Ok(json_response(
        StatusCode::OK,
        &UserCertsResponse {
            certs: certs.iter().map(cert_view).collect(),
            username,
        },
    ))
}

async fn search(
    State(registry): State<Arc<Registry>>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let page = q.page()?;
    let text =
        q.q.clone()
            .ok_or_else(|| ApiError::bad_request("missing query parameter q"))?;
    let query = text.clone();
    let certs = blocking(move || registry.search(&query, page)).await?;
    Ok(json_response(
        StatusCode::OK,
        &SearchResponse {
            page: q.page.unwrap_or(1),
            per_page: page.limit,
            q: text,
            results: certs.iter().map(cert_view).collect(),
        },
    ))
}

async fn by_storage_key(
    State(registry): State<Arc<Registry>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let cert = blocking(move || registry.by_storage_key(&key)).await?;
    let view = CertView {
        pem: Some(pem(&cert.der)),
        ..cert_view(&cert)
    };
    Ok(json_response(StatusCode::OK, &view))
}

async fn checkpoint(State(registry): State<Arc<Registry>>) -> Result<Response, ApiError> {
    let checkpoint = blocking(move || registry.checkpoint()).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        checkpoint.note,
    )
        .into_response())
}

async fn verifier_key(State(registry): State<Arc<Registry>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", registry.verifier_key()),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ProofQuery {
    index: u64,
    size: u64,
}

async fn proof(
    State(registry): State<Arc<Registry>>,
    query: Result<Query<ProofQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let (root, proof) = blocking(move || registry.inclusion(q.index, q.size)).await?;
    Ok(json_response(
        StatusCode::OK,
        &InclusionProofResponse {
            inclusion_proof: proof,
            index: q.index,
            root,
            size: q.size,
        },
    ))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: u64,
    size: u64,
}

async fn consistency(
    State(registry): State<Arc<Registry>>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let proof = blocking(move || registry.consistency(q.old, q.size)).await?;
    Ok(json_response(
        StatusCode::OK,
        &ConsistencyProofResponse {
            old: q.old,
            proof,
            size: q.size,
        },
    ))
}

async fn tile(
    State(registry): State<Arc<Registry>>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let parsed =
        parse_tile_path(&format!("tile/{path}")).map_err(|e| ApiError::not_found(e.to_string()))?;
    let bytes = match parsed {
        TilePath::Hashes(id) => {
            blocking(move || registry.hash_tile(id.level, id.index, id.width)).await?
        }
        TilePath::Data { index, width } => {
            if !path.starts_with("entries/") {
                return Err(ApiError::not_found(
                    "registry entry bundles are at tile/entries/",
                ));
            }
            blocking(move || registry.entry_bundle(index, width)).await?
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Storage errors name tables, file paths and database hosts: the log gets them,
    /// the client a fixed sentence. Client errors keep their explanation.
    #[test]
    fn internal_errors_keep_their_detail_out_of_the_answer() {
        let detail = "db error: relation \"registry_accounts\" on db.internal:5432";
        for internal in [
            RegistryError::Internal(detail.into()),
            RegistryError::from(store::StoreError::Corrupt(format!(
                "/var/lib/certcentral/registry.db: {detail}"
            ))),
        ] {
            let answer = ApiError::from(internal);
            assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(answer.code, "internal");
            assert_eq!(answer.message, INTERNAL_MESSAGE);
        }
        let client_error = ApiError::from(RegistryError::UsernameTaken("alice".into()));
        assert_eq!(client_error.status, StatusCode::CONFLICT);
        assert!(client_error.message.contains("alice"), "{client_error:?}");
    }
}
