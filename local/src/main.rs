//! `taskgate-local`: every route on `127.0.0.1:${PORT:-8000}`, through the same handlers as the
//! Lambda functions, the Lambda authorizer at `POST /authorizer`, and the API's OpenAPI document
//! at `GET /openapi.json`. In-memory store by default, DynamoDB when `TASKS_TABLE` is set.

mod dev_mode;
mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response as HttpResponse;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use taskgate::config::{
    Config, ConfigError, DataIsolation, Limits, auth_variables_set, process_env, process_vars,
    revocation_ttl,
};
use taskgate::http::request::from_http;
use taskgate::http::response::add_standard_headers;
use taskgate::http::routes::ROUTES;
use taskgate::http::{Problem, ProblemKind};
use taskgate::{App, authorizer, handlers};
use tower_http::cors::CorsLayer;

/// Largest body read off the socket, as API Gateway's payload limit; the handlers refuse
/// anything over 16 KiB with a 413 of their own.
const MAX_READ_BYTES: usize = 10 * 1024 * 1024;

/// The response header that carries each request's id, as API Gateway's HTTP APIs name it.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("apigw-requestid");

/// Where the Lambda authorizer answers: `POST` an authorizer event (payload 2.0), get its answer.
const AUTHORIZER_PATH: &str = "/authorizer";

#[tokio::main]
async fn main() {
    taskgate::logging::init();
    let exit = |error: ConfigError| -> ! {
        tracing::error!("{error}");
        std::process::exit(1)
    };
    let port = port(process_env).unwrap_or_else(|error| exit(error));
    let cors = cors(process_env).unwrap_or_else(|error| exit(error));
    let (app, demo_token) = build_app().await.unwrap_or_else(|error| exit(error));
    let openapi = openapi::json().unwrap_or_else(|error| {
        tracing::error!("{error}");
        std::process::exit(1)
    });
    let router = Router::new()
        .fallback(serve)
        .with_state(Arc::new(Local { app, openapi }))
        .layer(cors)
        .layer(axum::middleware::map_response(standard_headers));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|error| {
            tracing::error!("cannot listen on 127.0.0.1:{port}: {error}");
            std::process::exit(1)
        });
    let port = listener.local_addr().map_or(port, |addr| addr.port());
    let base_url = format!("http://127.0.0.1:{port}");
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
    if auth_variables_set(process_vars())? {
        let config = Config::from_env()?;
        return Ok((App::from_config(&config, &ROUTES).await?, None));
    }
    let (auth, token) = dev_mode::dev_auth(process_env)?;
    let tasks_table = process_env("TASKS_TABLE");
    let config = Config {
        auth,
        isolation: DataIsolation::from_lookup(process_env, tasks_table.is_some())?,
        limits: Limits::from_lookup(process_env)?,
        revocation_ttl: revocation_ttl(process_env)?,
        tasks_table,
    };
    Ok((App::from_config(&config, &ROUTES).await?, Some(token)))
}

/// `PORT` (default 8000): a port number; 0 picks a free one.
fn port(env: impl Fn(&str) -> Option<String>) -> Result<u16, ConfigError> {
    let Some(raw) = env("PORT") else {
        return Ok(8000);
    };
    raw.trim().parse().map_err(|_| {
        ConfigError::new(
            "PORT",
            format!("must be a port number from 0 to 65535, got {raw:?}"),
        )
    })
}

/// Browsers on `CORS_ALLOWED_ORIGINS` (comma-separated; default the Next.js dev server) may
/// call the API, as API Gateway's CORS configuration allows in AWS. Each origin is
/// `http(s)://host[:port]`; `*` is refused (it would let any site call with a user's token).
fn cors(env: impl Fn(&str) -> Option<String>) -> Result<CorsLayer, ConfigError> {
    let origins = env("CORS_ALLOWED_ORIGINS")
        .unwrap_or_else(|| "http://localhost:3000,http://127.0.0.1:3000".into());
    let origins = origins
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(origin)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CorsLayer::new()
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
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::ETAG, header::LOCATION, REQUEST_ID_HEADER]))
}

/// One origin of `CORS_ALLOWED_ORIGINS`.
fn origin(raw: &str) -> Result<HeaderValue, ConfigError> {
    let error = |reason: String| ConfigError::new("CORS_ALLOWED_ORIGINS", reason);
    if raw == "*" {
        return Err(error(
            "`*` is not accepted: list the browser origins that may call the API, e.g. \
             http://localhost:3000"
                .into(),
        ));
    }
    let host = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .filter(|host| !host.is_empty() && !host.contains(['/', '*', '?', '#', '@']));
    match (host, HeaderValue::from_str(raw)) {
        (Some(_), Ok(value)) => Ok(value),
        _ => Err(error(format!(
            "{raw:?} is not an origin (http(s)://host[:port], no path)"
        ))),
    }
}

/// The headers every answer carries, the CORS layer's own included.
async fn standard_headers(mut response: HttpResponse) -> HttpResponse {
    add_standard_headers(response.headers_mut());
    response
}

/// What the server answers with: the app, and the OpenAPI document as JSON.
struct Local {
    app: App,
    openapi: Bytes,
}

/// One HTTP request through the shared handlers, as a Lambda function would see it; or the
/// authorizer's answer, or the OpenAPI document.
async fn serve(State(local): State<Arc<Local>>, request: HttpRequest) -> HttpResponse {
    let app = &local.app;
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_READ_BYTES).await else {
        let problem = Problem::new(ProblemKind::BodyTooLarge, "the body is larger than 10 MiB");
        return into_axum(problem.into_response());
    };
    if parts.method == Method::POST && parts.uri.path() == AUTHORIZER_PATH {
        return authorize(app, &bytes).await;
    }
    if parts.method == Method::GET && parts.uri.path() == openapi::PATH {
        return openapi::response(local.openapi.clone());
    }
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let id = format!("{:016x}", rand::random::<u64>());
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.request_id = Some(id.clone());
    let request = from_http(lambda_http::Request::from_parts(parts, body))
        .with_request_context(RequestContext::ApiGatewayV2(context));
    let mut response = into_axum(handlers::handle_any(app, request).await);
    if let Ok(id) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, id);
    }
    response
}

/// The Lambda authorizer's answer to the event in `body`, with this server's verifier and
/// revocation check: what `functions/authorizer` answers, for a route developed locally.
async fn authorize(app: &App, body: &[u8]) -> HttpResponse {
    let event = String::from_utf8_lossy(body);
    let deadline = app.request_deadline();
    let answer = authorizer::answer(
        app.authenticator(),
        app.revocations(),
        deadline,
        &event,
        None,
    );
    let json = serde_json::to_string(&answer.await).unwrap_or_default();
    let mut response = HttpResponse::new(axum::body::Body::from(json));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn into_axum(response: lambda_http::Response<Body>) -> HttpResponse {
    response.map(|body| match body {
        Body::Text(text) => axum::body::Body::from(text),
        Body::Binary(bytes) => axum::body::Body::from(bytes),
        _ => axum::body::Body::empty(),
    })
}
