//! Every error the API answers: a status, a stable code for programs and a
//! sentence for people, as `{"error": code, "message": sentence}`.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::error;

use crate::store::StoreError;

/// An error answer: status, a stable code for programs, a sentence for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(super) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.code, "message": self.message })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                error!(error = %e, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is unavailable; nothing was changed — try again shortly",
                )
            }
            StoreError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
            }
            other => {
                error!(error = %other, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the request failed and changed nothing; the server log has the details",
                )
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Error answers that did not come from a handler (405, 408, 413 from a body
/// limit) get the same JSON shape as the others.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take that method; see GET /openapi.json",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took longer than api.request_timeout and was abandoned",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is larger than the API accepts",
        ),
        _ => ("error", status.canonical_reason().unwrap_or("error")),
    };
    let mut fixed = ApiError::new(status, code, message).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        fixed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    fixed
}
