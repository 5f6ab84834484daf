//! Rekor v2 (rekor-tiles) submissions: `POST {base}/api/v2/log/entries` takes a
//! `CreateEntryRequest` (hashedrekord or dsse 0.0.2) and answers, once the entry is
//! durable, sigstore's `TransparencyLogEntry` with an inclusion proof against the
//! checkpoint of its batch. No SET and no integrated time: a v2 entry is integrated
//! before the answer, and its time comes from a timestamp authority. Reads are the
//! tlog-tiles routes every artifact log serves (`http_v1`).
//!
//! A resubmitted entry is answered with the entry already in the log, as rekor-tiles
//! does (its deduplication returns the existing index).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use pki::rekor::tle::{Checkpoint, InclusionProof, KindVersion, LogId, TransparencyLogEntry};
use pki::rekor::v2::{API_VERSION, CreateEntryRequest, MAX_REQUEST_BYTES};
use webapi::{body_error, json_response};

use crate::ArtifactLog;
use crate::http_v1::{entry_error, submit_error};

/// The v2 submission route (the read routes come with `http_v1::router`).
pub(crate) fn routes(log: Arc<ArtifactLog>) -> Router {
    Router::new()
        .route(
            "/api/v2/log/entries",
            post(create_entry).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .with_state(log)
}

async fn create_entry(
    State(log): State<Arc<ArtifactLog>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return body_error(e).into_response(),
    };
    // `canonical_body` verifies the signatures first: one verification per entry.
    let admitted = CreateEntryRequest::from_json(&body)
        .and_then(|request| Ok((request.kind(), request.canonical_body()?)));
    let (kind, canonical) = match admitted {
        Ok(admitted) => admitted,
        Err(e) => return entry_error(e).into_response(),
    };
    let integrated = match log.submit(canonical.clone()).await {
        Ok(integrated) => integrated,
        Err(e) => return submit_error(e),
    };
    let head = &integrated.head;
    let hashes = match log.inclusion_proof(integrated.index, head.tree_size) {
        Ok(hashes) => hashes,
        Err(e) => return crate::http_v1::ErrorAnswer::from(e).into_response(),
    };
    let entry = TransparencyLogEntry {
        log_index: integrated.index,
        log_id: LogId {
            key_id: log.log_id(),
        },
        kind_version: KindVersion {
            kind: kind.to_owned(),
            version: API_VERSION.to_owned(),
        },
        integrated_time: None,
        inclusion_promise: None,
        inclusion_proof: InclusionProof {
            log_index: integrated.index,
            root_hash: head.root,
            tree_size: head.tree_size,
            hashes,
            checkpoint: Checkpoint {
                envelope: head.checkpoint.clone(),
            },
        },
        canonicalized_body: canonical,
    };
    let status = if integrated.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    json_response(status, &entry)
}
