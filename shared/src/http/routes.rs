//! The one route table: every route of the API, its method, path template and Lambda function,
//! and its contract: parameters, success status and the problems it can answer. The local
//! server, the tests, the SAM template check, the path-parameter fallback and the check of
//! `openapi.yaml` (`tests/tests/openapi.rs`) all read it.

use lambda_http::http::{Method, StatusCode};

use super::ProblemKind::{self, *};
use super::request::LIST_PARAMETERS;

/// One route of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ListTasks,
    CreateTask,
    GetTask,
    UpdateTask,
    DeleteTask,
    CompleteTask,
    /// Sign out everywhere: every token of the user issued so far is refused.
    RevokeSessions,
    /// Sign out one session: every token with that `sid` is refused.
    RevokeSession,
}

/// Every route, in the order of the API contract.
pub const ROUTES: [Route; 8] = [
    Route::ListTasks,
    Route::CreateTask,
    Route::GetTask,
    Route::UpdateTask,
    Route::DeleteTask,
    Route::CompleteTask,
    Route::RevokeSessions,
    Route::RevokeSession,
];

/// The problems of a request that matches no route: no route has its path (404), or its path
/// has no route for its method (405, with `Allow`).
pub const UNROUTED_PROBLEMS: [ProblemKind; 2] = [NotFound, MethodNotAllowed];

/// The problems every route can answer: the event refused before the handler runs (Lambda
/// only, `crate::lambda`), the token and the path's user, and failures on our side.
const EVERY_ROUTE_PROBLEMS: [ProblemKind; 10] = [
    InvalidEvent,
    InvalidBody,
    InvalidHost,
    InvalidPath,
    UriTooLong,
    Unauthorized,
    Forbidden,
    UserNotIsolable,
    Internal,
    Unavailable,
];

const COLLECTION: &str = "/api/{user_id}/tasks";
const ITEM: &str = "/api/{user_id}/tasks/{task_id}";
const COMPLETE: &str = "/api/{user_id}/tasks/{task_id}/complete";
const SESSIONS: &str = "/api/{user_id}/sessions";
const SESSION: &str = "/api/{user_id}/sessions/{session_id}";

impl Route {
    /// The HTTP method this route answers.
    pub fn method(self) -> Method {
        match self {
            Route::ListTasks | Route::GetTask => Method::GET,
            Route::CreateTask => Method::POST,
            Route::UpdateTask => Method::PUT,
            Route::DeleteTask | Route::RevokeSessions | Route::RevokeSession => Method::DELETE,
            Route::CompleteTask => Method::PATCH,
        }
    }

    /// The path template, in API Gateway's `{name}` syntax.
    pub fn path(self) -> &'static str {
        match self {
            Route::ListTasks | Route::CreateTask => COLLECTION,
            Route::GetTask | Route::UpdateTask | Route::DeleteTask => ITEM,
            Route::CompleteTask => COMPLETE,
            Route::RevokeSessions => SESSIONS,
            Route::RevokeSession => SESSION,
        }
    }

    /// Whether the route only reads: its store read may run while the token's revocation state
    /// is read, since nothing is written (routes that write check the state first).
    pub fn only_reads(self) -> bool {
        matches!(self, Route::ListTasks | Route::GetTask)
    }

    /// The name of the Lambda function (and its crate under `functions/`) that serves it.
    pub fn function_name(self) -> &'static str {
        match self {
            Route::ListTasks => "list-tasks",
            Route::CreateTask => "create-task",
            Route::GetTask => "get-task",
            Route::UpdateTask => "update-task",
            Route::DeleteTask => "delete-task",
            Route::CompleteTask => "complete-task",
            Route::RevokeSessions => "revoke-sessions",
            Route::RevokeSession => "revoke-session",
        }
    }

    /// The status of a success.
    pub fn success(self) -> StatusCode {
        match self {
            Route::CreateTask => StatusCode::CREATED,
            Route::DeleteTask | Route::RevokeSessions | Route::RevokeSession => {
                StatusCode::NO_CONTENT
            }
            Route::ListTasks | Route::GetTask | Route::UpdateTask | Route::CompleteTask => {
                StatusCode::OK
            }
        }
    }

    /// Every problem the route can answer: those of every route, then its own.
    pub fn problems(self) -> Vec<ProblemKind> {
        let own: &[ProblemKind] = match self {
            Route::ListTasks => &[InvalidQuery, InvalidCursor],
            Route::CreateTask => &[
                InvalidTask,
                InvalidIdempotencyKey,
                BodyTooLarge,
                UnsupportedMediaType,
                TaskQuotaExceeded,
                IdempotencyConflict,
            ],
            Route::GetTask => &[NotFound],
            Route::UpdateTask => &[
                InvalidTask,
                InvalidIfMatch,
                NotFound,
                PreconditionFailed,
                BodyTooLarge,
                UnsupportedMediaType,
            ],
            Route::DeleteTask | Route::CompleteTask => {
                &[InvalidIfMatch, NotFound, PreconditionFailed]
            }
            Route::RevokeSessions => &[],
            Route::RevokeSession => &[InvalidSessionId],
        };
        EVERY_ROUTE_PROBLEMS.iter().chain(own).copied().collect()
    }

    /// The query parameters the route reads.
    pub fn query_parameters(self) -> &'static [&'static str] {
        match self {
            Route::ListTasks => &LIST_PARAMETERS,
            _ => &[],
        }
    }

    /// The request headers the route reads, besides `Authorization` and `Content-Type`.
    pub fn request_headers(self) -> &'static [&'static str] {
        match self {
            Route::CreateTask => &["Idempotency-Key"],
            Route::UpdateTask | Route::DeleteTask | Route::CompleteTask => &["If-Match"],
            _ => &[],
        }
    }

    /// Whether the route reads a JSON body.
    pub fn takes_body(self) -> bool {
        matches!(self, Route::CreateTask | Route::UpdateTask)
    }

    /// API Gateway's route key, e.g. `GET /api/{user_id}/tasks`.
    pub fn route_key(self) -> String {
        format!("{} {}", self.method(), self.path())
    }
}

/// The path parameters of a matched route, exactly as they appear in the path (never decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathParams {
    pub user_id: String,
    pub task_id: Option<String>,
    pub session_id: Option<String>,
}

/// What the route table says about a method and a path.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// A route answers this method on this path.
    Found(Route, PathParams),
    /// The path exists but not for this method; `allow` lists the methods it answers.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Matches a raw request path (no query string) against the route table.
pub fn match_route(method: &Method, path: &str) -> RouteMatch {
    let Some((template, params)) = parse_path(path) else {
        return RouteMatch::NotFound;
    };
    let candidates = ROUTES.into_iter().filter(|r| r.path() == template);
    let mut allow = Vec::new();
    for route in candidates {
        if route.method() == method {
            return RouteMatch::Found(route, params);
        }
        allow.push(route.method());
    }
    RouteMatch::MethodNotAllowed(allow)
}

/// Splits `/api/{user_id}/tasks[/{task_id}[/complete]]` and
/// `/api/{user_id}/sessions[/{session_id}]` into the template and its parameters.
fn parse_path(path: &str) -> Option<(&'static str, PathParams)> {
    // Six segments at most: a longer path matches no route either way.
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').take(6).collect();
    let (template, user_id, task_id, session_id) = match segments.as_slice() {
        ["api", user, "tasks"] => (COLLECTION, *user, None, None),
        ["api", user, "tasks", task] => (ITEM, *user, Some(*task), None),
        ["api", user, "tasks", task, "complete"] => (COMPLETE, *user, Some(*task), None),
        ["api", user, "sessions"] => (SESSIONS, *user, None, None),
        ["api", user, "sessions", session] => (SESSION, *user, None, Some(*session)),
        _ => return None,
    };
    let empty = |param: Option<&str>| param.is_some_and(str::is_empty);
    if user_id.is_empty() || empty(task_id) || empty(session_id) {
        return None;
    }
    let params = PathParams {
        user_id: user_id.to_string(),
        task_id: task_id.map(str::to_string),
        session_id: session_id.map(str::to_string),
    };
    Some((template, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_matches_its_own_template() {
        for route in ROUTES {
            let path = route
                .path()
                .replace("{user_id}", "u1")
                .replace("{task_id}", "t1")
                .replace("{session_id}", "s1");
            let RouteMatch::Found(found, params) = match_route(&route.method(), &path) else {
                panic!("{route:?} did not match {path}");
            };
            assert_eq!(found, route);
            assert_eq!(params.user_id, "u1");
        }
    }

    #[test]
    fn a_wrong_method_lists_the_allowed_ones() {
        assert_eq!(
            match_route(&Method::DELETE, "/api/u1/tasks"),
            RouteMatch::MethodNotAllowed(vec![Method::GET, Method::POST])
        );
        assert_eq!(
            match_route(&Method::GET, "/api/u1/tasks/t1/complete"),
            RouteMatch::MethodNotAllowed(vec![Method::PATCH])
        );
        for path in ["/api/u1/sessions", "/api/u1/sessions/s1"] {
            assert_eq!(
                match_route(&Method::GET, path),
                RouteMatch::MethodNotAllowed(vec![Method::DELETE]),
                "{path}"
            );
        }
    }

    #[test]
    fn a_session_id_is_taken_from_the_raw_path_as_it_is() {
        let RouteMatch::Found(route, params) =
            match_route(&Method::DELETE, "/api/u1/sessions/a%2Fb%20c")
        else {
            panic!("no match");
        };
        assert_eq!(route, Route::RevokeSession);
        assert_eq!(params.session_id.as_deref(), Some("a%2Fb%20c"));
        assert_eq!(params.task_id, None);
        let RouteMatch::Found(route, params) = match_route(&Method::DELETE, "/api/u1/sessions")
        else {
            panic!("no match");
        };
        assert_eq!((route, params.session_id), (Route::RevokeSessions, None));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "/api",
            "/api//tasks",
            "/api/u1/tasks/",
            "/api/u1/task",
            "/x/u1/tasks",
            "/api/u1/tasks/t1/",
            "/api/u1/tasks/t1/other",
            "/api/u1/tasks/t1/complete/",
            "/api/u1/tasks/t1/complete/x/y",
            "api/u1/tasks",
            "/api/u1/sessions/",
            "/api/u1/sessions/s1/",
            "/api/u1/sessions/s1/x",
            "/api//sessions",
        ] {
            assert_eq!(
                match_route(&Method::GET, path),
                RouteMatch::NotFound,
                "{path}"
            );
        }
    }
}
