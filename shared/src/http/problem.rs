//! RFC 9457 `application/problem+json` responses, and the one place errors become statuses.

use lambda_http::http::header::{
    ALLOW, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::tasks::{StoreError, ValidationError};

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: &str = "1";

/// A problem detail: `{type, title, status, detail}`, with any headers the status needs.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

impl Problem {
    /// A problem of `status`; `kind` names its type (e.g. `invalid-body`).
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 503 with `Retry-After`: the request did not finish within its deadline.
    pub fn deadline_exceeded() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the request did not complete in time; retry shortly",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS))
    }

    /// 500: something on our side failed; the detail never says what (the log does).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the user in the path is not the user of the token",
        )
    }

    /// 405 with the `Allow` header listing `allow`.
    pub fn method_not_allowed(method: &Method, allow: &[Method]) -> Self {
        let allowed: Vec<&str> = allow.iter().map(Method::as_str).collect();
        let allowed = allowed.join(", ");
        let header = HeaderValue::from_str(&allowed).unwrap_or(HeaderValue::from_static(""));
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            format!("{method} is not allowed here; allowed: {allowed}"),
        )
        .with_header(ALLOW, header)
    }

    /// The response: `application/problem+json`, never a stack trace or a store message.
    pub fn into_response(self) -> Response<Body> {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = ProblemBody {
            kind: format!("tag:taskgate,2026:problem:{}", self.kind),
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
        };
        let json = serde_json::to_string(&body).unwrap_or_default();
        let mut response = Response::new(Body::Text(json));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        super::response::add_standard_headers(headers);
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

/// The challenge of a 401 for a token that was sent but is not accepted.
const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";

/// Seconds a client should wait when the verification keys cannot be fetched: one refresh
/// cooldown.
const KEYS_RETRY_AFTER_SECS: &str = "30";

impl From<AuthError> for Problem {
    /// 401 with `WWW-Authenticate` per RFC 6750: no `error` when no token was sent; 503 with
    /// `Retry-After` when the keys cannot be fetched. The detail never says which check failed
    /// (the log does, by [`AuthError::reason`]).
    fn from(error: AuthError) -> Self {
        let (challenge, detail) = match error {
            AuthError::MissingToken => ("Bearer", "missing token"),
            AuthError::TokenInQuery => (
                INVALID_TOKEN,
                "tokens in the URL are not accepted; send Authorization: Bearer <token>",
            ),
            AuthError::KeysUnavailable => {
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the token cannot be verified right now; retry shortly",
                )
                .with_header(RETRY_AFTER, HeaderValue::from_static(KEYS_RETRY_AFTER_SECS));
            }
            _ => (INVALID_TOKEN, "invalid token"),
        };
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
            .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
    }
}

impl From<ValidationError> for Problem {
    fn from(error: ValidationError) -> Self {
        Self::bad_request("invalid-task", error.to_string())
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::not_found("no such task"),
            StoreError::VersionMismatch => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "If-Match does not match the task's current ETag",
            ),
            StoreError::IdempotencyConflict => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-conflict",
                "this Idempotency-Key was already used with a different request body",
            ),
            StoreError::QuotaExceeded => Self::new(
                StatusCode::CONFLICT,
                "task-quota-exceeded",
                "you have as many tasks as your quota allows; delete some to create more",
            ),
            StoreError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the task store is busy or unavailable; retry shortly",
            )
            .with_header(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS)),
            StoreError::UserNotIsolable => Self::new(
                StatusCode::FORBIDDEN,
                "user-not-isolable",
                "this user id holds characters (or is longer than) an IAM session tag allows, so \
                 per-user data isolation cannot serve it",
            ),
            StoreError::Internal(message) => {
                tracing::error!(error = %message, "task store failure");
                Self::internal()
            }
        }
    }
}
