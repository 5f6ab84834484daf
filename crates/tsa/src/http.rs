//! The TSA over HTTP, as sigstore's timestamp-authority serves it:
//! `POST /api/v1/timestamp` takes a DER `TimeStampReq` (`application/timestamp-query`,
//! RFC 3161 §3.4) or the JSON request (`application/json`) and answers a DER
//! `TimeStampResp` (`application/timestamp-reply`); `GET /api/v1/timestamp/certchain`
//! serves the PEM chain, TSA certificate first.
//!
//! A request the TSA refuses is still answered with a `TimeStampResp`, status
//! rejection and the PKIFailureInfo bit, under HTTP 200 as RFC 3161 §3.4 has it; only
//! input that is no request at all (another media type, JSON that does not parse, a
//! body over [`MAX_BODY_BYTES`]) gets a 4xx `{code, message}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pki::tsp::{JsonTimeStampRequest, QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE, TimeStampResp};
use webapi::{ApiError, body_error};

use crate::TimeStampAuthority;

/// Largest request body: a TimeStampReq with a SHA-512 imprint is about 100 bytes;
/// 64 KiB leaves room for extensions without letting a client make the TSA buffer more.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Media type of the chain (what sigstore's timestamp-authority serves).
const CHAIN_MEDIA_TYPE: &str = "application/pem-certificate-chain";

/// The TSA's routes.
pub fn router(tsa: Arc<TimeStampAuthority>) -> Router {
    Router::new()
        .route(
            "/api/v1/timestamp",
            post(timestamp).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/v1/timestamp/certchain", get(certchain))
        .with_state(tsa)
}

/// How the body is to be read, from its Content-Type (parameters ignored).
enum RequestForm {
    Der,
    Json,
}

fn request_form(headers: &HeaderMap) -> Result<RequestForm, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some(QUERY_MEDIA_TYPE) => Ok(RequestForm::Der),
        Some("application/json") => Ok(RequestForm::Json),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {}: send {QUERY_MEDIA_TYPE} (a DER TimeStampReq) or application/json",
                other.unwrap_or("missing")
            ),
        )),
    }
}

async fn timestamp(
    State(tsa): State<Arc<TimeStampAuthority>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let form = request_form(&headers)?;
    let body = body.map_err(body_error)?;
    let der = match form {
        RequestForm::Der => tsa.respond_der(&body),
        RequestForm::Json => {
            let json: JsonTimeStampRequest = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("not a timestamp request: {e}")))?;
            let response = match json.to_request() {
                Ok(request) => tsa.respond(&request),
                Err(e) => TimeStampResp::rejection(e.failure_info(), &e.to_string()),
            };
            der::Encode::to_der(&response)
        }
    }
    .map_err(|e| ApiError::internal(format!("encoding the response: {e}")))?;
    Ok(([(header::CONTENT_TYPE, REPLY_MEDIA_TYPE)], der).into_response())
}

async fn certchain(State(tsa): State<Arc<TimeStampAuthority>>) -> Response {
    let pem: String = tsa.chain().iter().map(|der| ca::http::pem(der)).collect();
    ([(header::CONTENT_TYPE, CHAIN_MEDIA_TYPE)], pem).into_response()
}

#[cfg(test)]
mod tests;
