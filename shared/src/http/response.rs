//! JSON responses.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CONTENT_TYPE, ETAG, HeaderValue, LOCATION};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::tasks::Task;

/// `body` as `application/json` with `status`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_default();
    let mut response = Response::new(Body::Text(json));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A task with its `ETag`.
pub fn task(status: StatusCode, task: &Task) -> Response<Body> {
    let mut response = json(status, task);
    if let Ok(etag) = HeaderValue::from_str(&task.etag()) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// 201 for a new task, with its `Location` and `ETag`.
pub fn created(task: &Task) -> Response<Body> {
    let mut response = self::task(StatusCode::CREATED, task);
    let location = format!("/api/{}/tasks/{}", task.user_id, task.id);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// 204, no body.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
