//! One async fn per route: `(&App, Request) -> Response`. Each resolves the path, authenticates,
//! checks the path user is the token's user and that the token is not revoked, then does its
//! work with the token's user id.

use std::time::{Duration, SystemTime};

use lambda_http::http::StatusCode;
use lambda_http::http::header::{AUTHORIZATION, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Context, Request, RequestExt, Response};
use serde::Deserialize;
use tracing::Instrument;

use crate::App;
use crate::auth::{AuthError, Claims};
use crate::http::request::{has_token_in_query, idempotency_key, if_match, json_body, list_query};
use crate::http::response;
use crate::http::routes::{PathParams, Route, RouteMatch, match_route};
use crate::http::{Problem, ProblemKind};
use crate::metrics::{self, Metric};
use crate::revocation::{Revocation, Scope, SessionId};
use crate::tasks::{
    NewTask, Task, TaskChanges, TaskDescription, TaskId, TaskTitle, ValidationError,
};

/// Serves `route`: the entry point of that route's Lambda function.
pub async fn handle(app: &App, route: Route, request: Request) -> Response<Body> {
    let span = tracing::info_span!(
        "request",
        route = route.function_name(),
        request_id = %request_id(&request)
    );
    async {
        let deadline = time_allowed(app.request_deadline(), request.lambda_context_ref());
        match tokio::time::timeout(deadline, serve(app, route, &request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(problem)) => problem.into_response(),
            Err(_) => {
                tracing::warn!(
                    deadline_ms = deadline.as_millis() as u64,
                    "request deadline passed"
                );
                Problem::deadline_exceeded().into_response()
            }
        }
    }
    .instrument(span)
    .await
}

/// Time kept back from a Lambda invocation's own deadline to send the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// How long this request may take: `deadline`, or less when the Lambda `invocation` ends sooner
/// (so the caller gets our answer, not the runtime's timeout). A deadline that has already
/// passed is no deadline: Lambda's are always ahead, and emulators (`cargo lambda watch` sends
/// one in 1970) only pretend.
pub(crate) fn time_allowed(deadline: Duration, invocation: Option<&Context>) -> Duration {
    let invocation_left = invocation
        .and_then(|context| context.deadline().duration_since(SystemTime::now()).ok())
        .map(|left| left.saturating_sub(ANSWER_MARGIN));
    invocation_left.map_or(deadline, |left| left.min(deadline))
}

/// Serves any route by the route table: the local server's entry point.
pub async fn handle_any(app: &App, request: Request) -> Response<Body> {
    match match_route(request.method(), raw_path(&request)) {
        RouteMatch::Found(route, _) => handle(app, route, request).await,
        RouteMatch::MethodNotAllowed(allow) => {
            Problem::method_not_allowed(request.method(), &allow).into_response()
        }
        RouteMatch::NotFound => not_found_route().into_response(),
    }
}

/// The checks every route makes, in order: the path (404, 405), the token (401), the path's user
/// (403, no store call), then the token's revocation state (401). A route that only reads runs
/// its store read while that state is read (a revoked token still gets 401 and nothing of what
/// was read); a route that writes has the state first, so no write is made with a token
/// revoked longer ago than the revocation TTL.
async fn serve(app: &App, route: Route, request: &Request) -> Result<Response<Body>, Problem> {
    let params = path_params(route, request)?;
    let claims = authenticate(app, request).await?;
    if params.user_id != claims.sub {
        // As `&str` fields: text logs quote and escape them, so no value forges a log line.
        let (sub, path_user) = (claims.sub.as_str(), params.user_id.as_str());
        tracing::warn!(outcome = "forbidden", sub, path_user, "auth");
        metrics::count(Metric::AuthCrossUser);
        return Err(Problem::forbidden());
    }
    let not_revoked = not_revoked(app, &claims);
    let work = route_work(app, route, &claims.sub, &params, request);
    if route.only_reads() {
        let (not_revoked, response) = tokio::join!(not_revoked, work);
        not_revoked?;
        return response;
    }
    not_revoked.await?;
    work.await
}

/// What `route` does for `user`, once the checks have passed.
async fn route_work(
    app: &App,
    route: Route,
    user: &str,
    params: &PathParams,
    request: &Request,
) -> Result<Response<Body>, Problem> {
    match route {
        Route::ListTasks => list_tasks(app, user, request).await,
        Route::CreateTask => create_task(app, user, request).await,
        Route::GetTask => get_task(app, user, task_id(params)?).await,
        Route::UpdateTask => update_task(app, user, task_id(params)?, request).await,
        Route::DeleteTask => delete_task(app, user, task_id(params)?, request).await,
        Route::CompleteTask => complete_task(app, user, task_id(params)?, request).await,
        Route::RevokeSessions => revoke(app, user, Scope::Everywhere).await,
        Route::RevokeSession => revoke(app, user, Scope::Session(session_id(params)?)).await,
    }
}

/// `GET /api/{user_id}/tasks`
async fn list_tasks(app: &App, user: &str, request: &Request) -> Result<Response<Body>, Problem> {
    let page = app.store().list(user, list_query(request)?).await?;
    Ok(response::page(&page))
}

/// `POST /api/{user_id}/tasks`
async fn create_task(app: &App, user: &str, request: &Request) -> Result<Response<Body>, Problem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CreateBody {
        title: String,
        description: Option<String>,
    }
    let body: CreateBody = json_body(request)?;
    let new = NewTask {
        title: TaskTitle::parse(&body.title)?,
        description: description(body.description.as_deref())?,
    };
    let key = idempotency_key(request)?;
    let now = now();
    let task = Task::new(app.new_task_id(now), user, new, now);
    let created = app.store().create(task, key.as_deref()).await?;
    let mut response = response::created(&created.task, stage_prefix(request));
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /api/{user_id}/tasks/{task_id}`
async fn get_task(app: &App, user: &str, task_id: TaskId) -> Result<Response<Body>, Problem> {
    let task = app.store().get(user, task_id).await?;
    Ok(response::task(StatusCode::OK, &task))
}

/// `PUT /api/{user_id}/tasks/{task_id}`
async fn update_task(
    app: &App,
    user: &str,
    task_id: TaskId,
    request: &Request,
) -> Result<Response<Body>, Problem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct UpdateBody {
        title: String,
        description: Option<String>,
        completed: Option<bool>,
    }
    let expected = if_match(request)?;
    let body: UpdateBody = json_body(request)?;
    let changes = TaskChanges {
        title: TaskTitle::parse(&body.title)?,
        description: description(body.description.as_deref())?,
        completed: body.completed,
    };
    let task = app
        .store()
        .update(user, task_id, &changes, expected, now())
        .await?;
    Ok(response::task(StatusCode::OK, &task))
}

/// `DELETE /api/{user_id}/tasks/{task_id}`
async fn delete_task(
    app: &App,
    user: &str,
    task_id: TaskId,
    request: &Request,
) -> Result<Response<Body>, Problem> {
    let expected = if_match(request)?;
    app.store().delete(user, task_id, expected).await?;
    Ok(response::no_content())
}

/// `PATCH /api/{user_id}/tasks/{task_id}/complete`
async fn complete_task(
    app: &App,
    user: &str,
    task_id: TaskId,
    request: &Request,
) -> Result<Response<Body>, Problem> {
    let expected = if_match(request)?;
    let task = app
        .store()
        .toggle_completed(user, task_id, expected, now())
        .await?;
    Ok(response::task(StatusCode::OK, &task))
}

/// `DELETE /api/{user_id}/sessions` (everywhere) and `DELETE /api/{user_id}/sessions/{id}`: the
/// revocation is stored before the answer, and this instance refuses the revoked tokens at once.
async fn revoke(app: &App, user: &str, scope: Scope) -> Result<Response<Body>, Problem> {
    let scope_name = match scope {
        Scope::Everywhere => "everywhere",
        Scope::Session(_) => "session",
    };
    let revocation = Revocation {
        scope,
        at: chrono::Utc::now().timestamp(),
        keep_for: app.authenticator().longest_acceptance().as_secs() as i64,
    };
    app.revocations().revoke(user, &revocation).await?;
    tracing::info!(
        outcome = "revoked",
        sub = user,
        scope = scope_name,
        "sessions"
    );
    Ok(response::no_content())
}

/// Checks the (verified, path-matching) token against its user's revocation state; a revoked
/// token is refused like any other refused token, and logged with reason `revoked`.
async fn not_revoked(app: &App, claims: &Claims) -> Result<(), Problem> {
    if app.revocations().refuses(claims).await? {
        log_revoked(&claims.sub);
        return Err(AuthError::Revoked.into());
    }
    Ok(())
}

/// Logs and counts a verified token refused as revoked, with its user (in the log only).
pub(crate) fn log_revoked(sub: &str) {
    let reason = AuthError::Revoked.reason();
    tracing::info!(outcome = "rejected", reason, sub, "auth");
    metrics::count(AuthError::Revoked.metric());
}

/// Verifies the bearer token and logs the outcome (never the token).
async fn authenticate(app: &App, request: &Request) -> Result<Claims, Problem> {
    let header = request.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    let result = if has_token_in_query(request) {
        Err(AuthError::TokenInQuery)
    } else {
        app.authenticator().verify(header).await
    };
    log_verdict(&result);
    Ok(result?)
}

/// Logs the verifier's verdict (never the token): accepted at debug with the user, refused at
/// info with its reason code, keys unavailable at error; a refusal is counted by its reason.
pub(crate) fn log_verdict(result: &Result<Claims, AuthError>) {
    match result {
        Ok(claims) => tracing::debug!(outcome = "accepted", sub = claims.sub.as_str(), "auth"),
        Err(AuthError::KeysUnavailable) => {
            tracing::error!(outcome = "unavailable", reason = "keys_unavailable", "auth");
        }
        Err(error) => tracing::info!(outcome = "rejected", reason = error.reason(), "auth"),
    }
    if let Err(error) = result {
        metrics::count(error.metric());
    }
}

/// The path parameters. The raw path is the authority when it matches the route table, so no
/// decoding (by API Gateway or anyone) can change which user a path names; otherwise the
/// event's `pathParameters` (e.g. under a custom domain's base path).
fn path_params(route: Route, request: &Request) -> Result<PathParams, Problem> {
    match match_route(request.method(), raw_path(request)) {
        RouteMatch::Found(found, params) if found == route => return Ok(params),
        RouteMatch::Found(found, _) if found.path() == route.path() => {
            return Err(Problem::method_not_allowed(
                request.method(),
                &[route.method()],
            ));
        }
        RouteMatch::MethodNotAllowed(allow) => {
            return Err(Problem::method_not_allowed(request.method(), &allow));
        }
        _ => {}
    }
    let event = request.path_parameters();
    match event.first("user_id") {
        Some(user_id) if request.method() == route.method() => Ok(PathParams {
            user_id: user_id.to_string(),
            task_id: event.first("task_id").map(str::to_string),
            session_id: event.first("session_id").map(str::to_string),
        }),
        _ => Err(not_found_route()),
    }
}

fn not_found_route() -> Problem {
    Problem::not_found(
        "no route here; the API lives under /api/{user_id}/tasks and /api/{user_id}/sessions",
    )
}

/// The path as the client sent it: API Gateway's `rawPath` (less a named stage's prefix), else
/// the URI's path.
fn raw_path(request: &Request) -> &str {
    let raw = request.raw_http_path();
    if raw.is_empty() {
        return request.uri().path();
    }
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.as_deref(),
        _ => None,
    };
    stage
        .filter(|stage| *stage != "$default")
        .and_then(|stage| raw.strip_prefix('/')?.strip_prefix(stage))
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(raw)
}

/// The named stage's prefix the client's path carries (e.g. `/prod`), or empty: what
/// [`raw_path`] strips.
fn stage_prefix(request: &Request) -> &str {
    let raw = request.raw_http_path();
    raw.strip_suffix(raw_path(request)).unwrap_or("")
}

fn task_id(params: &PathParams) -> Result<TaskId, Problem> {
    params
        .task_id
        .as_deref()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Problem::not_found("no such task"))
}

fn session_id(params: &PathParams) -> Result<SessionId, Problem> {
    params
        .session_id
        .as_deref()
        .and_then(SessionId::parse)
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::InvalidSessionId,
                "a session id is 1 to 255 visible ASCII characters",
            )
        })
}

fn description(raw: Option<&str>) -> Result<Option<TaskDescription>, ValidationError> {
    raw.map(TaskDescription::parse).transpose()
}

/// Now, to the millisecond (what the API shows and DynamoDB keeps).
fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    now.with_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}

/// API Gateway's request id, or the Lambda invocation's, for logs.
fn request_id(request: &Request) -> &str {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.as_deref(),
        _ => request.lambda_context_ref().map(|c| c.request_id.as_str()),
    }
    .unwrap_or_default()
}
