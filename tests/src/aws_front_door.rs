//! One endpoint for every AWS call a test app makes, in front of the real stand-ins: DynamoDB
//! calls (`X-Amz-Target: DynamoDB_...`) go to DynamoDB Local, all others (STS, Secrets Manager) to
//! moto. It records each call's service, action and signing access key, so tests can see which
//! credentials touched the data and how often STS was asked.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// One call that passed through.
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
}

struct Targets {
    dynamodb: String,
    moto: String,
    client: reqwest::Client,
    calls: Mutex<Vec<Call>>,
}

/// A running front door.
pub struct AwsFrontDoor {
    pub endpoint: String,
    targets: Arc<Targets>,
}

impl AwsFrontDoor {
    /// Listens on a port of its own, forwarding to the two endpoints.
    pub async fn start(dynamodb: String, moto: String) -> Self {
        let targets = Arc::new(Targets {
            dynamodb,
            moto,
            client: reqwest::Client::new(),
            calls: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(forward).with_state(targets.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint, targets }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.targets.calls.lock().unwrap().clone()
    }

    /// The calls of one action (e.g. `AssumeRole`).
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
}

async fn forward(State(targets): State<Arc<Targets>>, request: Request) -> Response {
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
            &targets.dynamodb,
            target.rsplit('.').next().unwrap_or_default().to_string(),
        ),
        _ => ("moto", &targets.moto, form_action(&body, target)),
    };
    targets.calls.lock().unwrap().push(Call {
        service,
        action,
        access_key: access_key(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let url = format!("{base}{}", parts.uri);
    let mut outgoing = targets.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
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
