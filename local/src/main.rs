//! `taskgate-local`: every route on `127.0.0.1:${PORT:-8000}`, through the same handlers as the
//! Lambda functions. In-memory store by default, DynamoDB when `TASKS_TABLE` is set.

mod dev_mode;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response as HttpResponse;
use lambda_http::http::StatusCode;
use lambda_http::{Body, tracing};
use taskgate::config::{Config, ConfigError, isolation, key_source_configured, process_env};
use taskgate::http::Problem;
use taskgate::http::request::from_http;
use taskgate::http::routes::ROUTES;
use taskgate::{App, handlers};
use tower_http::cors::CorsLayer;

/// Largest body read off the socket, as API Gateway's payload limit; the handlers refuse
/// anything over 16 KiB with a 413 of their own.
const MAX_READ_BYTES: usize = 10 * 1024 * 1024;

#[tokio::main]
async fn main() {
    tracing::init_default_subscriber();
    let port = process_env("PORT").unwrap_or_else(|| "8000".into());
    let base_url = format!("http://127.0.0.1:{port}");
    let (app, demo_token) = build_app().await.unwrap_or_else(|error| {
        tracing::error!("{error}");
        std::process::exit(1)
    });
    let router = Router::new()
        .fallback(serve)
        .with_state(Arc::new(app))
        .layer(cors());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse().unwrap_or(8000)))
        .await
        .unwrap_or_else(|error| {
            tracing::error!("cannot listen on {base_url}: {error}");
            std::process::exit(1)
        });
    if let Some(token) = demo_token {
        println!("{}", dev_mode::banner(&base_url, &token));
    }
    tracing::info!("taskgate-local listening on {base_url}");
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!("server stopped: {error}");
    }
}

/// The app from the environment; in development mode also the demo user's token.
async fn build_app() -> Result<(App, Option<String>), ConfigError> {
    if key_source_configured(process_env) {
        let config = Config::from_env()?;
        return Ok((App::from_config(&config, &ROUTES).await?, None));
    }
    let (auth, token) = dev_mode::dev_auth(process_env)?;
    let tasks_table = process_env("TASKS_TABLE");
    let config = Config {
        auth,
        isolation: isolation(process_env, tasks_table.is_some())?,
        tasks_table,
    };
    Ok((App::from_config(&config, &ROUTES).await?, Some(token)))
}

/// Browsers on `CORS_ALLOWED_ORIGINS` (comma-separated; default the Next.js dev server) may
/// call the API, as API Gateway's CORS configuration allows in AWS.
fn cors() -> CorsLayer {
    let origins = process_env("CORS_ALLOWED_ORIGINS")
        .unwrap_or_else(|| "http://localhost:3000,http://127.0.0.1:3000".into());
    let origins: Vec<HeaderValue> = origins
        .split(',')
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::ETAG, header::LOCATION])
}

/// One HTTP request through the shared handlers, as a Lambda function would see it.
async fn serve(State(app): State<Arc<App>>, request: HttpRequest) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_READ_BYTES).await else {
        let problem = Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "the body is larger than 10 MiB",
        );
        return into_axum(problem.into_response());
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let request = from_http(lambda_http::Request::from_parts(parts, body));
    into_axum(handlers::handle_any(&app, request).await)
}

fn into_axum(response: lambda_http::Response<Body>) -> HttpResponse {
    response.map(|body| match body {
        Body::Text(text) => axum::body::Body::from(text),
        Body::Binary(bytes) => axum::body::Body::from(bytes),
        _ => axum::body::Body::empty(),
    })
}
