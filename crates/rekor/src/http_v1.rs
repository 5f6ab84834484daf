//! The HTTP surface of an artifact log, mounted at its base URL (`/rekor/{name}`):
//! Rekor's `/api/v1` for a v1 log (here), `/api/v2` submissions for a v2 log
//! (`http_v2`), and for every log the tlog-tiles read path (`checkpoint`, `tile/…`,
//! `tile/entries/…`).
//!
//! Every refusal is a 4xx `{code, message}`; storage trouble is a 5xx and never
//! leaves a partial write behind (the sequencer commits whole batches).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use merkle::tiles::{TILE_WIDTH, TilePath, parse_tile_path};
use pki::rekor::{
    InclusionProof, LogEntry, LogEntryAnswer, ProposedEntry, RekorError, Verification, entry_uuid,
};
use serde::{Deserialize, Serialize};
use store::StoredTreeHead;
use store::log_reads::ReadError;
use webapi::{ApiError, body_error, json_response, query_error};

use crate::{ApiVersion, ArtifactLog, MAX_BODY_BYTES, StoredEntry, SubmitError};

/// Largest request body: a proposed entry is bounded by `pki::rekor` at 1 MiB.
pub const MAX_REQUEST_BYTES: usize = pki::rekor::entry::MAX_PROPOSED_ENTRY_BYTES;

/// Most look-ups one `entries/retrieve` request may ask for, per kind (Rekor's bound).
pub const MAX_RETRIEVE: usize = 10;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT_LIVED: &str = "public, max-age=5";

/// What the handlers share: the log and the path it is mounted at (for `Location`).
struct Mounted {
    log: Arc<ArtifactLog>,
    base_path: String,
}

/// The routes of `log`, to be nested at `base_path` (e.g. `/rekor/dev-v1`).
pub fn router(log: Arc<ArtifactLog>, base_path: &str) -> Router {
    let api = log.api();
    let state = Arc::new(Mounted {
        log,
        base_path: base_path.trim_end_matches('/').to_owned(),
    });
    let tiles = Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile));
    let v2 = (api == ApiVersion::V2).then(|| crate::http_v2::routes(state.log.clone()));
    let routes = match api {
        ApiVersion::V1 => tiles
            .route(
                "/api/v1/log/entries",
                post(create_entry)
                    .get(entry_by_index)
                    .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
            )
            .route("/api/v1/log/entries/{uuid}", get(entry_by_uuid))
            .route(
                "/api/v1/log/entries/retrieve",
                post(retrieve).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
            )
            .route("/api/v1/log", get(log_info))
            .route("/api/v1/log/proof", get(consistency))
            .route("/api/v1/log/publicKey", get(public_key)),
        ApiVersion::V2 => tiles,
    };
    let router = routes.with_state(state);
    match v2 {
        Some(v2) => router.merge(v2),
        None => router,
    }
}

impl From<ReadError> for ErrorAnswer {
    fn from(e: ReadError) -> Self {
        tracing::error!(error = %e, "artifact log read failed");
        Self(ApiError::internal("the log could not read its storage"))
    }
}

/// An [`ApiError`] that read failures convert into.
pub(crate) struct ErrorAnswer(pub ApiError);

impl From<ApiError> for ErrorAnswer {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ErrorAnswer {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

/// How a refused entry is answered.
pub(crate) fn entry_error(e: RekorError) -> ApiError {
    match e {
        RekorError::TooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
        RekorError::Sign(_) => {
            tracing::error!(error = %e, "artifact log signing failed");
            ApiError::internal("the log could not sign")
        }
        _ => ApiError::bad_request(e.to_string()),
    }
}

pub(crate) fn submit_error(e: SubmitError) -> Response {
    match e {
        SubmitError::Invalid(e) => entry_error(e).into_response(),
        SubmitError::BodyTooLarge(_) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string()).into_response()
        }
        SubmitError::Overloaded | SubmitError::ShuttingDown | SubmitError::Storage => (
            [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
        )
            .into_response(),
    }
}

/// Parses, checks and canonicalises a v1 proposed entry.
fn admit_v1(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let entry = ProposedEntry::from_json(body).map_err(entry_error)?;
    // The canonical body is only written for an entry whose signatures verify: one
    // verification per entry, the largest cost of a submission.
    entry.canonical_body().map_err(entry_error)
}

async fn create_entry(
    State(mounted): State<Arc<Mounted>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return body_error(e).into_response(),
    };
    let canonical = match admit_v1(&body) {
        Ok(canonical) => canonical,
        Err(e) => return e.into_response(),
    };
    if canonical.len() > MAX_BODY_BYTES {
        return submit_error(SubmitError::BodyTooLarge(canonical.len()));
    }
    let uuid = entry_uuid(&canonical);
    let location = format!("{}/api/v1/log/entries/{uuid}", mounted.base_path);
    let integrated = match mounted.log.submit(canonical.clone()).await {
        Ok(integrated) => integrated,
        Err(e) => return submit_error(e),
    };
    let location_header = HeaderValue::from_str(&location).ok();
    if integrated.duplicate {
        // Rekor answers a resubmission with 409 and where the entry is.
        let mut response = ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("an equivalent entry already exists in the transparency log with UUID {uuid}"),
        )
        .into_response();
        if let Some(location) = location_header {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return response;
    }
    let stored = StoredEntry {
        body: canonical,
        integrated_ms: integrated.integrated_ms,
        set: integrated.set.clone(),
    };
    match v1_answer(&mounted.log, integrated.index, stored, &integrated.head) {
        Ok(answer) => {
            let mut response = json_response(StatusCode::CREATED, &answer);
            let headers = response.headers_mut();
            if let Some(location) = location_header {
                headers.insert(header::LOCATION, location);
            }
            if let Ok(etag) = HeaderValue::from_str(&uuid) {
                headers.insert(header::ETAG, etag);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// The v1 answer for one entry, with an inclusion proof against `head`.
fn v1_answer(
    log: &ArtifactLog,
    index: u64,
    stored: StoredEntry,
    head: &StoredTreeHead,
) -> Result<LogEntryAnswer, ErrorAnswer> {
    let hashes = log.inclusion_proof(index, head.tree_size)?;
    let uuid = entry_uuid(&stored.body);
    let entry = LogEntry {
        body: stored.body,
        integrated_time: stored.integrated_ms / 1000,
        log_id: log.log_id(),
        log_index: index,
        verification: Verification {
            inclusion_proof: InclusionProof {
                checkpoint: head.checkpoint.clone(),
                hashes,
                log_index: index,
                root_hash: head.root,
                tree_size: head.tree_size,
            },
            signed_entry_timestamp: stored.set,
        },
    };
    Ok(LogEntryAnswer::from([(uuid, entry)]))
}

/// The entry at `index` with a proof against the published checkpoint; `None` past
/// the published tree.
fn answer_at(log: &ArtifactLog, index: u64) -> Result<Option<LogEntryAnswer>, ErrorAnswer> {
    let head = log.tree_head();
    if index >= head.tree_size {
        return Ok(None);
    }
    let stored = log.entry_at(index)?;
    v1_answer(log, index, stored, &head).map(Some)
}

/// An entry UUID: 64 hex digits, or Rekor's 80-digit entry ID (a 16-digit tree ID
/// before the UUID).
fn parse_uuid(text: &str) -> Option<[u8; 32]> {
    let uuid = match text.len() {
        64 => text,
        80 => text.get(16..)?,
        _ => return None,
    };
    let mut out = [0u8; 32];
    hex::decode_to_slice(uuid, &mut out).ok()?;
    Some(out)
}

fn answer_for_uuid(
    log: &ArtifactLog,
    uuid: &[u8; 32],
) -> Result<Option<LogEntryAnswer>, ErrorAnswer> {
    match log.index_of(uuid)? {
        Some(index) => answer_at(log, index),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IndexQuery {
    log_index: u64,
}

async fn entry_by_index(
    State(mounted): State<Arc<Mounted>>,
    query: Result<Query<IndexQuery>, QueryRejection>,
) -> Result<Response, ErrorAnswer> {
    let Query(query) = query.map_err(query_error)?;
    let answer = answer_at(&mounted.log, query.log_index)?
        .ok_or_else(|| ApiError::not_found(format!("no entry at index {}", query.log_index)))?;
    Ok(json_response(StatusCode::OK, &answer))
}

async fn entry_by_uuid(
    State(mounted): State<Arc<Mounted>>,
    Path(uuid): Path<String>,
) -> Result<Response, ErrorAnswer> {
    let parsed = parse_uuid(&uuid).ok_or_else(|| {
        ApiError::bad_request("an entry UUID is 64 hex digits (or an 80-digit entry ID)")
    })?;
    let answer = answer_for_uuid(&mounted.log, &parsed)?
        .ok_or_else(|| ApiError::not_found(format!("no entry with UUID {uuid}")))?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `POST entries/retrieve`: look-ups by UUID, by index, or by the proposed entry itself
/// (canonicalised to find its UUID).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RetrieveRequest {
    #[serde(default, rename = "entryUUIDs")]
    entry_uuids: Vec<String>,
    #[serde(default)]
    log_indexes: Vec<u64>,
    #[serde(default)]
    entries: Vec<serde_json::Value>,
}

async fn retrieve(
    State(mounted): State<Arc<Mounted>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ErrorAnswer> {
    let body = body.map_err(body_error)?;
    let request: RetrieveRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed retrieve request: {e}")))?;
    for (what, count) in [
        ("entryUUIDs", request.entry_uuids.len()),
        ("logIndexes", request.log_indexes.len()),
        ("entries", request.entries.len()),
    ] {
        if count > MAX_RETRIEVE {
            return Err(ApiError::bad_request(format!(
                "{what} holds {count} items; at most {MAX_RETRIEVE} per request"
            ))
            .into());
        }
    }
    let log = &mounted.log;
    let mut found: Vec<LogEntryAnswer> = Vec::new();
    for text in &request.entry_uuids {
        let uuid = parse_uuid(text).ok_or_else(|| {
            ApiError::bad_request(format!("{text:?} is not an entry UUID (64 hex digits)"))
        })?;
        found.extend(answer_for_uuid(log, &uuid)?);
    }
    for &index in &request.log_indexes {
        found.extend(answer_at(log, index)?);
    }
    for entry in &request.entries {
        let json =
            serde_json::to_vec(entry).map_err(|e| ApiError::bad_request(format!("entry: {e}")))?;
        let canonical = admit_v1(&json)?;
        found.extend(answer_for_uuid(log, &merkle::leaf_hash(&canonical))?);
    }
    Ok(json_response(StatusCode::OK, &found))
}

/// `GET /api/v1/log`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogInfo {
    inactive_shards: [(); 0],
    root_hash: String,
    signed_tree_head: String,
    #[serde(rename = "treeID")]
    tree_id: String,
    tree_size: u64,
}

/// Rekor names a log shard by a positive 63-bit tree ID; ours derives from the key, so
/// it is stable for the log's life.
pub fn tree_id(log: &ArtifactLog) -> u64 {
    let id = log.log_id();
    u64::from_be_bytes([id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]]) >> 1
}

async fn log_info(State(mounted): State<Arc<Mounted>>) -> Response {
    let head = mounted.log.tree_head();
    json_response(
        StatusCode::OK,
        &LogInfo {
            inactive_shards: [],
            root_hash: hex::encode(head.root),
            signed_tree_head: head.checkpoint.clone(),
            tree_id: tree_id(&mounted.log).to_string(),
            tree_size: head.tree_size,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProofQuery {
    #[serde(default = "one")]
    first_size: u64,
    last_size: u64,
    #[serde(default, rename = "treeID")]
    tree_id: Option<String>,
}

fn one() -> u64 {
    1
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyAnswer {
    hashes: Vec<String>,
    root_hash: String,
}

async fn consistency(
    State(mounted): State<Arc<Mounted>>,
    query: Result<Query<ProofQuery>, QueryRejection>,
) -> Result<Response, ErrorAnswer> {
    let Query(query) = query.map_err(query_error)?;
    let log = &mounted.log;
    if let Some(id) = &query.tree_id
        && id != &tree_id(log).to_string()
    {
        return Err(ApiError::not_found(format!("this log has no tree {id}")).into());
    }
    let size = log.tree_head().tree_size;
    if query.first_size == 0 || query.first_size > query.last_size || query.last_size > size {
        return Err(ApiError::bad_request(format!(
            "need 1 <= firstSize <= lastSize <= {size} (the current tree size)"
        ))
        .into());
    }
    let hashes = log.consistency_proof(query.first_size, query.last_size)?;
    let root = log.root_at(query.last_size)?;
    Ok(json_response(
        StatusCode::OK,
        &ConsistencyAnswer {
            hashes: hashes.iter().map(hex::encode).collect(),
            root_hash: hex::encode(root),
        },
    ))
}

async fn public_key(State(mounted): State<Arc<Mounted>>) -> Result<Response, ErrorAnswer> {
    let pem = der::pem::encode_string(
        "PUBLIC KEY",
        der::pem::LineEnding::LF,
        mounted.log.public_key_der(),
    )
    .map_err(|e| ApiError::internal(format!("encoding the public key: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

async fn checkpoint(State(mounted): State<Arc<Mounted>>) -> Response {
    let head = mounted.log.tree_head();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        head.checkpoint.clone(),
    )
        .into_response()
}

async fn tile(
    State(mounted): State<Arc<Mounted>>,
    Path(path): Path<String>,
) -> Result<Response, ErrorAnswer> {
    let parsed = parse_tile_path(&format!("tile/{path}"))
        .map_err(|e| ApiError::not_found(format!("no such tile: {e}")))?;
    let (level, index, width, data) = match parsed {
        TilePath::Hashes(id) => (id.level, id.index, id.width, false),
        TilePath::Data { index, width } => (0, index, width, true),
    };
    let bytes = mounted
        .log
        .core
        .tile(level, index, width, data)?
        .ok_or_else(|| ApiError::not_found(format!("tile {path} is beyond the current tree")))?;
    let full = u64::from(width) == TILE_WIDTH;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CACHE_CONTROL,
                if full { IMMUTABLE } else { SHORT_LIVED },
            ),
        ],
        bytes,
    )
        .into_response())
}
