//! RFC 9457 `application/problem+json` responses, and the one place errors become statuses.
//! [`ProblemKind`] lists every problem the API can answer, each with its status: `openapi.yaml`
//! says the same (`tests/tests/openapi.rs` holds the two together).

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

/// What every problem's `type` starts with; the kind's name follows (a tag URI, RFC 4151).
pub const TYPE_PREFIX: &str = "tag:taskgate,2026:problem:";

/// Every kind of problem the API answers, each with its one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    InvalidBody,
    InvalidTask,
    InvalidQuery,
    InvalidCursor,
    InvalidIfMatch,
    InvalidIdempotencyKey,
    InvalidSessionId,
    /// Lambda only: the event is not an API Gateway HTTP API request with valid headers.
    InvalidEvent,
    /// Lambda only: `Host` (with `X-Forwarded-Proto`) is not a host.
    InvalidHost,
    /// Lambda only: the path does not start with `/`.
    InvalidPath,
    Unauthorized,
    Forbidden,
    UserNotIsolable,
    NotFound,
    MethodNotAllowed,
    TaskQuotaExceeded,
    PreconditionFailed,
    BodyTooLarge,
    /// Lambda only: path and query over 16 KiB.
    UriTooLong,
    UnsupportedMediaType,
    IdempotencyConflict,
    Internal,
    Unavailable,
}

impl ProblemKind {
    /// Every kind, in the order of docs/api.md's table.
    pub const ALL: [ProblemKind; 23] = [
        Self::InvalidBody,
        Self::InvalidTask,
        Self::InvalidQuery,
        Self::InvalidCursor,
        Self::InvalidIfMatch,
        Self::InvalidIdempotencyKey,
        Self::InvalidSessionId,
        Self::InvalidEvent,
        Self::InvalidHost,
        Self::InvalidPath,
        Self::Unauthorized,
        Self::Forbidden,
        Self::UserNotIsolable,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::TaskQuotaExceeded,
        Self::PreconditionFailed,
        Self::BodyTooLarge,
        Self::UriTooLong,
        Self::UnsupportedMediaType,
        Self::IdempotencyConflict,
        Self::Internal,
        Self::Unavailable,
    ];

    /// The kind's name, the end of its `type` (e.g. `invalid-body`).
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidBody => "invalid-body",
            Self::InvalidTask => "invalid-task",
            Self::InvalidQuery => "invalid-query",
            Self::InvalidCursor => "invalid-cursor",
            Self::InvalidIfMatch => "invalid-if-match",
            Self::InvalidIdempotencyKey => "invalid-idempotency-key",
            Self::InvalidSessionId => "invalid-session-id",
            Self::InvalidEvent => "invalid-event",
            Self::InvalidHost => "invalid-host",
            Self::InvalidPath => "invalid-path",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::UserNotIsolable => "user-not-isolable",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::TaskQuotaExceeded => "task-quota-exceeded",
            Self::PreconditionFailed => "precondition-failed",
            Self::BodyTooLarge => "body-too-large",
            Self::UriTooLong => "uri-too-long",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::IdempotencyConflict => "idempotency-conflict",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    /// The status every problem of this kind has.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidBody
            | Self::InvalidTask
            | Self::InvalidQuery
            | Self::InvalidCursor
            | Self::InvalidIfMatch
            | Self::InvalidIdempotencyKey
            | Self::InvalidSessionId
            | Self::InvalidEvent
            | Self::InvalidHost
            | Self::InvalidPath => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::UserNotIsolable => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TaskQuotaExceeded => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The problem's `type`: `tag:taskgate,2026:problem:<name>`.
    pub fn type_uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.name())
    }
}

/// A problem detail: `{type, title, status, detail}`, with any headers the status needs.
#[derive(Debug)]
pub struct Problem {
    kind: ProblemKind,
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
    /// A problem of `kind`, with its status. A 503 always says when to retry (`Retry-After`).
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        let mut headers = Vec::new();
        if kind == ProblemKind::Unavailable {
            headers.push((RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS)));
        }
        Self {
            kind,
            detail: detail.into(),
            headers,
        }
    }

    /// Adds (or, for one already there, replaces) a header.
    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    /// 503 with `Retry-After`: the request did not finish within its deadline.
    pub fn deadline_exceeded() -> Self {
        Self::new(
            ProblemKind::Unavailable,
            "the request did not complete in time; retry shortly",
        )
    }

    /// 500: something on our side failed; the detail never says what (the log does).
    pub fn internal() -> Self {
        Self::new(ProblemKind::Internal, "the request could not be completed")
    }

    pub fn forbidden() -> Self {
        Self::new(
            ProblemKind::Forbidden,
            "the user in the path is not the user of the token",
        )
    }

    /// 405 with the `Allow` header listing `allow`.
    pub fn method_not_allowed(method: &Method, allow: &[Method]) -> Self {
        let allowed: Vec<&str> = allow.iter().map(Method::as_str).collect();
        let allowed = allowed.join(", ");
        let header = HeaderValue::from_str(&allowed).unwrap_or(HeaderValue::from_static(""));
        Self::new(
            ProblemKind::MethodNotAllowed,
            format!("{method} is not allowed here; allowed: {allowed}"),
        )
        .with_header(ALLOW, header)
    }

    /// The response: `application/problem+json`, never a stack trace or a store message.
    pub fn into_response(self) -> Response<Body> {
        let status = self.kind.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let body = ProblemBody {
            kind: self.kind.type_uri(),
            title,
            status: status.as_u16(),
            detail: &self.detail,
        };
        let json = serde_json::to_string(&body).unwrap_or_default();
        let mut response = Response::new(Body::Text(json));
        *response.status_mut() = status;
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
                    ProblemKind::Unavailable,
                    "the token cannot be verified right now; retry shortly",
                )
                .with_header(RETRY_AFTER, HeaderValue::from_static(KEYS_RETRY_AFTER_SECS));
            }
            _ => (INVALID_TOKEN, "invalid token"),
        };
        Self::new(ProblemKind::Unauthorized, detail)
            .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
    }
}

impl From<ValidationError> for Problem {
    fn from(error: ValidationError) -> Self {
        Self::new(ProblemKind::InvalidTask, error.to_string())
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::not_found("no such task"),
            StoreError::VersionMismatch => Self::new(
                ProblemKind::PreconditionFailed,
                "If-Match does not match the task's current ETag",
            ),
            StoreError::IdempotencyConflict => Self::new(
                ProblemKind::IdempotencyConflict,
                "this Idempotency-Key was already used with a different request body",
            ),
            StoreError::QuotaExceeded => Self::new(
                ProblemKind::TaskQuotaExceeded,
                "you have as many tasks as your quota allows; delete some to create more",
            ),
            StoreError::Unavailable => Self::new(
                ProblemKind::Unavailable,
                "the task store is busy or unavailable; retry shortly",
            ),
            StoreError::UserNotIsolable => Self::new(
                ProblemKind::UserNotIsolable,
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn each_kind_has_its_own_name_and_answers_with_its_status_and_type() {
        let names: HashSet<&str> = ProblemKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!(names.len(), ProblemKind::ALL.len());
        for kind in ProblemKind::ALL {
            let response = Problem::new(kind, "detail").into_response();
            assert_eq!(response.status(), kind.status(), "{kind:?}");
            let Body::Text(body) = response.body() else {
                panic!("{kind:?}: no text body");
            };
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["type"], kind.type_uri());
            assert_eq!(body["status"], kind.status().as_u16());
        }
    }

    #[test]
    fn every_503_says_when_to_retry() {
        let retry_after = |problem: Problem| problem.into_response().headers()[RETRY_AFTER].clone();
        assert_eq!(
            retry_after(Problem::new(ProblemKind::Unavailable, "x")),
            "1"
        );
        assert_eq!(retry_after(Problem::deadline_exceeded()), "1");
        assert_eq!(retry_after(StoreError::Unavailable.into()), "1");
        assert_eq!(retry_after(AuthError::KeysUnavailable.into()), "30");
    }
}
