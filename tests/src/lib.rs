//! Test harness: an app per test, tokens minted like a real issuer, requests through the real
//! handlers, event fixtures from `events/`.

pub mod aws_front_door;
pub mod dynamodb_local;
pub mod iam_stand_ins;
pub mod jwks_server;
pub mod log_capture;
pub mod moto;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::http::{HeaderMap, Method, Request as HttpRequest};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use taskgate::auth::Authenticator;
use taskgate::config::{AuthConfig, DEFAULT_MAX_TOKEN_LIFETIME, KeySource};
use taskgate::http::request::from_http;
use taskgate::revocation::RevocationStore;
use taskgate::tasks::TaskStore;
use taskgate::tasks::memory::MemoryStore;
use taskgate::{App, Route, handlers};

/// The issuer and audience of test tokens (Better Auth uses its baseURL for both).
pub const ISSUER: &str = "http://localhost:3000";
/// A user id shaped like Better Auth's.
pub const USER: &str = "u7Kq2Yd9RmXc4LpN8sTf3VbW6hZj1AeG";
/// Another user.
pub const OTHER_USER: &str = "Zx9Lm2Qp7Rt4Vb8Nc3Kd6Hf1Gj5Sa0We";
/// The HS256 secret of test apps (at least 32 bytes).
pub const SECRET: &[u8] = b"taskgate-test-secret-0123456789-abcdefghij";
/// The placeholder that event fixtures carry where a token goes.
pub const TOKEN_PLACEHOLDER: &str = "REPLACE_WITH_TOKEN";

/// The repository root, for fixture files.
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// `/api/{user}/tasks`.
pub fn tasks_path(user: &str) -> String {
    format!("/api/{user}/tasks")
}

/// `/api/{user}/tasks/{id}`, with the id of a task as the API returned it.
pub fn task_path(user: &str, id: &Value) -> String {
    format!("/api/{user}/tasks/{}", id.as_str().expect("task id"))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// HS256 auth with [`SECRET`], [`ISSUER`] and 30 s leeway.
pub fn hs256_config() -> AuthConfig {
    AuthConfig {
        keys: KeySource::Hs256 {
            secret: SECRET.to_vec(),
            previous: None,
        },
        issuer: ISSUER.into(),
        audience: ISSUER.into(),
        leeway: Duration::from_secs(30),
        max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
    }
}

/// Valid claims for `user`, issued now, expiring in 15 minutes (as Better Auth's).
pub fn claims_for(user: &str) -> Value {
    let now = now();
    json!({"sub": user, "iss": ISSUER, "aud": ISSUER, "iat": now, "exp": now + 900})
}

/// An HS256 token over `claims`, signed with `secret`.
pub fn hs256_token(claims: &Value, secret: &[u8]) -> String {
    let key = EncodingKey::from_secret(secret).expect("HS256 key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("token")
}

/// A valid token for `user` in an HS256 test app.
pub fn token_for(user: &str) -> String {
    hs256_token(&claims_for(user), SECRET)
}

/// An app on the real handlers: HS256 auth and an in-memory store.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(hs256_config(), Arc::new(MemoryStore::new())).await
}

/// An app with the given auth and store (tasks and revocation states).
pub async fn spawn_app_with<S>(auth: AuthConfig, store: Arc<S>) -> TestApp
where
    S: TaskStore + RevocationStore + 'static,
{
    let authenticator = Authenticator::new(&auth).await.expect("auth config");
    TestApp {
        app: App::new(authenticator, store),
    }
}

/// An app under test.
pub struct TestApp {
    pub app: App,
}

/// A response, with its body parsed as JSON (`Value::Null` when empty).
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the headers every response carries: `Cache-Control: no-store` and
    /// `X-Content-Type-Options: nosniff`.
    pub fn assert_standard_headers(&self) {
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
        assert_eq!(
            self.header("x-content-type-options"),
            Some("nosniff"),
            "{self:?}"
        );
    }

    /// Asserts an RFC 9457 problem with `status`.
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["status"], status);
        self.assert_standard_headers();
        for field in ["type", "title", "detail"] {
            assert!(
                self.body[field].is_string(),
                "problem without {field}: {}",
                self.body
            );
        }
    }

    /// Asserts an RFC 9457 problem with `status` whose `type` ends with `:kind`; `what` names the
    /// case in failure messages.
    pub fn assert_problem_kind(&self, status: u16, kind: &str, what: &str) {
        assert_eq!(self.status, status, "{what}: {}", self.body);
        self.assert_problem(status);
        let problem_type = self.body["type"].as_str().unwrap_or("");
        assert!(
            problem_type.ends_with(&format!(":{kind}")),
            "{what}: expected a {kind} problem, got {}",
            self.body
        );
    }
}

impl From<Response<Body>> for TestResponse {
    fn from(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = match &body {
            Body::Text(text) => text.as_bytes(),
            Body::Binary(bytes) => bytes,
            _ => b"",
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("JSON body")
        };
        Self {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// A request being built: method, path, token, headers, body.
pub struct Call<'a> {
    app: &'a TestApp,
    builder: lambda_http::http::request::Builder,
    body: Body,
}

impl TestApp {
    /// Starts a request to `path`, as `user` (a valid token) unless changed.
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            builder: HttpRequest::builder().method(method).uri(path),
            body: Body::Empty,
        }
    }

    /// Runs a request through the route table and the real handlers.
    pub async fn send(&self, request: Request) -> TestResponse {
        handlers::handle_any(&self.app, request).await.into()
    }

    /// Runs a request through one route's handler, as its Lambda function does.
    pub async fn send_to(&self, route: Route, request: Request) -> TestResponse {
        handlers::handle(&self.app, route, request).await.into()
    }

    /// Creates a task for `user` and returns it.
    pub async fn create_task(&self, user: &str, title: &str) -> Value {
        let response = self
            .call(Method::POST, &format!("/api/{user}/tasks"))
            .token(&token_for(user))
            .json(json!({ "title": title }))
            .send()
            .await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body
    }
}

impl Call<'_> {
    /// `Authorization: Bearer <token>`.
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: Value) -> Self {
        self.raw_body("application/json", body.to_string().into_bytes())
    }

    /// Any body bytes with the given content type.
    pub fn raw_body(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.builder = self.builder.header("content-type", content_type);
        self.body = Body::Binary(bytes);
        self
    }

    /// Any body bytes and no content type.
    pub fn body_without_content_type(mut self, bytes: Vec<u8>) -> Self {
        self.body = Body::Binary(bytes);
        self
    }

    pub fn request(self) -> Request {
        from_http(self.builder.body(self.body).expect("request"))
    }

    pub async fn send(self) -> TestResponse {
        let app = self.app;
        app.send(self.request()).await
    }
}

/// An event fixture from `events/`, with a token put where the placeholder is.
pub fn event(name: &str, token: &str) -> Request {
    let path = repo_path(&format!("events/{name}"));
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    lambda_http::request::from_str(&json.replace(TOKEN_PLACEHOLDER, token))
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"))
}
