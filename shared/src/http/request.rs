//! Reading requests: JSON bodies, `If-Match`, `Idempotency-Key` and list parameters, each with
//! a precise 4xx when it is wrong.

use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::header::{CONTENT_TYPE, HeaderName, IF_MATCH};
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use super::{Problem, ProblemKind};
use crate::tasks::{Cursor, ListQuery, PageLimit};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// The `Idempotency-Key` header's name, parsed once.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The list's query parameters: `status`, `limit` and `cursor`, as [`list_query`] reads them.
pub const LIST_PARAMETERS: [&str; 3] = [STATUS, LIMIT, CURSOR];
const STATUS: &str = "status";
const LIMIT: &str = "limit";
const CURSOR: &str = "cursor";

/// The body as JSON `T`: `Content-Type` must be JSON, the body at most 16 KiB of UTF-8.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(Problem::new(
            ProblemKind::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ));
    }
    let bytes: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ProblemKind::BodyTooLarge,
            format!(
                "the body is {} bytes; at most {MAX_BODY_BYTES} are accepted",
                bytes.len()
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(Problem::new(
            ProblemKind::InvalidBody,
            "the body is empty; send a JSON object",
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Problem::new(ProblemKind::InvalidBody, "the body is not valid UTF-8"))?;
    serde_json::from_str(text).map_err(|e| {
        Problem::new(
            ProblemKind::InvalidBody,
            format!("the body is not valid: {e}"),
        )
    })
}

/// `application/json` or any `+json` type, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/json")
        || media_type.split_once('/').is_some_and(|(kind, sub)| {
            kind.eq_ignore_ascii_case("application") && sub.to_ascii_lowercase().ends_with("+json")
        })
}

/// The version `If-Match` requires: `None` when absent or `*`; `"<version>"` otherwise.
/// A weak tag never matches (RFC 9110 strong comparison).
pub fn if_match(request: &Request) -> Result<Option<u64>, Problem> {
    let Some(value) = request.headers().get(IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or("").trim();
    if value == "*" {
        return Ok(None);
    }
    if value.starts_with("W/") {
        return Err(Problem::new(
            ProblemKind::PreconditionFailed,
            "a weak ETag never matches If-Match",
        ));
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::InvalidIfMatch,
                "If-Match must be one ETag as the API sent it (e.g. \"3\") or *",
            )
        })
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn idempotency_key(request: &Request) -> Result<Option<String>, Problem> {
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.as_bytes();
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_CHARS
        || !key.iter().all(|b| b.is_ascii_graphic())
    {
        return Err(Problem::new(
            ProblemKind::InvalidIdempotencyKey,
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
            ),
        ));
    }
    Ok(Some(String::from_utf8_lossy(key).into_owned()))
}

/// `?status=all|pending|completed&limit=1..100&cursor=...`.
pub fn list_query(request: &Request) -> Result<ListQuery, Problem> {
    let param = |name| query_param(request, name);
    let status = match param(STATUS) {
        None => Default::default(),
        Some(status) => status.parse().map_err(|_| {
            Problem::new(
                ProblemKind::InvalidQuery,
                "status must be all, pending or completed",
            )
        })?,
    };
    let limit = match param(LIMIT) {
        None => PageLimit::DEFAULT,
        Some(limit) => limit
            .parse::<usize>()
            .ok()
            .and_then(PageLimit::new)
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::InvalidQuery,
                    format!("limit must be a whole number from 1 to {}", PageLimit::MAX),
                )
            })?,
    };
    let after = match param(CURSOR) {
        None => None,
        Some(cursor) => Some(Cursor::decode(cursor).ok_or_else(|| {
            Problem::new(
                ProblemKind::InvalidCursor,
                "cursor is not one this API returned; start again without it",
            )
        })?),
    };
    Ok(ListQuery {
        status,
        limit,
        after,
    })
}

/// Whether the URL carries a token (`?access_token=`), which is refused (RFC 6750 5.3).
pub fn has_token_in_query(request: &Request) -> bool {
    query_param(request, "access_token").is_some()
}

/// The first value of the query parameter `name`, read in place (`query_string_parameters`
/// would build an empty map for a URL without a query).
fn query_param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.query_string_parameters_ref()?.first(name)
}

/// A request built from plain HTTP parts (local server, tests), with its query string parsed
/// the way `lambda_http` parses API Gateway's.
pub fn from_http(request: lambda_http::http::Request<Body>) -> Request {
    let query: QueryMap = request
        .uri()
        .query()
        .unwrap_or("")
        .parse()
        .unwrap_or_default();
    request.with_query_string_parameters(query)
}
