//! The Lambda Runtime API (2018-06-01) on loopback, as Lambda plays it for one execution
//! environment: it hands out the given events one by one on `GET .../invocation/next` and
//! records when the function first asked (the end of init) and when each answer came.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use tokio::sync::Notify;

/// What the function did, in the order the API saw it.
#[derive(Default)]
pub struct Record {
    /// The first `GET next`: the function finished its init.
    pub first_next: Option<Instant>,
    /// When each event was handed out.
    pub handed: Vec<Instant>,
    /// When each answer came, and its body.
    pub answered: Vec<(Instant, String)>,
    /// An init or invocation error the function reported.
    pub error: Option<String>,
}

struct Shared {
    events: Vec<String>,
    record: Mutex<Record>,
    progress: Notify,
}

/// A running Runtime API for one process.
pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    /// Serves `events`, then holds every further `next` open (the process waits, as in Lambda).
    pub async fn start(events: Vec<String>) -> Self {
        let shared = Arc::new(Shared {
            events,
            record: Mutex::new(Record::default()),
            progress: Notify::new(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address, shared }
    }

    /// Waits until every event is answered or an error is reported, at most `limit`.
    pub async fn finished(&self, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.progress.notified();
            {
                let record = self.shared.record.lock().unwrap();
                if let Some(error) = &record.error {
                    return Err(error.clone());
                }
                if record.answered.len() == self.shared.events.len() {
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err("the function did not answer in time".into());
            }
        }
    }

    /// What happened.
    pub fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.shared.record.lock().unwrap()
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> (HeaderMap, String) {
    let index = {
        let mut record = shared.record.lock().unwrap();
        let now = Instant::now();
        record.first_next.get_or_insert(now);
        let index = record.handed.len();
        if index < shared.events.len() {
            record.handed.push(now);
        }
        index
    };
    let Some(event) = shared.events.get(index) else {
        return std::future::pending().await;
    };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(10);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header"));
    };
    set("lambda-runtime-aws-request-id", format!("request-{index}"));
    set(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:coldstart".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (headers, event.clone())
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let body = String::from_utf8_lossy(&body).into_owned();
    shared
        .record
        .lock()
        .unwrap()
        .answered
        .push((Instant::now(), body));
    shared.progress.notify_waiters();
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    report(
        &shared,
        format!("invocation {id} failed: {}", String::from_utf8_lossy(&body)),
    )
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    report(
        &shared,
        format!("init failed: {}", String::from_utf8_lossy(&body)),
    )
}

fn report(shared: &Shared, error: String) -> StatusCode {
    shared.record.lock().unwrap().error = Some(error);
    shared.progress.notify_waiters();
    StatusCode::ACCEPTED
}
