//! HTTP conventions shared by every certcentral service.
//!
//! Every failure answers with `{"code": "...", "message": "..."}` — the shape sigstore
//! clients read (they show `message` to their users) — with a 4xx status for anything
//! the client sent wrong and 5xx only for the server's own trouble. Keeping the type
//! in one crate keeps the CT log, CA and registry answering alike.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `bad_request`.
    pub code: &'static str,
    /// Human-readable explanation, shown to users by clients.
    pub message: String,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 with `code`: a missing, malformed or unknown credential (the code names
    /// which credential: `invalid_token`, `invalid_api_key`).
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 500 `internal`: the server's own trouble. The message is shown to clients, so
    /// it must not carry secrets.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// A JSON answer with `status`; a value that does not serialize answers 500
/// `internal` instead.
pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_default();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Overload and unavailable dependencies are transient: tell clients when
            // to come back instead of letting them hammer.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The server stops reading an oversized body and closes the connection
            // after answering; saying so keeps clients from reusing a pooled
            // connection that is about to vanish under their next request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// A rejected query string as a 400.
pub fn query_error(e: QueryRejection) -> ApiError {
    ApiError::bad_request(format!("bad query parameters: {}", e.body_text()))
}

/// A rejected body (too large, unreadable) with its status: 413 becomes
/// `body_too_large`.
pub fn body_error(e: BytesRejection) -> ApiError {
    let status = e.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "body_too_large"
    } else {
        "bad_request"
    };
    ApiError::new(status, code, e.body_text())
}

/// 404 for unknown paths, as JSON (use as a router's `fallback`).
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// 405 for a known path with another method, as JSON.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_closes_the_connection_and_unavailable_says_when_to_retry() {
        let too_large =
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "big").into_response();
        assert_eq!(too_large.headers()[header::CONNECTION], "close");
        assert!(too_large.headers().get(header::RETRY_AFTER).is_none());

        let busy = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "later").into_response();
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        assert!(busy.headers().get(header::CONNECTION).is_none());

        let bad = ApiError::bad_request("no").into_response();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.headers().get(header::CONNECTION).is_none());
    }

    async fn body_of(response: Response) -> (StatusCode, String, Vec<u8>) {
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, content_type, body.to_vec())
    }

    #[tokio::test]
    async fn errors_and_answers_are_compact_json_with_their_status() {
        let (status, content_type, body) =
            body_of(ApiError::unauthorized("invalid_token", "no \"token\"").into_response()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(content_type, "application/json");
        assert_eq!(
            body,
            br#"{"code":"invalid_token","message":"no \"token\""}"#
        );

        let (status, _, body) = body_of(ApiError::internal("disk").into_response()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, br#"{"code":"internal","message":"disk"}"#);

        let (status, content_type, body) = body_of(json_response(
            StatusCode::CREATED,
            &serde_json::json!({"b": 1, "a": [true]}),
        ))
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(content_type, "application/json");
        assert_eq!(body, br#"{"a":[true],"b":1}"#);
    }
}
