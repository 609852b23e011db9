//! One endpoint for every AWS call a test app makes, in front of the real stand-ins: DynamoDB
//! calls (`X-Amz-Target: DynamoDB_...`) go to DynamoDB Local, all others (STS, Secrets Manager)
//! to moto. It records each answered call (service, action, signing access key, request and
//! answer), so tests can see which credentials touched the data, how often STS was asked and
//! what a call consumed; it can hold the calls of chosen actions unanswered (a DynamoDB that
//! turns slow in the middle of a request), or answer them itself with an error (an STS or a
//! DynamoDB that throttles).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One call that was answered.
#[derive(Debug, Clone)]
pub struct Call {
    /// `dynamodb` or `moto`.
    pub service: &'static str,
    /// `GetItem`, `AssumeRole`, ...
    pub action: String,
    /// The access key id the request was signed with.
    pub access_key: String,
    /// The request body as text (STS's form parameters).
    pub body: String,
    /// The answer's JSON (e.g. DynamoDB's `ConsumedCapacity`), `Null` if it is not JSON.
    pub answer: Value,
    /// The client's end of the connection the call came on.
    pub peer: SocketAddr,
    /// Whether the front door answered it with a [`Refusal`] instead of forwarding it.
    pub refused: bool,
}

/// An error answer the front door gives instead of forwarding a call.
#[derive(Debug, Clone)]
pub struct Refusal {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

impl Refusal {
    /// STS's error answer (query protocol, XML) with `code`: what STS sends when it throttles
    /// is `Throttling`, "Rate exceeded", status 400.
    pub fn sts(code: &str, message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            content_type: "text/xml",
            body: format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                 <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            ),
        }
    }

    /// DynamoDB's error answer (JSON protocol) with `code`, e.g. `ThrottlingException`.
    pub fn dynamodb(code: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            content_type: "application/x-amz-json-1.0",
            body: serde_json::json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                "message": "Rate of requests exceeds the allowed throughput.",
            })
            .to_string(),
        }
    }
}

#[derive(Default)]
struct Recorded {
    calls: Vec<Call>,
    /// Calls held so far.
    held: usize,
}

struct Shared {
    dynamodb: String,
    moto: Option<String>,
    client: reqwest::Client,
    recorded: Mutex<Recorded>,
    /// Actions whose calls are held, never answered.
    held_actions: Mutex<HashSet<String>>,
    /// Actions whose calls are refused, with how many more times (`None`: until told to stop).
    refused_actions: Mutex<HashMap<String, (Refusal, Option<usize>)>>,
    /// Wakes waiters when a call is held.
    held_signal: tokio::sync::Notify,
}

/// A running front door.
pub struct AwsFrontDoor {
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl AwsFrontDoor {
    /// Listens on a port of its own (port 0, read back), forwarding DynamoDB calls to `dynamodb`
    /// and the others to `moto` (without moto, they are answered 502).
    pub async fn start(dynamodb: String, moto: Option<String>) -> Self {
        let shared = Arc::new(Shared {
            dynamodb,
            moto,
            client: reqwest::Client::new(),
            recorded: Mutex::default(),
            held_actions: Mutex::default(),
            refused_actions: Mutex::default(),
            held_signal: tokio::sync::Notify::new(),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint, shared }
    }

    /// Every call answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.recorded.lock().unwrap().calls.clone()
    }

    /// The answered calls of one action (e.g. `AssumeRole`), oldest first.
    pub fn calls_of(&self, action: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.action == action)
            .collect()
    }

    /// The DynamoDB calls other than the cold-start `DescribeTable`.
    pub fn data_calls(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.service == "dynamodb" && call.action != "DescribeTable")
            .collect()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        self.shared.recorded.lock().unwrap().calls.clear();
    }

    /// From now on, calls of `action` (e.g. `UpdateItem`) are held unanswered.
    pub fn hold(&self, action: &str) {
        self.shared
            .held_actions
            .lock()
            .unwrap()
            .insert(action.to_string());
    }

    /// From now on, calls of `action` (e.g. `AssumeRole`) are answered with `refusal`, until
    /// [`AwsFrontDoor::stop_refusing`].
    pub fn refuse(&self, action: &str, refusal: Refusal) {
        let mut refused = self.shared.refused_actions.lock().unwrap();
        refused.insert(action.to_string(), (refusal, None));
    }

    /// The next `times` calls of `action` are answered with `refusal`, later ones forwarded.
    pub fn refuse_times(&self, action: &str, refusal: Refusal, times: usize) {
        let mut refused = self.shared.refused_actions.lock().unwrap();
        refused.insert(action.to_string(), (refusal, Some(times)));
    }

    /// Calls of `action` are forwarded again.
    pub fn stop_refusing(&self, action: &str) {
        self.shared.refused_actions.lock().unwrap().remove(action);
    }

    /// How many calls have been held so far.
    pub fn held(&self) -> usize {
        self.shared.recorded.lock().unwrap().held
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
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let (service, base, action) = match target {
        Some(target) if target.starts_with("DynamoDB_") => (
            "dynamodb",
            Some(&shared.dynamodb),
            target.rsplit('.').next().unwrap_or_default().to_string(),
        ),
        _ => ("moto", shared.moto.as_ref(), form_action(&body, target)),
    };
    if shared.held_actions.lock().unwrap().contains(&action) {
        shared.recorded.lock().unwrap().held += 1;
        shared.held_signal.notify_waiters();
        return std::future::pending().await;
    }
    let refusal = take_refusal(&shared, &action);
    let mut call = Call {
        service,
        action,
        access_key: access_key(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
        answer: Value::Null,
        peer,
        refused: refusal.is_some(),
    };
    if let Some(refusal) = refusal {
        shared.recorded.lock().unwrap().calls.push(call);
        let mut response = Response::new(Body::from(refusal.body));
        *response.status_mut() = refusal.status;
        response.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static(refusal.content_type),
        );
        return response;
    }
    let Some(base) = base else {
        shared.recorded.lock().unwrap().calls.push(call);
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut outgoing = shared
        .client
        .request(parts.method, format!("{base}{}", parts.uri))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.send().await else {
        shared.recorded.lock().unwrap().calls.push(call);
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    call.answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    shared.recorded.lock().unwrap().calls.push(call);
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// The refusal a call of `action` gets now, if any (one fewer left when counted).
fn take_refusal(shared: &Shared, action: &str) -> Option<Refusal> {
    let mut refused = shared.refused_actions.lock().unwrap();
    let (refusal, left) = refused.get_mut(action)?;
    let refusal = refusal.clone();
    match left {
        Some(0) => {
            refused.remove(action);
            return None;
        }
        Some(left) => *left -= 1,
        None => {}
    }
    Some(refusal)
}

/// `Action=AssumeRole&...` (STS's query protocol), or the JSON protocol's target.
fn form_action(body: &Bytes, target: Option<&str>) -> String {
    if let Some(target) = target {
        return target.rsplit('.').next().unwrap_or_default().to_string();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or_default()
        .to_string()
}

/// The access key id of a SigV4 `Authorization` header (`... Credential=AKID/...`).
fn access_key(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string()
}
