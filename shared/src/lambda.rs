//! A route, or the Lambda authorizer, as a Lambda function. For a route: the API Gateway event
//! checked before `lambda_http` turns it into a request, and a panic in the handler answered as
//! a 500 problem. The authorizer gets each event's JSON text as it is (`crate::authorizer`).
//!
//! `lambda_http` 1.x converts the event before any handler runs, and panics on inputs a client
//! or a front door can send: a body flagged `isBase64Encoded` that is not base64, a `Host` that
//! is not a host, and a `rawQueryString` holding bytes `http::Uri` refuses. The runtime reports
//! such a panic as an error, so API Gateway answers a bare 500. [`invoke`] refuses the first two
//! with a 400 problem (as it does an event it cannot read, a path not starting with `/`, and a
//! 414 for a path and query over 16 KiB), percent-encodes the third, and only then hands the
//! event to `lambda_http`'s own adapter, so conversion and response stay its own.
//!
//! Each invocation's metrics go to stdout as one Embedded Metric Format line after its answer
//! (`crate::metrics`), and the cold start's as one more when it counted anything.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::FutureExt;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::header::HOST;
use lambda_http::http::{Request as HttpRequest, Uri};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Body, Error, IntoResponse, LambdaEvent, Request, Response, service_fn};
use lambda_runtime_api_client::PooledClient;
use lambda_runtime_api_client::body::Body as RuntimeBody;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;
use serde_json::value::RawValue;
use url::Url;

use crate::authorizer::Authorizer;
use crate::config::{ConfigError, process_env};
use crate::http::{Problem, ProblemKind};
use crate::metrics::{self, Metrics};
use crate::{App, Route, handlers};

/// Query bytes `http::Uri` refuses (controls, space, `"`, `<`, `>`, DEL), and `#`, which it
/// would take as the start of a fragment and drop.
const QUERY_REFUSED: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');

/// The most bytes of `rawPath` plus `rawQueryString`: even percent-encoded three times over, the
/// URI stays under `http::Uri`'s 64 KiB limit.
const MAX_URI_BYTES: usize = 16 * 1024;

/// Runs `route` as a Lambda function until the runtime stops: the entry point of every route's
/// binary under `functions/`. A configuration error is logged, reported to the runtime API, and
/// returned, so that the process exits with a failure.
pub async fn run(route: Route) -> Result<(), Error> {
    crate::logging::init();
    let metrics = started(Metrics::from_env(route.function_name())).await?;
    let app = started(measured_start(&metrics, App::from_env(&[route])).await).await?;
    let (app, metrics) = (&app, &metrics);
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let handled = invoke(event, move |request| handlers::handle(app, route, request));
            let (response, line) = metrics.invocation(handled).await;
            metrics::emit(&line);
            Ok::<_, Infallible>(response)
        },
    ))
    .await
}

/// Runs the Lambda authorizer until the runtime stops: the entry point of `functions/authorizer`.
/// Every event gets an answer (`isAuthorized` true or false), never an invocation error; a
/// configuration error stops the start as for a route.
pub async fn run_authorizer() -> Result<(), Error> {
    crate::logging::init();
    let metrics = started(Metrics::from_env("authorizer")).await?;
    let authorizer = started(measured_start(&metrics, Authorizer::from_env()).await).await?;
    let (authorizer, metrics) = (&authorizer, &metrics);
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let answering = authorizer.answer(event.payload.get(), Some(&event.context));
            let (answer, line) = metrics.invocation(answering).await;
            metrics::emit(&line);
            Ok::<_, Infallible>(answer)
        },
    ))
    .await
}

/// The cold start's work, its metrics (a JWKS fetch, a secret read) emitted as a line of
/// their own when it counted any.
async fn measured_start<T>(metrics: &Metrics, start: impl Future<Output = T>) -> T {
    let (built, line) = metrics.start(start).await;
    if let Some(line) = line {
        metrics::emit(&line);
    }
    built
}

/// What was built at start, or the configuration error, logged and reported to the runtime API.
async fn started<T>(built: Result<T, ConfigError>) -> Result<T, Error> {
    let error = match built {
        Ok(built) => return Ok(built),
        Err(error) => error,
    };
    tracing::error!("{error}");
    if let Some(api) = process_env("AWS_LAMBDA_RUNTIME_API") {
        report_init_error(&api, &error).await;
    }
    Err(error.into())
}

/// Tells the Lambda runtime API at `api` why the start failed (`/runtime/init/error`), so an
/// invocation waiting for this instance (in Lambda, or under `cargo lambda watch`) gets the
/// message at once instead of a timeout. Best effort, bounded by 2 s.
async fn report_init_error(api: &str, error: &ConfigError) {
    let base = match api.contains("://") {
        true => api.to_string(),
        false => format!("http://{api}"),
    };
    let body = serde_json::json!({"errorMessage": error.to_string(), "errorType": "ConfigError"});
    let sent = async {
        let client = PooledClient::builder().with_endpoint(base.parse()?).build();
        let request = HttpRequest::post("/2018-06-01/runtime/init/error")
            .header("lambda-runtime-function-error-type", "Runtime.ConfigError")
            .header("content-type", "application/json")
            .body(RuntimeBody::from(body.to_string()))?;
        client.call(request).await.map(drop)
    };
    match tokio::time::timeout(Duration::from_secs(2), sent).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "could not report the init error to the runtime API");
        }
        Err(_) => tracing::warn!("reporting the init error to the runtime API timed out"),
    }
}

/// Answers one API Gateway HTTP API event (payload 2.0) with `handler`, as the runtime sends it
/// and as the runtime expects the answer: a 400 problem for an event `lambda_http` cannot turn
/// into a request, a 500 problem if the handler panics. The answer's status class is counted
/// for the invocation's metrics (see [`Metrics::invocation`]).
pub async fn invoke<H, F>(event: LambdaEvent<Box<RawValue>>, mut handler: H) -> impl Serialize
where
    H: FnMut(Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    let LambdaEvent { payload, context } = event;
    let (event, refusal) = match convertible(payload.get()) {
        Ok(event) => (event, None),
        Err(refusal) => {
            tracing::warn!(
                outcome = refusal.kind.name(),
                "event refused before the handler"
            );
            (ApiGatewayV2httpRequest::default(), Some(refusal))
        }
    };
    let service = service_fn(|request| {
        let handled = match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(handler(request)),
        };
        answer(handled).map(|response| {
            metrics::count_status(response.status());
            Ok::<_, Infallible>(Finished(response))
        })
    });
    let event = LambdaEvent::new(LambdaRequest::ApiGatewayV2(event), context);
    match Adapter::from(service).oneshot(event).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The handler's response, a 500 problem if it panics, or the refusal's problem.
async fn answer<F>(handled: Result<F, Refusal>) -> Response<Body>
where
    F: Future<Output = Response<Body>>,
{
    let refusal = match handled {
        Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
            Ok(response) => return response,
            Err(panic) => {
                tracing::error!(panic = ?panic_message(&*panic), "the handler panicked");
                INTERNAL
            }
        },
        Err(refusal) => refusal,
    };
    refusal.problem().into_response()
}

/// A response whose body is already `lambda_http`'s text (or empty), handed to its adapter as it
/// is. A bare `Response<Body>` would go through `lambda_http`'s `ConvertBody`, which copies the
/// body and decodes it again by its charset with `encoding_rs`: a copy per request, and the
/// decoders of every legacy encoding (150 KB) in each function.
struct Finished(Response<Body>);

impl IntoResponse for Finished {
    fn into_response(self) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

/// Why an event gets no handler: a problem made of constants, so it can be made again per call.
#[derive(Clone, Copy)]
struct Refusal {
    kind: ProblemKind,
    detail: &'static str,
}

impl Refusal {
    fn problem(self) -> Problem {
        Problem::new(self.kind, self.detail)
    }
}

const NOT_AN_EVENT: Refusal = Refusal {
    kind: ProblemKind::InvalidEvent,
    detail: "the event is not an API Gateway HTTP API request with valid headers",
};

const BAD_BASE64: Refusal = Refusal {
    kind: ProblemKind::InvalidBody,
    detail: "the body is flagged base64-encoded but is not valid base64",
};

const BAD_HOST: Refusal = Refusal {
    kind: ProblemKind::InvalidHost,
    detail: "the Host header (with X-Forwarded-Proto) is not a valid host",
};

const BAD_PATH: Refusal = Refusal {
    kind: ProblemKind::InvalidPath,
    detail: "the path does not start with /",
};

const URI_TOO_LONG: Refusal = Refusal {
    kind: ProblemKind::UriTooLong,
    detail: "the path and query are longer than 16 KiB",
};

const INTERNAL: Refusal = Refusal {
    kind: ProblemKind::Internal,
    detail: "the request could not be completed",
};

/// The event, read and made safe for `lambda_http`'s conversion, or why it cannot be.
fn convertible(event: &str) -> Result<ApiGatewayV2httpRequest, Refusal> {
    let mut event: ApiGatewayV2httpRequest =
        serde_json::from_str(event).map_err(|_| NOT_AN_EVENT)?;
    let body = event.body.as_deref().filter(|_| event.is_base64_encoded);
    if body.is_some_and(|body| STANDARD.decode(body).is_err()) {
        return Err(BAD_BASE64);
    }
    let path = event.raw_path.as_deref().unwrap_or("");
    let query = event.raw_query_string.as_deref().unwrap_or("");
    if path.len() + query.len() > MAX_URI_BYTES {
        return Err(URI_TOO_LONG);
    }
    if !(path.is_empty() || path.starts_with('/')) {
        return Err(BAD_PATH);
    }
    if !host_forms_a_url(&event) {
        return Err(BAD_HOST);
    }
    if let Some(query) = &mut event.raw_query_string {
        *query = utf8_percent_encode(query, QUERY_REFUSED).to_string();
    }
    Ok(event)
}

/// Whether the scheme and host `lambda_http` puts in the request URI (`X-Forwarded-Proto` or
/// `https`; `Host` or the request context's domain name) make `scheme://host/` and nothing
/// more, in `url`'s eyes and in `http::Uri`'s.
fn host_forms_a_url(event: &ApiGatewayV2httpRequest) -> bool {
    let header = |name| event.headers.get(name).and_then(|v| v.to_str().ok());
    let domain_name = event.request_context.domain_name.as_deref();
    let Some(host) = header(HOST.as_str()).or(domain_name) else {
        return true;
    };
    let scheme = header("x-forwarded-proto").unwrap_or("https");
    Url::parse(&format!("{scheme}://{host}/")).is_ok_and(|url| {
        url.has_host()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.as_str().parse::<Uri>().is_ok()
    })
}

/// A panic's message, when it has one.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test]
    async fn a_failed_start_is_reported_to_the_runtime_api() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let received = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            while !String::from_utf8_lossy(&request).contains("ConfigError\"}") {
                let read = stream.read(&mut buffer).unwrap();
                assert!(read > 0, "closed early");
                request.extend_from_slice(&buffer[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let error = ConfigError::new("AUTH_ISSUER", "is not set");
        report_init_error(&api, &error).await;
        let request = received.join().unwrap();
        assert!(
            request.starts_with("POST /2018-06-01/runtime/init/error HTTP/1.1"),
            "{request}"
        );
        assert!(request.contains("AUTH_ISSUER: is not set"), "{request}");
    }
}
