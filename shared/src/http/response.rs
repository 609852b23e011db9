//! JSON responses, and the headers every response carries.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, LOCATION, X_CONTENT_TYPE_OPTIONS,
};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::Problem;
use crate::tasks::{Page, Task};

/// The headers every response carries, success or problem: private data is never kept by a
/// shared cache (`Cache-Control: no-store`), nor sniffed as another type (`nosniff`).
pub fn add_standard_headers(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// `body` as `application/json` with `status`.
fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let json = match serde_json::to_string(body) {
        Ok(json) => json,
        Err(error) => {
            tracing::error!(error = %error, "a response body did not serialise");
            return Problem::internal().into_response();
        }
    };
    let mut response = Response::new(Body::Text(json));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    add_standard_headers(headers);
    response
}

/// A task with its `ETag`.
pub fn task(status: StatusCode, task: &Task) -> Response<Body> {
    let mut response = json(status, task);
    if let Ok(etag) = HeaderValue::try_from(task.etag()) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// 200 with a page of tasks.
pub fn page(page: &Page) -> Response<Body> {
    json(StatusCode::OK, page)
}

/// 201 for a new task, with its `ETag` and its `Location` under `base` (a named stage's
/// prefix, e.g. `/prod`, or empty).
pub fn created(task: &Task, base: &str) -> Response<Body> {
    let mut response = self::task(StatusCode::CREATED, task);
    let location = format!("{base}/api/{}/tasks/{}", task.user_id, task.id);
    if let Ok(location) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// 204, no body.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    add_standard_headers(response.headers_mut());
    response
}
