//! A JWKS server on 127.0.0.1 that counts the fetches it serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

/// A running JWKS server.
pub struct JwksServer {
    pub url: String,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    /// Serves `jwks` at `/jwks`; the first `failures` fetches get a 503.
    pub async fn start(jwks: String, failures: usize) -> Self {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || {
                let jwks = jwks.clone();
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < failures {
                        (StatusCode::SERVICE_UNAVAILABLE, String::new())
                    } else {
                        (StatusCode::OK, jwks)
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, fetches }
    }

    /// How many times the JWKS was requested.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}
