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
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use merkle::tiles::{TilePath, parse_tile_path};
use merkle::{TileId, consistency_proof, inclusion_proof};
use pki::chain::{MAX_CHAIN_LEN, SubmissionKind};
use pki::ct::SignedCertificateTimestamp;
use pki::tls::Codec;
use serde::{Deserialize, Serialize};
pub use webapi::ApiError;
use webapi::{body_error, query_error};

use crate::reads::{CachedHashes, ReadError};
use crate::{Log, MAX_GET_ENTRIES, SubmitError};

/// Largest request body accepted (a chain of 16 certificates of 64 KiB, in base64,
/// fits well below).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT_LIVED: &str = "public, max-age=60";

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        tracing::error!(error = %e, "read failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the log could not read its storage",
        )
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Chain(_) | SubmitError::Encoding(_) => StatusCode::BAD_REQUEST,
            SubmitError::Overloaded | SubmitError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::Storage => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let code = match &e {
            SubmitError::Chain(_) => "invalid_chain",
            SubmitError::Encoding(_) => "bad_request",
            SubmitError::Overloaded => "overloaded",
            SubmitError::ShuttingDown => "unavailable",
            SubmitError::Storage => "internal",
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

#[derive(Deserialize)]
struct AddChainRequest {
    chain: Vec<String>,
}

#[derive(Serialize)]
struct SctResponse {
    sct_version: u8,
    id: String,
    timestamp: u64,
    extensions: String,
    signature: String,
}

impl SctResponse {
    fn new(sct: &SignedCertificateTimestamp) -> Result<Self, SubmitError> {
        let signature = sct
            .signature
            .to_bytes()
            .map_err(|e| SubmitError::Encoding(e.to_string()))?;
        Ok(Self {
            sct_version: 0,
            id: BASE64.encode(sct.log_id),
            timestamp: sct.timestamp,
            extensions: BASE64.encode(&sct.extensions),
            signature: BASE64.encode(signature),
        })
    }
}

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Parses an `add-chain` / `add-pre-chain` body into DER certificates.
fn parse_chain(body: &[u8]) -> Api<Vec<Vec<u8>>> {
    let request: AddChainRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
    if request.chain.is_empty() {
        return Err(ApiError::bad_request("chain is empty"));
    }
    if request.chain.len() > MAX_CHAIN_LEN {
        return Err(ApiError::bad_request(format!(
            "chain has {} certificates, at most {MAX_CHAIN_LEN} are accepted",
            request.chain.len()
        )));
    }
    request
        .chain
        .iter()
        .enumerate()
        .map(|(i, b64)| {
            BASE64
                .decode(b64)
                .map_err(|e| ApiError::bad_request(format!("chain[{i}] is not valid base64: {e}")))
        })
        .collect()
}

async fn submit(
    log: &Log,
    body: Result<Bytes, BytesRejection>,
    kind: SubmissionKind,
) -> Api<Response> {
    let body = body.map_err(body_error)?;
    let chain = parse_chain(&body)?;
    let sct = log.submit(chain, kind).await?;
    Ok(json(&SctResponse::new(&sct)?))
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

#[derive(Deserialize)]
struct ConsistencyQuery {
    first: u64,
    second: u64,
}

fn b64_hashes(hashes: &[merkle::Hash]) -> Vec<String> {
    hashes.iter().map(|h| BASE64.encode(h)).collect()
}

async fn get_sth_consistency(
    State(log): State<Arc<Log>>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Api<Response> {
    let Query(q) = query.map_err(query_error)?;
    let size = log.core.published().head.tree_size;
    if q.first == 0 || q.first > q.second || q.second > size {
        return Err(ApiError::bad_request(format!(
            "need 0 < first <= second <= {size} (the current tree size); got first={} second={}",
            q.first, q.second
        )));
    }
    let mut source = CachedHashes {
        core: &log.core,
        size: q.second,
    };
    let proof = consistency_proof(q.first, q.second, &mut source).map_err(proof_error)?;
    #[derive(Serialize)]
    struct Body {
        consistency: Vec<String>,
    }
    Ok(json(&Body {
        consistency: b64_hashes(&proof),
    }))
}

fn proof_error(e: merkle::proof::GenerateError<ReadError>) -> ApiError {
    match e {
        merkle::proof::GenerateError::Invalid(e) => ApiError::bad_request(e.to_string()),
        merkle::proof::GenerateError::Source(e) => e.into(),
    }
}

#[derive(Deserialize)]
struct ProofByHashQuery {
    hash: String,
    tree_size: u64,
}

/// Query-string base64 whose `+` was turned into a space by form decoding.
fn decode_query_hash(value: &str) -> Api<[u8; 32]> {
    let fixed = value.replace(' ', "+");
    let bytes = BASE64
        .decode(fixed.as_bytes())
        .map_err(|e| ApiError::bad_request(format!("hash is not valid base64: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| ApiError::bad_request(format!("hash has {} bytes, not 32", b.len())))
}

async fn get_proof_by_hash(
    State(log): State<Arc<Log>>,
    query: Result<Query<ProofByHashQuery>, QueryRejection>,
) -> Api<Response> {
    let Query(q) = query.map_err(query_error)?;
    let leaf_hash = decode_query_hash(&q.hash)?;
    let size = log.core.published().head.tree_size;
    if q.tree_size == 0 || q.tree_size > size {
        return Err(ApiError::bad_request(format!(
            "tree_size must be between 1 and {size} (the current tree size); got {}",
            q.tree_size
        )));
    }
    let index = log
        .core
        .leaf_index(&leaf_hash)?
        .filter(|&index| index < q.tree_size)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no leaf with this hash in the tree of size {}",
                q.tree_size
            ))
        })?;
    let mut source = CachedHashes {
        core: &log.core,
        size: q.tree_size,
    };
    let proof = inclusion_proof(index, q.tree_size, &mut source).map_err(proof_error)?;
    #[derive(Serialize)]
    struct Body {
        leaf_index: u64,
        audit_path: Vec<String>,
    }
    Ok(json(&Body {
        leaf_index: index,
        audit_path: b64_hashes(&proof),
    }))
}

#[derive(Deserialize)]
struct EntriesQuery {
    start: u64,
    end: u64,
}

#[derive(Serialize)]
struct EntryJson {
    leaf_input: String,
    extra_data: String,
}

async fn get_entries(
    State(log): State<Arc<Log>>,
    query: Result<Query<EntriesQuery>, QueryRejection>,
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
    let entries = log.core.entries(q.start, end)?;
    #[derive(Serialize)]
    struct Body {
        entries: Vec<EntryJson>,
    }
    Ok(json(&Body {
        entries: entries
            .iter()
            .map(|e| EntryJson {
                leaf_input: BASE64.encode(&e.leaf_input),
                extra_data: BASE64.encode(&e.extra_data),
            })
            .collect(),
    }))
}

async fn get_roots(State(log): State<Arc<Log>>) -> Response {
    #[derive(Serialize)]
    struct Body {
        certificates: Vec<String>,
    }
    json(&Body {
        certificates: log
            .roots()
            .roots_der()
            .map(|der| BASE64.encode(der))
            .collect(),
    })
}

#[derive(Deserialize)]
struct EntryAndProofQuery {
    leaf_index: u64,
    tree_size: u64,
}

async fn get_entry_and_proof(
    State(log): State<Arc<Log>>,
    query: Result<Query<EntryAndProofQuery>, QueryRejection>,
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
        .entries(q.leaf_index, q.leaf_index)?
        .pop()
        .ok_or_else(|| ApiError::from(ReadError::Corrupt("entry missing".into())))?;
    let mut source = CachedHashes {
        core: &log.core,
        size: q.tree_size,
    };
    let proof = inclusion_proof(q.leaf_index, q.tree_size, &mut source).map_err(proof_error)?;
    #[derive(Serialize)]
    struct Body {
        leaf_input: String,
        extra_data: String,
        audit_path: Vec<String>,
    }
    Ok(json(&Body {
        leaf_input: BASE64.encode(&entry.leaf_input),
        extra_data: BASE64.encode(&entry.extra_data),
        audit_path: b64_hashes(&proof),
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
        TilePath::Hashes(_) => log.core.hash_tile_prefix(level, index, width)?,
        TilePath::Data { .. } => log.core.data_tile_prefix(index, width)?,
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
        .issuer(&fingerprint)?
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
