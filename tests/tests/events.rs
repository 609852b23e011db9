//! The `events/` fixtures, as documentation of the API: each one is an API Gateway HTTP API
//! (payload format 2.0) event, exactly as API Gateway would send it to a route's Lambda function.
//! Every test loads fixtures with `lambda_http::request::from_str`, puts a freshly minted token
//! (and, for the task routes, the id of a task it has just created) where the placeholders are,
//! and runs the real handler of the fixture's route: the function its Lambda binary runs.
//! Each fixture goes in as its Lambda function receives it: the event's JSON text through
//! `taskgate::lambda::invoke` (the check in front of `lambda_http`'s conversion) and out in API
//! Gateway's response format, so the fixtures `lambda_http` alone cannot convert run too.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::http::Method;
use lambda_http::{Body, Context, LambdaEvent, Request, Response};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use taskgate::auth::AuthError;
use taskgate::http::routes::{ROUTES, RouteMatch, match_route};
use taskgate::{Route, handlers, lambda};
use taskgate_tests::{
    OTHER_USER, SECRET, TOKEN_PLACEHOLDER, TestApp, TestResponse, USER, claims_for, hs256_token,
    now, repo_path, spawn_app, token_for,
};

/// Where the task routes' fixtures carry a task id: the test creates a task and puts its id here.
const TASK_ID_PLACEHOLDER: &str = "REPLACE_WITH_TASK_ID";

/// The fixtures `lambda_http` 1.x cannot turn into a request (it panics), each with the reason:
/// only `taskgate::lambda`'s check in front of it makes them a 400.
const UNCONVERTIBLE: [(Route, &str); 3] = [
    (Route::CreateTask, "body-not-base64"),
    (Route::GetTask, "host-not-a-host"),
    (Route::ListTasks, "query-with-raw-bytes"),
];

/// The fixtures every route must have.
const REQUIRED: [&str; 4] = ["valid", "missing-token", "bad-token", "other-user"];

/// Every fixture and the status its route answers with (after the test created one task).
/// A fixture missing from this table fails `every_fixture_answers_with_its_documented_status`.
const DOCUMENTED: &[(Route, &str, u16)] = &[
    (Route::ListTasks, "valid", 200),
    (Route::ListTasks, "pending-first-ten", 200),
    (Route::ListTasks, "limit-zero", 400),
    (Route::ListTasks, "unknown-status", 400),
    (Route::ListTasks, "garbage-cursor", 400),
    (Route::ListTasks, "query-with-raw-bytes", 400),
    (Route::ListTasks, "missing-token", 401),
    (Route::ListTasks, "bad-token", 401),
    (Route::ListTasks, "other-user", 403),
    (Route::CreateTask, "valid", 201),
    (Route::CreateTask, "base64-body", 201),
    (Route::CreateTask, "body-not-base64", 400),
    (Route::CreateTask, "invalid-utf8-body", 400),
    (Route::CreateTask, "broken-json", 400),
    (Route::CreateTask, "unknown-field", 400),
    (Route::CreateTask, "empty-title", 400),
    (Route::CreateTask, "title-too-long", 400),
    (Route::CreateTask, "wrong-type", 400),
    (Route::CreateTask, "missing-content-type", 415),
    (Route::CreateTask, "text-plain", 415),
    (Route::CreateTask, "missing-token", 401),
    (Route::CreateTask, "bad-token", 401),
    (Route::CreateTask, "other-user", 403),
    (Route::CreateTask, "named-stage", 201),
    (Route::GetTask, "valid", 200),
    (Route::GetTask, "not-found", 404),
    (Route::GetTask, "named-stage", 200),
    (Route::GetTask, "host-not-a-host", 400),
    (Route::GetTask, "missing-token", 401),
    (Route::GetTask, "bad-token", 401),
    (Route::GetTask, "other-user", 403),
    (Route::UpdateTask, "valid", 200),
    (Route::UpdateTask, "stale-if-match", 412),
    (Route::UpdateTask, "not-found", 404),
    (Route::UpdateTask, "broken-json", 400),
    (Route::UpdateTask, "unknown-field", 400),
    (Route::UpdateTask, "empty-title", 400),
    (Route::UpdateTask, "title-too-long", 400),
    (Route::UpdateTask, "wrong-type", 400),
    (Route::UpdateTask, "missing-content-type", 415),
    (Route::UpdateTask, "text-plain", 415),
    (Route::UpdateTask, "missing-token", 401),
    (Route::UpdateTask, "bad-token", 401),
    (Route::UpdateTask, "other-user", 403),
    (Route::DeleteTask, "valid", 204),
    (Route::DeleteTask, "not-found", 404),
    (Route::DeleteTask, "missing-token", 401),
    (Route::DeleteTask, "bad-token", 401),
    (Route::DeleteTask, "other-user", 403),
    (Route::CompleteTask, "valid", 200),
    (Route::CompleteTask, "not-found", 404),
    (Route::CompleteTask, "missing-token", 401),
    (Route::CompleteTask, "bad-token", 401),
    (Route::CompleteTask, "other-user", 403),
    (Route::RevokeSessions, "valid", 204),
    (Route::RevokeSessions, "missing-token", 401),
    (Route::RevokeSessions, "bad-token", 401),
    (Route::RevokeSessions, "other-user", 403),
    (Route::RevokeSession, "valid", 204),
    (Route::RevokeSession, "percent-encoded-session-id", 204),
    (Route::RevokeSession, "session-id-too-long", 400),
    (Route::RevokeSession, "session-id-not-ascii", 400),
    (Route::RevokeSession, "missing-token", 401),
    (Route::RevokeSession, "bad-token", 401),
    (Route::RevokeSession, "other-user", 403),
];

// --- loading fixtures -----------------------------------------------------------------------

/// The fixture's text, placeholders included.
fn fixture_text(route: Route, name: &str) -> String {
    let path = repo_path(&format!("events/{}/{name}.json", route.function_name()));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The fixture as JSON, placeholders included.
fn fixture_json(route: Route, name: &str) -> Value {
    serde_json::from_str(&fixture_text(route, name))
        .unwrap_or_else(|e| panic!("{}/{name} is not JSON: {e}", route.function_name()))
}

/// The fixture as the `Request` its Lambda function receives, with `token` and `task_id` put
/// where the placeholders are.
fn load(route: Route, name: &str, token: &str, task_id: &str) -> Request {
    let text = fixture_text(route, name)
        .replace(TOKEN_PLACEHOLDER, token)
        .replace(TASK_ID_PLACEHOLDER, task_id);
    lambda_http::request::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{}/{name} is not an API Gateway event: {e}",
            route.function_name()
        )
    })
}

/// The names of the fixtures in a route's folder, without `.json`.
fn fixture_names(route: Route) -> BTreeSet<String> {
    let dir = repo_path(&format!("events/{}", route.function_name()));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return BTreeSet::new();
    };
    entries
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .map(|name| match name.strip_suffix(".json") {
            Some(stem) => stem.to_string(),
            None => panic!(
                "events/{}/{name} is not a .json fixture",
                route.function_name()
            ),
        })
        .collect()
}

/// Every fixture: its route (from its folder) and its name.
fn all_fixtures() -> Vec<(Route, String)> {
    ROUTES
        .into_iter()
        .flat_map(|route| {
            fixture_names(route)
                .into_iter()
                .map(move |name| (route, name))
        })
        .collect()
}

/// An app on the real handlers, and one task of [`USER`]'s created by the create-task handler
/// from `events/create-task/valid.json`.
async fn app_with_a_task() -> (TestApp, Value) {
    let app = spawn_app().await;
    let created = run(&app, Route::CreateTask, "valid", "").await;
    assert_eq!(created.status, 201, "{}", created.body);
    (app, created.body)
}

/// Runs a fixture as its Lambda function does, with a fresh token for [`USER`].
async fn run(app: &TestApp, route: Route, name: &str, task_id: &str) -> TestResponse {
    let event = fixture_text(route, name)
        .replace(TOKEN_PLACEHOLDER, &token_for(USER))
        .replace(TASK_ID_PLACEHOLDER, task_id);
    invoke(app, route, event).await
}

/// Sends an event's JSON text through `taskgate::lambda::invoke` and the route's handler, as
/// the function's binary does, and reads the answer back from API Gateway's response format.
async fn invoke(app: &TestApp, route: Route, event: String) -> TestResponse {
    let event = RawValue::from_string(event).expect("the event is JSON");
    let event = LambdaEvent::new(event, Context::default());
    let answer = lambda::invoke(event, |request| handlers::handle(&app.app, route, request)).await;
    from_api_gateway(&serde_json::to_string(&answer).expect("the answer serializes"))
}

/// An API Gateway HTTP API response (payload 2.0) as the response it stands for.
fn from_api_gateway(answer: &str) -> TestResponse {
    let answer: ApiGatewayV2httpResponse =
        serde_json::from_str(answer).expect("an API Gateway v2 response");
    let body = match answer.body {
        Some(Body::Text(text)) if answer.is_base64_encoded => {
            Body::Binary(STANDARD.decode(text).expect("a base64 body"))
        }
        Some(body) => body,
        None => Body::Empty,
    };
    let mut response = Response::new(body);
    *response.status_mut() = u16::try_from(answer.status_code)
        .ok()
        .and_then(|status| status.try_into().ok())
        .expect("an HTTP status");
    *response.headers_mut() = answer.headers;
    response.into()
}

/// Runs a fixture that names a task, with the id of `task`.
async fn run_on(app: &TestApp, route: Route, name: &str, task: &Value) -> TestResponse {
    run(app, route, name, id_of(task)).await
}

fn id_of(task: &Value) -> &str {
    task["id"].as_str().expect("task id")
}

/// [`USER`]'s task as the API shows it now (through the get-task fixture).
async fn current(app: &TestApp, task: &Value) -> Value {
    let response = run_on(app, Route::GetTask, "valid", task).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// The ids of [`USER`]'s tasks, newest first (through the list-tasks fixture).
async fn listed_ids(app: &TestApp) -> Vec<String> {
    let response = run(app, Route::ListTasks, "valid", "").await;
    assert_eq!(response.status, 200, "{}", response.body);
    ids(&response.body["items"])
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|task| id_of(task).to_string())
        .collect()
}

// --- the fixtures themselves ------------------------------------------------------------------

#[test]
fn every_route_has_valid_missing_token_bad_token_and_other_user_fixtures() {
    for route in ROUTES {
        let names = fixture_names(route);
        for required in REQUIRED {
            assert!(
                names.contains(required),
                "events/{}/{required}.json is missing: every route needs {REQUIRED:?}",
                route.function_name()
            );
        }
    }
}

#[test]
fn every_folder_of_events_is_a_route_of_the_route_table() {
    // `authorizer/` holds the Lambda authorizer's requests (tests/tests/authorizer.rs).
    let functions: BTreeSet<&str> = ROUTES
        .iter()
        .map(|r| r.function_name())
        .chain(["authorizer"])
        .collect();
    let entries = std::fs::read_dir(repo_path("events")).expect("events/");
    for entry in entries {
        let entry = entry.expect("directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().expect("file type").is_dir() {
            assert!(
                functions.contains(name.as_str()),
                "events/{name}/ is not a route's function nor the authorizer"
            );
        } else {
            assert_eq!(
                name, "README.md",
                "events/ holds only route folders and README.md"
            );
        }
    }
}

#[test]
fn every_fixture_is_an_http_api_v2_event_for_the_route_of_its_folder() {
    for (route, name) in all_fixtures() {
        let at = format!("events/{}/{name}.json", route.function_name());
        let event = fixture_json(route, &name);
        let context = &event["requestContext"];

        assert_eq!(event["version"], "2.0", "{at}");
        assert_eq!(event["routeKey"], route.route_key(), "{at}");
        assert_eq!(context["routeKey"], route.route_key(), "{at}");
        assert_eq!(context["http"]["method"], route.method().as_str(), "{at}");
        assert_eq!(context["http"]["path"], event["rawPath"], "{at}");
        assert_eq!(context["http"]["protocol"], "HTTP/1.1", "{at}");
        // The `$default` stage, except where a fixture is about a named stage.
        let stage = context["stage"].as_str().expect("stage");
        if name == "named-stage" {
            assert_ne!(stage, "$default", "{at}");
        } else {
            assert_eq!(stage, "$default", "{at}");
        }
        for field in [
            "accountId",
            "apiId",
            "domainName",
            "domainPrefix",
            "requestId",
        ] {
            assert!(
                context[field].as_str().is_some_and(|v| !v.is_empty()),
                "{at}: requestContext.{field}"
            );
        }
        for field in ["sourceIp", "userAgent"] {
            assert!(context["http"][field].is_string(), "{at}: http.{field}");
        }
        assert!(context["time"].is_string(), "{at}: requestContext.time");
        assert!(
            context["timeEpoch"].is_u64(),
            "{at}: requestContext.timeEpoch"
        );

        // Headers: lower-case names, as API Gateway sends them; the host is the API's domain.
        let headers = event["headers"].as_object().expect("headers");
        for header in headers.keys() {
            assert_eq!(
                *header,
                header.to_lowercase(),
                "{at}: header names are lower-case"
            );
        }
        let converts = !UNCONVERTIBLE.contains(&(route, name.as_str()));
        if converts {
            assert_eq!(event["headers"]["host"], context["domainName"], "{at}");
        }
        assert_eq!(
            event["headers"]["user-agent"], context["http"]["userAgent"],
            "{at}"
        );
        assert!(
            headers.contains_key("x-amzn-trace-id"),
            "{at}: x-amzn-trace-id"
        );
        assert_eq!(event["headers"]["x-forwarded-proto"], "https", "{at}");

        // The raw path (after a named stage) is one of this route's paths, and pathParameters
        // say the same.
        let raw_path = event["rawPath"].as_str().expect("rawPath");
        let stage_prefix = format!("/{stage}");
        let raw_path = match stage {
            "$default" => raw_path,
            _ => raw_path.strip_prefix(&stage_prefix).expect("stage prefix"),
        };
        let RouteMatch::Found(found, params) = match_route(&route.method(), raw_path) else {
            panic!("{at}: rawPath {raw_path} is not a path of {route:?}");
        };
        assert_eq!(found, route, "{at}");
        let mut expected_params = json!({ "user_id": params.user_id });
        if let Some(task_id) = params.task_id {
            expected_params["task_id"] = json!(task_id);
        }
        if let Some(session_id) = params.session_id {
            expected_params["session_id"] = json!(session_id);
        }
        assert_eq!(event["pathParameters"], expected_params, "{at}");

        // The query string and its parsed form agree.
        let raw_query = event["rawQueryString"].as_str().expect("rawQueryString");
        let raw_pairs: BTreeSet<String> = raw_query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(str::to_string)
            .collect();
        let parsed_pairs: BTreeSet<String> = event["queryStringParameters"]
            .as_object()
            .map(|params| {
                params
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().expect("query value")))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(raw_pairs, parsed_pairs, "{at}");

        // A body comes with its length; a base64 one decodes.
        let is_base64 = event["isBase64Encoded"].as_bool().expect("isBase64Encoded");
        match event["body"].as_str() {
            None => {
                assert!(!is_base64, "{at}");
                assert!(!headers.contains_key("content-length"), "{at}");
            }
            Some(_) if !converts => {}
            Some(body) => {
                let bytes = if is_base64 {
                    STANDARD.decode(body).expect("base64 body")
                } else {
                    body.as_bytes().to_vec()
                };
                assert_eq!(
                    event["headers"]["content-length"],
                    bytes.len().to_string(),
                    "{at}"
                );
            }
        }

        // And lambda_http reads it as the request the function sees (unless it cannot).
        if converts {
            let request = load(route, &name, "token", "01JDQ8ZV6X3M9R2T5W7Y0B4C8N");
            assert_eq!(*request.method(), route.method(), "{at}");
        }
    }
}

#[test]
fn fixtures_carry_the_token_placeholder_unless_they_are_about_the_token() {
    let placeholder = format!("Bearer {TOKEN_PLACEHOLDER}");
    for (route, name) in all_fixtures() {
        let at = format!("events/{}/{name}.json", route.function_name());
        let authorization = &fixture_json(route, &name)["headers"]["authorization"];
        match name.as_str() {
            "missing-token" => assert!(authorization.is_null(), "{at}: no authorization"),
            "bad-token" => {
                let value = authorization.as_str().expect("authorization");
                assert!(value.starts_with("Bearer "), "{at}");
                assert!(
                    !value.contains(TOKEN_PLACEHOLDER),
                    "{at}: a static bad token"
                );
            }
            _ => assert_eq!(*authorization, placeholder, "{at}"),
        }
    }
}

#[test]
fn other_user_fixtures_name_the_other_user_in_the_path() {
    for route in ROUTES {
        let event = fixture_json(route, "other-user");
        assert_eq!(event["pathParameters"]["user_id"], OTHER_USER, "{route:?}");
        let every_other = fixture_names(route)
            .into_iter()
            .filter(|name| name != "other-user");
        for name in every_other {
            let event = fixture_json(route, &name);
            assert_eq!(event["pathParameters"]["user_id"], USER, "{route:?} {name}");
        }
    }
}

#[tokio::test]
async fn every_fixture_answers_with_its_documented_status() {
    let documented: BTreeSet<(&str, &str)> = DOCUMENTED
        .iter()
        .map(|(route, name, _)| (route.function_name(), *name))
        .collect();
    for (route, name) in all_fixtures() {
        assert!(
            documented.contains(&(route.function_name(), name.as_str())),
            "events/{}/{name}.json has no documented status in DOCUMENTED",
            route.function_name()
        );
    }
    for &(route, name, status) in DOCUMENTED {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, name, &task).await;
        let at = format!("events/{}/{name}.json", route.function_name());
        assert_eq!(response.status, status, "{at}: {}", response.body);
        if status >= 400 {
            response.assert_problem(status);
        }
    }
}

// --- events lambda_http cannot convert, and panics --------------------------------------------

/// An event of `route`'s `valid` fixture, changed by `edit`, as JSON text with a fresh token.
fn edited_valid(route: Route, task_id: &str, edit: impl FnOnce(&mut Value)) -> String {
    let text = fixture_text(route, "valid")
        .replace(TOKEN_PLACEHOLDER, &token_for(USER))
        .replace(TASK_ID_PLACEHOLDER, task_id);
    let mut event: Value = serde_json::from_str(&text).expect("JSON");
    edit(&mut event);
    event.to_string()
}

#[test]
fn lambda_http_alone_cannot_convert_the_unconvertible_fixtures() {
    for (route, name) in UNCONVERTIBLE {
        let text = fixture_text(route, name).replace(TOKEN_PLACEHOLDER, "token");
        let converted = std::panic::catch_unwind(|| lambda_http::request::from_str(&text));
        assert!(
            !matches!(converted, Ok(Ok(_))),
            "events/{}/{name}.json: lambda_http converts it, so it tests nothing",
            route.function_name()
        );
    }
}

#[tokio::test]
async fn a_body_flagged_base64_that_is_not_base64_is_400_and_creates_nothing() {
    let app = spawn_app().await;
    let response = run(&app, Route::CreateTask, "body-not-base64", "").await;
    response.assert_problem_kind(400, "invalid-body", "create-task/body-not-base64");
    assert!(response.body["detail"].as_str().unwrap().contains("base64"));
    assert!(listed_ids(&app).await.is_empty());
}

#[tokio::test]
async fn a_host_that_is_not_a_host_is_400() {
    let (app, task) = app_with_a_task().await;
    let response = run_on(&app, Route::GetTask, "host-not-a-host", &task).await;
    response.assert_problem_kind(400, "invalid-host", "get-task/host-not-a-host");
}

#[tokio::test]
async fn raw_query_bytes_are_percent_encoded_and_reach_the_handler() {
    let app = spawn_app().await;
    // `status="pending"`: the quotes reach the handler, which refuses that status.
    let response = run(&app, Route::ListTasks, "query-with-raw-bytes", "").await;
    response.assert_problem_kind(400, "invalid-query", "list-tasks/query-with-raw-bytes");
    assert!(response.body["detail"].as_str().unwrap().contains("status"));

    // Raw bytes in a parameter the handler ignores leave the others as they were sent.
    for title in ["One", "Two"] {
        app.create_task(USER, title).await;
    }
    let event = edited_valid(Route::ListTasks, "", |event| {
        event["rawQueryString"] = json!("limit=1&note=<a \"b\">\u{1}\u{7f}#x");
    });
    let response = invoke(&app, Route::ListTasks, event).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.body["items"].as_array().unwrap().len(),
        1,
        "limit=1"
    );
}

#[tokio::test]
async fn a_json_body_that_is_not_utf8_is_400_and_creates_nothing() {
    let event = fixture_json(Route::CreateTask, "invalid-utf8-body");
    let bytes = STANDARD.decode(event["body"].as_str().unwrap()).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture's body is not UTF-8"
    );

    let app = spawn_app().await;
    let response = run(&app, Route::CreateTask, "invalid-utf8-body", "").await;
    response.assert_problem_kind(400, "invalid-body", "create-task/invalid-utf8-body");
    assert!(response.body["detail"].as_str().unwrap().contains("UTF-8"));
    assert!(listed_ids(&app).await.is_empty());
}

#[tokio::test]
async fn no_character_in_the_host_scheme_path_or_query_makes_a_500() {
    let (app, task) = app_with_a_task().await;
    let id = id_of(&task);
    let ascii = (0..=0x7f_u8).map(char::from);
    for c in ascii.chain(['é', '\u{200b}', '\u{ff0e}', '\u{fffd}']) {
        for part in ["host", "scheme", "path", "path end", "query"] {
            let event = edited_valid(Route::GetTask, id, |e| {
                let (field, value) = match part {
                    "host" => (&mut e["headers"]["host"], format!("api{c}x.example.com")),
                    "scheme" => (&mut e["headers"]["x-forwarded-proto"], format!("ht{c}tp")),
                    "path" => (&mut e["rawPath"], format!("{c}/api/{USER}/tasks/{id}")),
                    "path end" => (&mut e["rawPath"], format!("/api/{USER}/tasks/{id}{c}")),
                    _ => (&mut e["rawQueryString"], format!("a={c}&b{c}=1")),
                };
                *field = json!(value);
            });
            let response = invoke(&app, Route::GetTask, event).await;
            assert!(
                response.status < 500,
                "{part} with {c:?}: {} {}",
                response.status,
                response.body
            );
            if response.status >= 400 {
                response.assert_problem(response.status);
            }
        }
    }
}

#[tokio::test]
async fn a_path_and_query_over_16_kib_is_414() {
    let app = spawn_app().await;
    let event = edited_valid(Route::ListTasks, "", |e| {
        e["rawQueryString"] = json!(format!("limit=1&pad={}", "\u{1}".repeat(16 * 1024)));
    });
    let response = invoke(&app, Route::ListTasks, event).await;
    response.assert_problem_kind(414, "uri-too-long", "a 16 KiB query");
}

#[tokio::test]
async fn an_event_that_is_not_an_http_api_event_is_400() {
    let app = spawn_app().await;
    for event in [
        json!({}).to_string(),
        json!([1, 2]).to_string(),
        edited_valid(Route::ListTasks, "", |e| {
            e["headers"]["accept"] = json!("a\u{1}b");
        }),
        edited_valid(Route::ListTasks, "", |e| {
            e["requestContext"]["http"]["method"] = json!("GE T");
        }),
    ] {
        let response = invoke(&app, Route::ListTasks, event).await;
        response.assert_problem_kind(400, "invalid-event", "not an HTTP API event");
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_a_500_problem() {
    let event = fixture_text(Route::ListTasks, "valid");
    let event = RawValue::from_string(event).expect("JSON");
    let answer = lambda::invoke(LambdaEvent::new(event, Context::default()), |_| async {
        panic!("a bug in a handler")
    })
    .await;
    let response = from_api_gateway(&serde_json::to_string(&answer).unwrap());
    response.assert_problem_kind(500, "internal", "a panicking handler");
    assert!(
        !response.body.to_string().contains("a bug"),
        "no panic message to the caller"
    );
}

// --- list-tasks -------------------------------------------------------------------------------

#[tokio::test]
async fn list_tasks_returns_the_users_tasks_newest_first() {
    let (app, first) = app_with_a_task().await;
    let second = app.create_task(USER, "Second").await;
    app.create_task(OTHER_USER, "Not yours").await;

    let response = run(&app, Route::ListTasks, "valid", "").await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        ids(&response.body["items"]),
        [id_of(&second), id_of(&first)]
    );
    assert_eq!(response.body["items"][1], first);
    assert_eq!(response.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn list_tasks_filters_by_status_and_pages_by_limit() {
    let (app, done) = app_with_a_task().await;
    let completed = run_on(&app, Route::CompleteTask, "valid", &done).await;
    assert_eq!(completed.body["completed"], true);
    for n in 0..12 {
        app.create_task(USER, &format!("Pending {n}")).await;
    }

    let response = run(&app, Route::ListTasks, "pending-first-ten", "").await;

    assert_eq!(response.status, 200, "{}", response.body);
    let items = response.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 10, "limit=10");
    assert!(items.iter().all(|task| task["completed"] == false));
    assert!(!ids(&response.body["items"]).contains(&id_of(&done).to_string()));
    assert!(
        response.body["next_cursor"].is_string(),
        "two more pending tasks remain"
    );
}

#[tokio::test]
async fn list_tasks_with_limit_zero_is_400() {
    let app = spawn_app().await;
    let response = run(&app, Route::ListTasks, "limit-zero", "").await;
    response.assert_problem_kind(400, "invalid-query", "list-tasks/limit-zero");
    assert!(response.body["detail"].as_str().unwrap().contains("limit"));
}

#[tokio::test]
async fn list_tasks_with_an_unknown_status_is_400() {
    let app = spawn_app().await;
    let response = run(&app, Route::ListTasks, "unknown-status", "").await;
    response.assert_problem_kind(400, "invalid-query", "list-tasks/unknown-status");
    assert!(response.body["detail"].as_str().unwrap().contains("status"));
}

#[tokio::test]
async fn list_tasks_with_a_cursor_the_api_never_returned_is_400() {
    let (app, _) = app_with_a_task().await;
    let response = run(&app, Route::ListTasks, "garbage-cursor", "").await;
    response.assert_problem_kind(400, "invalid-cursor", "list-tasks/garbage-cursor");
}

// --- create-task ------------------------------------------------------------------------------

#[tokio::test]
async fn create_task_returns_201_with_the_task_its_location_and_etag() {
    let app = spawn_app().await;

    let response = run(&app, Route::CreateTask, "valid", "").await;

    assert_eq!(response.status, 201, "{}", response.body);
    let task = &response.body;
    let id = id_of(task);
    assert_eq!(id.len(), 26, "a ULID");
    assert_eq!(task["user_id"], USER);
    assert_eq!(task["title"], "Write the README");
    assert_eq!(task["description"], "two set-up commands");
    assert_eq!(task["completed"], false);
    assert_eq!(task["version"], 1);
    assert_eq!(task["created_at"], task["updated_at"]);
    assert!(task["created_at"].as_str().unwrap().ends_with('Z'), "UTC");
    assert_eq!(response.header("etag"), Some("\"1\""));
    assert_eq!(
        response.header("location"),
        Some(format!("/api/{USER}/tasks/{id}").as_str())
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(listed_ids(&app).await, [id]);
}

#[tokio::test]
async fn create_task_accepts_a_base64_encoded_body() {
    let app = spawn_app().await;

    let response = run(&app, Route::CreateTask, "base64-body", "").await;

    assert_eq!(response.status, 201, "{}", response.body);
    assert_eq!(response.body["title"], "Renew passport");
    assert_eq!(response.body["description"], Value::Null);
    assert_eq!(response.body["user_id"], USER);
}

// --- bad bodies (create-task and update-task) ----------------------------------------------------

/// Runs a bad-body fixture on create and on update, asserts the problem, and checks that
/// nothing was created or changed.
async fn assert_bad_body(name: &str, status: u16, kind: &str) -> Vec<TestResponse> {
    let mut responses = Vec::new();
    for route in [Route::CreateTask, Route::UpdateTask] {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, name, &task).await;
        response.assert_problem_kind(status, kind, &format!("{route:?} {name}"));
        assert_eq!(listed_ids(&app).await, [id_of(&task)], "nothing created");
        assert_eq!(current(&app, &task).await, task, "nothing changed");
        responses.push(response);
    }
    responses
}

#[tokio::test]
async fn a_broken_json_body_is_400() {
    assert_bad_body("broken-json", 400, "invalid-body").await;
}

#[tokio::test]
async fn an_unknown_field_in_the_body_is_400() {
    for response in assert_bad_body("unknown-field", 400, "invalid-body").await {
        let detail = response.body["detail"].as_str().unwrap();
        assert!(detail.contains("priority"), "{detail}");
    }
}

#[tokio::test]
async fn an_empty_title_is_400() {
    for response in assert_bad_body("empty-title", 400, "invalid-task").await {
        let detail = response.body["detail"].as_str().unwrap();
        assert!(detail.contains("title"), "{detail}");
    }
}

#[tokio::test]
async fn a_title_of_201_characters_is_400() {
    for response in assert_bad_body("title-too-long", 400, "invalid-task").await {
        let detail = response.body["detail"].as_str().unwrap();
        assert!(detail.contains("200") && detail.contains("201"), "{detail}");
    }
}

#[tokio::test]
async fn a_title_of_the_wrong_type_is_400() {
    assert_bad_body("wrong-type", 400, "invalid-body").await;
}

#[tokio::test]
async fn a_body_without_content_type_is_415() {
    assert_bad_body("missing-content-type", 415, "unsupported-media-type").await;
}

#[tokio::test]
async fn a_text_plain_body_is_415() {
    assert_bad_body("text-plain", 415, "unsupported-media-type").await;
}

// --- get-task ---------------------------------------------------------------------------------

#[tokio::test]
async fn get_task_returns_the_task_with_its_etag() {
    let (app, task) = app_with_a_task().await;

    let response = run_on(&app, Route::GetTask, "valid", &task).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body, task);
    assert_eq!(response.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn under_a_named_stage_location_keeps_the_stage() {
    let app = spawn_app().await;
    let response = run(&app, Route::CreateTask, "named-stage", "").await;
    assert_eq!(response.status, 201, "{}", response.body);
    let location = format!("/prod/api/{USER}/tasks/{}", id_of(&response.body));
    assert_eq!(response.header("location"), Some(location.as_str()));
    let valid = run(&app, Route::CreateTask, "valid", "").await;
    let location = format!("/api/{USER}/tasks/{}", id_of(&valid.body));
    assert_eq!(valid.header("location"), Some(location.as_str()));
}

#[tokio::test]
async fn under_a_named_stage_the_handler_matches_the_path_after_the_stage() {
    let (app, task) = app_with_a_task().await;
    let event = fixture_json(Route::GetTask, "named-stage");
    assert!(event["rawPath"].as_str().unwrap().starts_with("/prod/api/"));

    let response = run_on(&app, Route::GetTask, "named-stage", &task).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body, task);
}

#[tokio::test]
async fn a_task_that_does_not_exist_is_404_on_every_task_route() {
    for route in [
        Route::GetTask,
        Route::UpdateTask,
        Route::DeleteTask,
        Route::CompleteTask,
    ] {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, "not-found", &task).await;
        response.assert_problem_kind(404, "not-found", &format!("{route:?}"));
        assert_eq!(current(&app, &task).await, task, "{route:?}");
        assert_eq!(
            listed_ids(&app).await,
            [id_of(&task)],
            "{route:?}: never an upsert"
        );
    }
}

// --- update-task ------------------------------------------------------------------------------

#[tokio::test]
async fn update_task_replaces_title_and_description_and_sets_completed() {
    let (app, task) = app_with_a_task().await;

    let response = run_on(&app, Route::UpdateTask, "valid", &task).await;

    assert_eq!(response.status, 200, "{}", response.body);
    let updated = &response.body;
    assert_eq!(updated["id"], task["id"]);
    assert_eq!(updated["user_id"], USER);
    assert_eq!(updated["title"], "Write the README and the Makefile");
    assert_eq!(updated["description"], "make dev, make test");
    assert_eq!(updated["completed"], true);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], task["created_at"]);
    assert_eq!(response.header("etag"), Some("\"2\""));
    assert_eq!(current(&app, &task).await, *updated);
}

#[tokio::test]
async fn update_task_with_a_stale_if_match_is_412_and_changes_nothing() {
    let (app, task) = app_with_a_task().await;

    let response = run_on(&app, Route::UpdateTask, "stale-if-match", &task).await;

    response.assert_problem_kind(412, "precondition-failed", "update-task/stale-if-match");
    assert_eq!(current(&app, &task).await, task);
}

// --- delete-task ------------------------------------------------------------------------------

#[tokio::test]
async fn delete_task_returns_204_and_the_task_is_gone() {
    let (app, task) = app_with_a_task().await;

    let response = run_on(&app, Route::DeleteTask, "valid", &task).await;

    assert_eq!(response.status, 204);
    assert_eq!(response.body, Value::Null, "no body");
    let gone = run_on(&app, Route::GetTask, "valid", &task).await;
    gone.assert_problem_kind(404, "not-found", "get-task after delete-task");
    let again = run_on(&app, Route::DeleteTask, "valid", &task).await;
    again.assert_problem_kind(404, "not-found", "delete-task after delete-task");
    assert!(listed_ids(&app).await.is_empty());
}

// --- complete-task ----------------------------------------------------------------------------

#[tokio::test]
async fn complete_task_toggles_completion_each_time() {
    let (app, task) = app_with_a_task().await;

    let first = run_on(&app, Route::CompleteTask, "valid", &task).await;
    let second = run_on(&app, Route::CompleteTask, "valid", &task).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["completed"], true);
    assert_eq!(first.body["version"], 2);
    assert_eq!(first.body["title"], task["title"]);
    assert_eq!(first.header("etag"), Some("\"2\""));
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["completed"], false);
    assert_eq!(second.body["version"], 3);
}

// --- revoke-sessions and revoke-session -------------------------------------------------------

/// The session id of the `revoke-session` fixtures (but the bad ones).
const SESSION_ID: &str = "Yq3bN7vK2xW9mT4pR8sL6dF1hJ5cG0aZ";

/// A token for [`USER`] issued at `iat`, for session `sid`.
fn token_of_session(iat: i64, sid: &str) -> String {
    let mut claims = claims_for(USER);
    claims["iat"] = json!(iat);
    claims["sid"] = json!(sid);
    hs256_token(&claims, SECRET)
}

/// The list fixture's status with `token`.
async fn list_with(app: &TestApp, token: &str) -> u16 {
    let event = fixture_text(Route::ListTasks, "valid").replace(TOKEN_PLACEHOLDER, token);
    invoke(app, Route::ListTasks, event).await.status
}

#[tokio::test]
async fn revoke_sessions_refuses_every_token_issued_before_it() {
    let (app, _) = app_with_a_task().await;
    let earlier = token_of_session(now() - 1, "laptop");
    assert_eq!(list_with(&app, &earlier).await, 200);

    let response = run(&app, Route::RevokeSessions, "valid", "").await;

    assert_eq!(response.status, 204, "{}", response.body);
    assert_eq!(response.body, Value::Null, "no body");
    response.assert_standard_headers();
    let refused = invoke(
        &app,
        Route::ListTasks,
        fixture_text(Route::ListTasks, "valid").replace(TOKEN_PLACEHOLDER, &earlier),
    )
    .await;
    refused.assert_problem_kind(401, "unauthorized", "a token issued before the revocation");
    assert_eq!(refused.body["detail"], "invalid token");
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    let later = token_of_session(now() + 1, "laptop");
    assert_eq!(list_with(&app, &later).await, 200, "issued after it");
    let theirs = app
        .call(Method::GET, &format!("/api/{OTHER_USER}/tasks"))
        .token(&token_for(OTHER_USER))
        .send()
        .await;
    assert_eq!(theirs.status, 200, "another user is not signed out");
}

#[tokio::test]
async fn revoke_session_refuses_that_session_only_and_is_idempotent() {
    let (app, _) = app_with_a_task().await;
    let iat = now() - 1;
    for _ in 0..2 {
        let response = run(&app, Route::RevokeSession, "valid", "").await;
        assert_eq!(response.status, 204, "{}", response.body);
    }
    assert_eq!(
        list_with(&app, &token_of_session(iat, SESSION_ID)).await,
        401
    );
    assert_eq!(
        list_with(&app, &token_of_session(now() + 1, SESSION_ID)).await,
        401
    );
    assert_eq!(
        list_with(&app, &token_of_session(iat, "another")).await,
        200
    );
    assert_eq!(list_with(&app, &token_for(USER)).await, 200, "no sid");
}

#[tokio::test]
async fn a_session_id_is_taken_from_the_path_as_it_is_never_decoded() {
    let (app, _) = app_with_a_task().await;
    let response = run(&app, Route::RevokeSession, "percent-encoded-session-id", "").await;
    assert_eq!(response.status, 204, "{}", response.body);
    let iat = now() - 1;
    assert_eq!(list_with(&app, &token_of_session(iat, "a%2Fb")).await, 401);
    assert_eq!(list_with(&app, &token_of_session(iat, "a/b")).await, 200);
}

#[tokio::test]
async fn a_session_id_that_is_not_1_to_255_visible_ascii_characters_is_400() {
    for name in ["session-id-too-long", "session-id-not-ascii"] {
        let (app, _) = app_with_a_task().await;
        let response = run(&app, Route::RevokeSession, name, "").await;
        response.assert_problem_kind(400, "invalid-session-id", name);
        assert_eq!(
            list_with(&app, &token_for(USER)).await,
            200,
            "{name}: nothing revoked"
        );
    }
}

#[tokio::test]
async fn a_revoked_token_cannot_revoke_and_the_other_user_fixture_stores_nothing() {
    let (app, _) = app_with_a_task().await;
    let other = run(&app, Route::RevokeSessions, "other-user", "").await;
    other.assert_problem_kind(403, "forbidden", "revoke-sessions/other-user");
    let mut their_claims = claims_for(OTHER_USER);
    their_claims["sid"] = json!(SESSION_ID);
    let theirs = hs256_token(&their_claims, SECRET);
    let listed = app
        .call(Method::GET, &format!("/api/{OTHER_USER}/tasks"))
        .token(&theirs)
        .send()
        .await;
    assert_eq!(listed.status, 200, "the other user was not signed out");

    let revoked = token_of_session(now() - 1, "old");
    run(&app, Route::RevokeSessions, "valid", "").await;
    let event = fixture_text(Route::RevokeSession, "valid").replace(TOKEN_PLACEHOLDER, &revoked);
    let response = invoke(&app, Route::RevokeSession, event).await;
    response.assert_problem_kind(401, "unauthorized", "a revoked token revoking");
}

// --- auth, on every route ---------------------------------------------------------------------

#[tokio::test]
async fn a_missing_token_is_401_with_a_bare_bearer_challenge_on_every_route() {
    for route in ROUTES {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, "missing-token", &task).await;
        response.assert_problem_kind(401, "unauthorized", &format!("{route:?}"));
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{route:?}: no error code when no token was sent (RFC 6750)"
        );
        assert_eq!(current(&app, &task).await, task, "{route:?}");
    }
}

#[tokio::test]
async fn a_bad_token_is_401_invalid_token_on_every_route() {
    for route in ROUTES {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, "bad-token", &task).await;
        response.assert_problem_kind(401, "unauthorized", &format!("{route:?}"));
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{route:?}"
        );
        assert_eq!(current(&app, &task).await, task, "{route:?}");
        assert_eq!(listed_ids(&app).await, [id_of(&task)], "{route:?}");
    }
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_refused_before_any_crypto() {
    for route in [Route::ListTasks, Route::CreateTask] {
        let event = fixture_json(route, "bad-token");
        assert_eq!(event["headers"]["authorization"], "Bearer not.a.jwt");
        let app = spawn_app().await;
        let response = run(&app, route, "bad-token", "").await;
        assert_eq!(response.body["detail"], "invalid token", "{route:?}");
        let verified = app
            .app
            .authenticator()
            .verify(Some(b"Bearer not.a.jwt"))
            .await;
        assert_eq!(verified, Err(AuthError::MalformedToken), "{route:?}");
    }
}

#[tokio::test]
async fn a_token_with_valid_claims_but_a_broken_signature_is_refused() {
    for route in [
        Route::GetTask,
        Route::UpdateTask,
        Route::DeleteTask,
        Route::CompleteTask,
    ] {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, "bad-token", &task).await;
        assert_eq!(response.body["detail"], "invalid token", "{route:?}");
        let event = fixture_json(route, "bad-token");
        let header = event["headers"]["authorization"].as_str().unwrap();
        let verified = app
            .app
            .authenticator()
            .verify(Some(header.as_bytes()))
            .await;
        assert_eq!(verified, Err(AuthError::BadSignature), "{route:?}");
    }
}

#[tokio::test]
async fn another_users_path_is_403_and_touches_nothing_on_every_route() {
    for route in ROUTES {
        let (app, task) = app_with_a_task().await;
        let response = run_on(&app, route, "other-user", &task).await;
        response.assert_problem_kind(403, "forbidden", &format!("{route:?}"));
        assert_eq!(current(&app, &task).await, task, "{route:?}");
        let theirs = app
            .call(Method::GET, &format!("/api/{OTHER_USER}/tasks"))
            .token(&token_for(OTHER_USER))
            .send()
            .await;
        assert_eq!(theirs.body["items"], json!([]), "{route:?}");
    }
}
