//! Request parsing and the handlers on any API Gateway event: every route answers with a
//! response, never a panic and never a 5xx (the in-memory store cannot fail).

#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use base64::Engine;
use lambda_http::http::header::CONTENT_TYPE;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use taskgate::auth::Authenticator;
use taskgate::config::{AuthConfig, KeySource};
use taskgate::http::routes::ROUTES;
use taskgate::tasks::memory::MemoryStore;
use taskgate::{App, handlers};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
});

/// A fresh app per input, so every run is reproducible on its own.
fn app() -> App {
    let config = AuthConfig {
        keys: KeySource::Hs256 {
            secret: b"taskgate-fuzz-secret-0123456789-abcdefghij".to_vec(),
            previous: None,
        },
        issuer: "http://localhost:3000".into(),
        audience: "http://localhost:3000".into(),
        leeway: Duration::from_secs(30),
        // The seeds' tokens live until 2100, so that they stay valid: far past the longest
        // lifetime `AUTH_MAX_TOKEN_LIFETIME_SECONDS` allows.
        max_token_lifetime: Duration::from_secs(100 * 365 * 24 * 3600),
    };
    let authenticator = RUNTIME
        .block_on(Authenticator::new(&config))
        .expect("fuzz verifier config");
    App::new(authenticator, Arc::new(MemoryStore::new()))
}

/// The event as API Gateway could send it, or `None` for what it never sends: it sets `host`
/// and `x-forwarded-proto` itself, every `rawPath` starts with `/`, `rawQueryString` is URI
/// text, and a body flagged `isBase64Encoded` is valid base64. (`lambda_http` 1.3 panics on the
/// others before any of our code runs: `Body::from_maybe_encoded`, `build_request_uri`, and
/// "failed to build request" in `into_api_gateway_v2_request`.)
fn as_api_gateway_sends(event: &str) -> Option<String> {
    let mut event: Value = serde_json::from_str(event).ok()?;
    if !event["rawPath"]
        .as_str()
        .is_none_or(|path| path.starts_with('/'))
    {
        return None;
    }
    if let Some(query) = event["rawQueryString"].as_str() {
        lambda_http::http::Uri::try_from(format!("/?{query}")).ok()?;
    }
    if let (Value::Bool(true), Value::String(body)) = (&event["isBase64Encoded"], &event["body"]) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?;
    }
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.insert("host".into(), "api.example.com".into());
        headers.insert("x-forwarded-proto".into(), "https".into());
    }
    if let Some(context) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        context.insert("domainName".into(), "api.example.com".into());
        context.insert("stage".into(), "$default".into());
    }
    Some(event.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some((&route, event)) = data.split_first() else {
        return;
    };
    let Ok(event) = std::str::from_utf8(event) else {
        return;
    };
    let Some(event) = as_api_gateway_sends(event) else {
        return;
    };
    let event = event.as_str();
    let (Ok(for_route), Ok(for_table)) = (
        lambda_http::request::from_str(event),
        lambda_http::request::from_str(event),
    ) else {
        return;
    };
    let app = app();
    let route = ROUTES[route as usize % ROUTES.len()];
    let responses = RUNTIME.block_on(async {
        [
            handlers::handle(&app, route, for_route).await,
            handlers::handle_any(&app, for_table).await,
        ]
    });
    for response in responses {
        let status = response.status();
        assert!(!status.is_server_error(), "{status} for {event}");
        if status.is_client_error() {
            let content_type = response.headers().get(CONTENT_TYPE);
            assert_eq!(
                content_type.and_then(|v| v.to_str().ok()),
                Some("application/problem+json")
            );
        }
    }
});
