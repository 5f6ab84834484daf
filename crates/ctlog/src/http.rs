//! HTTP routes of one log: the RFC 6962 §4 JSON API under `ct/v1/` and the
//! c2sp.org/static-ct-api read path (`checkpoint`, `tile/…`, `issuer/…`).
//!
//! Every failure answers with `{"code": "...", "message": "..."}`: 4xx for anything
//! the client sent wrong, 5xx only for the server's own trouble.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use merkle::tiles::{TilePath, parse_tile_path};
use merkle::{TileId, consistency_proof, inclusion_proof};
use pki::chain::SubmissionKind;
use pki::ct_api::{
    AddChainRequest, AddChainResponse, GetEntriesRequest, GetEntriesResponse,
    GetEntryAndProofRequest, GetEntryAndProofResponse, GetProofByHashRequest,
    GetProofByHashResponse, GetRootsResponse, GetSthConsistencyRequest, GetSthConsistencyResponse,
    LogEntry,
};
use serde::Serialize;
pub use webapi::ApiError;
use webapi::{body_error, json_response, query_error};

use crate::reads::ReadError;
use crate::{Log, MAX_GET_ENTRIES, SubmitError};

/// Largest request body accepted (a chain of 16 certificates of 64 KiB, in base64,
/// fits well below).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT_LIVED: &str = "public, max-age=60";

/// A storage read failure is the server's fault: logged, answered 500 without detail.
fn read_failed(e: ReadError) -> ApiError {
    tracing::error!(error = %e, "read failed");
    ApiError::internal("the log could not read its storage")
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Chain(_) | SubmitError::Encoding(_) => StatusCode::BAD_REQUEST,
            SubmitError::Overloaded | SubmitError::ShuttingDown | SubmitError::Storage => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let code = match &e {
            SubmitError::Chain(_) => "invalid_chain",
            SubmitError::Encoding(_) => "bad_request",
            SubmitError::Overloaded => "overloaded",
            SubmitError::ShuttingDown => "unavailable",
            SubmitError::Storage => "storage_unavailable",
        };
        Self::new(status, code, e.to_string())
    }
}

type Api<T> = Result<T, ApiError>;

/// The routes of one log, to be nested under `/logs/{name}`.
pub fn router(log: Arc<Log>) -> Router {
    Router::new()
        .route("/ct/v1/add-chain", post(add_chain))
        .route("/ct/v1/add-pre-chain", post(add_pre_chain))
        .route("/ct/v1/get-sth", get(get_sth))
        .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
        .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-roots", get(get_roots))
        .route("/ct/v1/get-entry-and-proof", get(get_entry_and_proof))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/issuer/{fingerprint}", get(issuer))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(log)
}

/// A 200 JSON answer.
fn json(value: &impl Serialize) -> Response {
    json_response(StatusCode::OK, value)
}

async fn submit(
    log: &Log,
    body: Result<Bytes, BytesRejection>,
    kind: SubmissionKind,
) -> Api<Response> {
    let body = body.map_err(body_error)?;
    let request =
        AddChainRequest::from_json(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let sct = log.submit(request.chain, kind).await?;
    Ok(json(&AddChainResponse::from_sct(&sct)))
}

async fn add_chain(
    State(log): State<Arc<Log>>,
    body: Result<Bytes, BytesRejection>,
) -> Api<Response> {
    submit(&log, body, SubmissionKind::Certificate).await
}

async fn add_pre_chain(
    State(log): State<Arc<Log>>,
    body: Result<Bytes, BytesRejection>,
) -> Api<Response> {
    submit(&log, body, SubmissionKind::Precertificate).await
}

async fn get_sth(State(log): State<Arc<Log>>) -> Response {
    let head = log.core.published();
    (
        [(header::CONTENT_TYPE, "application/json")],
        head.sth_json.clone(),
    )
        .into_response()
}

async fn get_sth_consistency(
    State(log): State<Arc<Log>>,
    query: Result<Query<GetSthConsistencyRequest>, QueryRejection>,
) -> Api<Response> {
    let Query(q) = query.map_err(query_error)?;
    let size = log.core.published().head.tree_size;
    if q.first == 0 || q.first > q.second || q.second > size {
        return Err(ApiError::bad_request(format!(
            "need 0 < first <= second <= {size} (the current tree size); got first={} second={}",
            q.first, q.second
        )));
    }
    let mut source = log.core.hashes(q.second);
    let proof = consistency_proof(q.first, q.second, &mut source).map_err(proof_error)?;
    Ok(json(&GetSthConsistencyResponse { consistency: proof }))
}

fn proof_error(e: merkle::proof::GenerateError<ReadError>) -> ApiError {
    match e {
        merkle::proof::GenerateError::Invalid(e) => ApiError::bad_request(e.to_string()),
        merkle::proof::GenerateError::Source(e) => read_failed(e),
    }
}

async fn get_proof_by_hash(
    State(log): State<Arc<Log>>,
    query: Result<Query<GetProofByHashRequest>, QueryRejection>,
) -> Api<Response> {
    let Query(q) = query.map_err(query_error)?;
    let leaf_hash = q
        .leaf_hash()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let size = log.core.published().head.tree_size;
    if q.tree_size == 0 || q.tree_size > size {
        return Err(ApiError::bad_request(format!(
            "tree_size must be between 1 and {size} (the current tree size); got {}",
            q.tree_size
        )));
    }
    let index = log
        .core
        .leaf_index(&leaf_hash)
        .map_err(read_failed)?
        .filter(|&index| index < q.tree_size)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no leaf with this hash in the tree of size {}",
                q.tree_size
            ))
        })?;
    let mut source = log.core.hashes(q.tree_size);
    let proof = inclusion_proof(index, q.tree_size, &mut source).map_err(proof_error)?;
    Ok(json(&GetProofByHashResponse {
        leaf_index: index,
        audit_path: proof,
    }))
}

async fn get_entries(
    State(log): State<Arc<Log>>,
    query: Result<Query<GetEntriesRequest>, QueryRejection>,
) -> Api<Response> {
    let Query(q) = query.map_err(query_error)?;
    let size = log.core.published().head.tree_size;
    if q.start > q.end || q.start >= size {
        return Err(ApiError::bad_request(format!(
            "need start <= end and start < {size} (the current tree size); got start={} end={}",
            q.start, q.end
        )));
    }
    let end = q
        .end
        .min(size - 1)
        .min(q.start.saturating_add(MAX_GET_ENTRIES - 1));
    let entries = log.core.entries(q.start, end).map_err(read_failed)?;
    Ok(json(&GetEntriesResponse {
        entries: entries
            .into_iter()
            .map(|e| LogEntry {
                leaf_input: e.leaf_input,
                extra_data: e.extra_data,
            })
            .collect(),
    }))
}

async fn get_roots(State(log): State<Arc<Log>>) -> Response {
    json(&GetRootsResponse {
        certificates: log.roots().roots_der().map(<[u8]>::to_vec).collect(),
    })
}

async fn get_entry_and_proof(
    State(log): State<Arc<Log>>,
    query: Result<Query<GetEntryAndProofRequest>, QueryRejection>,
) -> Api<Response> {
    let Query(q) = query.map_err(query_error)?;
    let size = log.core.published().head.tree_size;
    if q.leaf_index >= q.tree_size || q.tree_size > size {
        return Err(ApiError::bad_request(format!(
            "need leaf_index < tree_size <= {size} (the current tree size); got leaf_index={} tree_size={}",
            q.leaf_index, q.tree_size
        )));
    }
    let entry = log
        .core
        .entries(q.leaf_index, q.leaf_index)
        .map_err(read_failed)?
        .pop()
        .ok_or_else(|| read_failed(ReadError::Corrupt("entry missing".into())))?;
    let mut source = log.core.hashes(q.tree_size);
    let proof = inclusion_proof(q.leaf_index, q.tree_size, &mut source).map_err(proof_error)?;
    Ok(json(&GetEntryAndProofResponse {
        leaf_input: entry.leaf_input,
        extra_data: entry.extra_data,
        audit_path: proof,
    }))
}

async fn checkpoint(State(log): State<Arc<Log>>) -> Response {
    let head = log.core.published();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        head.head.checkpoint.clone(),
    )
        .into_response()
}

fn tile_response(bytes: Vec<u8>, full: bool) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CACHE_CONTROL,
                if full { IMMUTABLE } else { SHORT_LIVED },
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn tile(State(log): State<Arc<Log>>, Path(path): Path<String>) -> Api<Response> {
    let parsed = parse_tile_path(&format!("tile/{path}"))
        .map_err(|e| ApiError::not_found(format!("no such tile: {e}")))?;
    let size = log.core.published().head.tree_size;
    // The tile as the published tree has it; a request wider than that is not there yet.
    let (level, index, width) = match parsed {
        TilePath::Hashes(id) => (id.level, id.index, id.width),
        TilePath::Data { index, width } => (0, index, width),
    };
    let available = TileId::in_tree(level, index, size)
        .map(|t| t.width)
        .unwrap_or(0);
    if width > available {
        return Err(ApiError::not_found(format!(
            "tile {path} is beyond the current tree of size {size}"
        )));
    }
    let full = u64::from(width) == merkle::tiles::TILE_WIDTH;
    let bytes = match parsed {
        TilePath::Hashes(_) => log
            .core
            .hash_tile_prefix(level, index, width)
            .map_err(read_failed)?,
        TilePath::Data { .. } => log
            .core
            .data_tile_prefix(index, width)
            .map_err(read_failed)?,
    };
    Ok(tile_response(bytes, full))
}

async fn issuer(State(log): State<Arc<Log>>, Path(fingerprint): Path<String>) -> Api<Response> {
    let bad =
        || ApiError::not_found("issuer paths are issuer/<64 lowercase hex digits of SHA-256>");
    if fingerprint.len() != 64 || fingerprint.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let fingerprint: [u8; 32] = hex::decode(&fingerprint)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let der = log
        .core
        .issuer(&fingerprint)
        .map_err(read_failed)?
        .ok_or_else(|| ApiError::not_found("no issuer with this fingerprint"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-cert"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        der,
    )
        .into_response())
}
