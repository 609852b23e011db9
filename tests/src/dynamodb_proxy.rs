//! A proxy in front of DynamoDB Local that records each call's action and answer, and can hold
//! the calls of chosen actions unanswered: a DynamoDB that turns slow in the middle of a request.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One call that was answered.
#[derive(Debug, Clone)]
pub struct Answered {
    /// `Query`, `GetItem`, ...
    pub action: String,
    /// The answer's JSON (e.g. its `ConsumedCapacity`).
    pub body: Value,
}

#[derive(Default)]
struct Recorded {
    answered: Vec<Answered>,
    /// Calls held so far.
    held: usize,
}

struct Shared {
    target: String,
    client: reqwest::Client,
    recorded: Mutex<Recorded>,
    /// Actions whose calls are held, never answered.
    held_actions: Mutex<HashSet<String>>,
    /// Wakes waiters when a call is held.
    held_signal: tokio::sync::Notify,
}

/// A running proxy.
pub struct DynamoDbProxy {
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl DynamoDbProxy {
    /// Listens on a port of its own (port 0, read back), forwarding to `target`.
    pub async fn start(target: String) -> Self {
        let shared = Arc::new(Shared {
            target,
            client: reqwest::Client::new(),
            recorded: Mutex::default(),
            held_actions: Mutex::default(),
            held_signal: tokio::sync::Notify::new(),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint, shared }
    }

    /// From now on, calls of `action` (e.g. `UpdateItem`) are held unanswered.
    pub fn hold(&self, action: &str) {
        self.shared
            .held_actions
            .lock()
            .unwrap()
            .insert(action.to_string());
    }

    /// Waits until at least `count` calls have been held.
    pub async fn until_held(&self, count: usize) {
        loop {
            let signal = self.shared.held_signal.notified();
            if self.shared.recorded.lock().unwrap().held >= count {
                return;
            }
            signal.await;
        }
    }

    /// The answered calls of `action`, oldest first.
    pub fn answered(&self, action: &str) -> Vec<Answered> {
        let recorded = self.shared.recorded.lock().unwrap();
        recorded
            .answered
            .iter()
            .filter(|call| call.action == action)
            .cloned()
            .collect()
    }

    /// Forgets the answered calls so far.
    pub fn clear(&self) {
        self.shared.recorded.lock().unwrap().answered.clear();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let action = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    if shared.held_actions.lock().unwrap().contains(&action) {
        shared.recorded.lock().unwrap().held += 1;
        shared.held_signal.notify_waiters();
        return std::future::pending().await;
    }
    let url = format!("{}{}", shared.target, parts.uri);
    let mut outgoing = shared.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    shared.recorded.lock().unwrap().answered.push(Answered {
        action,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
