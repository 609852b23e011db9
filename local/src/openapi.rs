//! The API's contract, `openapi.yaml` at the repository's root, built into the binary and
//! served as JSON at `GET /openapi.json` (no token needed: it holds nothing private).

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// The document as it is in the repository.
const YAML: &str = include_str!("../../openapi.yaml");

/// The document as JSON text, converted once at start.
pub fn json() -> Result<Bytes, String> {
    let document: serde_json::Value =
        serde_norway::from_str(YAML).map_err(|e| format!("openapi.yaml is not YAML: {e}"))?;
    serde_json::to_vec(&document)
        .map(Bytes::from)
        .map_err(|e| format!("openapi.yaml is not JSON-shaped: {e}"))
}

/// The answer to `GET /openapi.json`.
pub fn response(json: Bytes) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, content_type)], json).into_response()
}
