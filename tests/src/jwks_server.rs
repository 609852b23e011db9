//! A JWKS server on 127.0.0.1 that counts the fetches it serves, and whose keys, failures and
//! `Cache-Control` a test changes while it runs (as an issuer rotates or goes down).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// What the server answers.
#[derive(Default)]
struct State {
    jwks: String,
    /// Fetches still to fail with a 503.
    failures: usize,
    /// Fail every fetch until cleared.
    down: bool,
    cache_control: Option<String>,
}

/// A running JWKS server.
pub struct JwksServer {
    pub url: String,
    fetches: Arc<AtomicUsize>,
    state: Arc<Mutex<State>>,
}

impl JwksServer {
    /// Serves `jwks` at `/jwks`; the first `failures` fetches get a 503.
    pub async fn start(jwks: String, failures: usize) -> Self {
        let fetches = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(Mutex::new(State {
            jwks,
            failures,
            ..State::default()
        }));
        let (counter, shared) = (fetches.clone(), state.clone());
        let app = Router::new().route(
            "/jwks",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = answer(&mut shared.lock().unwrap());
                async move { answer }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            fetches,
            state,
        }
    }

    /// How many times the JWKS was requested.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Serves `jwks` from now on.
    pub fn set_jwks(&self, jwks: String) {
        self.state.lock().unwrap().jwks = jwks;
    }

    /// Fails every fetch with a 503 while `down`.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// Sends `Cache-Control: value` with the JWKS.
    pub fn set_cache_control(&self, value: &str) {
        self.state.lock().unwrap().cache_control = Some(value.into());
    }
}

fn answer(state: &mut State) -> Response {
    if state.down || state.failures > 0 {
        state.failures = state.failures.saturating_sub(1);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut response = state.jwks.clone().into_response();
    if let Some(value) = &state.cache_control {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, value.parse().expect("header value"));
    }
    response
}
