//! Bad input for every route, through the real handlers: each is a precise 4xx problem+json,
//! never a 500, and nothing is stored (checked by listing afterwards).

use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate_tests::{TestApp, TestResponse, USER, spawn_app, tasks_path, token_for};

fn tasks() -> String {
    tasks_path(USER)
}

/// An app with one task; returns the app and the task.
async fn app_with_a_task() -> (TestApp, Value) {
    let app = spawn_app().await;
    let task = app.create_task(USER, "the only task").await;
    (app, task)
}

/// The routes that take a body: create, and update of `task`.
fn body_routes(task: &Value) -> [(Method, String); 2] {
    let id = task["id"].as_str().unwrap();
    [
        (Method::POST, tasks()),
        (Method::PUT, format!("{}/{id}", tasks())),
    ]
}

/// Nothing was stored or changed: the one task is still the only one, as it was.
async fn assert_unchanged(app: &TestApp, task: &Value) {
    let list = app
        .call(Method::GET, &tasks())
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["items"],
        json!([task]),
        "nothing stored or changed"
    );
}

async fn send_body(
    app: &TestApp,
    (method, path): &(Method, String),
    content_type: Option<&str>,
    body: Vec<u8>,
) -> TestResponse {
    let call = app.call(method.clone(), path).token(&token_for(USER));
    match content_type {
        Some(content_type) => call.raw_body(content_type, body),
        None => call.body_without_content_type(body),
    }
    .send()
    .await
}

#[tokio::test]
async fn malformed_bodies_are_400_and_store_nothing() {
    let (app, task) = app_with_a_task().await;
    // Deep nesting under the 16 KiB cap reaches the parser, which stops at its depth limit.
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let deep_object = format!(
        r#"{{"title":"t","description":{}"x"{}}}"#,
        r#"{"a":"#.repeat(2_000),
        "}".repeat(2_000)
    );
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("broken JSON", br#"{"title": "a""#.to_vec()),
        ("trailing garbage", br#"{"title": "a"} x"#.to_vec()),
        ("not an object", br#"["title"]"#.to_vec()),
        ("null", b"null".to_vec()),
        ("empty body", Vec::new()),
        ("a number as title", br#"{"title": 42}"#.to_vec()),
        ("a bool as title", br#"{"title": true}"#.to_vec()),
        ("null title", br#"{"title": null}"#.to_vec()),
        ("missing title", br#"{"description": "d"}"#.to_vec()),
        (
            "a number as description",
            br#"{"title": "a", "description": 7}"#.to_vec(),
        ),
        (
            "unknown field",
            br#"{"title": "a", "owner": "someone"}"#.to_vec(),
        ),
        (
            "user_id in the body",
            format!(r#"{{"title": "a", "user_id": "{USER}"}}"#).into(),
        ),
        (
            "duplicate title",
            br#"{"title": "a", "title": "b"}"#.to_vec(),
        ),
        ("invalid UTF-8", b"{\"title\": \"\xff\xfe\"}".to_vec()),
        ("bare invalid UTF-8", b"\xff\xfe".to_vec()),
        ("arrays nested 5,000 deep", deep.into_bytes()),
        ("objects nested 2,000 deep", deep_object.into_bytes()),
    ];
    for route in body_routes(&task) {
        for (what, body) in &bodies {
            let response = send_body(&app, &route, Some("application/json"), body.clone()).await;
            response.assert_problem_kind(400, "invalid-body", &format!("{} {what}", route.0));
        }
    }
    let response = send_body(
        &app,
        &body_routes(&task)[1],
        Some("application/json"),
        br#"{"title": "a", "completed": "yes"}"#.to_vec(),
    )
    .await;
    response.assert_problem_kind(400, "invalid-body", "a string as completed");
    assert_unchanged(&app, &task).await;
}

#[tokio::test]
async fn invalid_titles_and_descriptions_are_400_and_store_nothing() {
    let (app, task) = app_with_a_task().await;
    let fields = [
        ("empty title", json!({"title": ""})),
        ("blank title", json!({"title": " \t\n "})),
        ("201-character title", json!({"title": "t".repeat(201)})),
        ("control character in title", json!({"title": "a\u{0007}b"})),
        ("newline inside title", json!({"title": "a\nb"})),
        ("NUL in title", json!({"title": "a\u{0000}b"})),
        ("DEL in title", json!({"title": "a\u{007f}b"})),
        (
            "2001-character description",
            json!({"title": "a", "description": "d".repeat(2001)}),
        ),
        (
            "control character in description",
            json!({"title": "a", "description": "\u{001b}[31m"}),
        ),
    ];
    for route in body_routes(&task) {
        for (what, body) in &fields {
            let bytes = body.to_string().into_bytes();
            let response = send_body(&app, &route, Some("application/json"), bytes).await;
            response.assert_problem_kind(400, "invalid-task", &format!("{} {what}", route.0));
        }
    }
    assert_unchanged(&app, &task).await;
}

#[tokio::test]
async fn a_200_character_title_is_accepted() {
    let app = spawn_app().await;
    let title = "t".repeat(200);
    let task = app.create_task(USER, &title).await;
    assert_eq!(task["title"], title.as_str());
}

#[tokio::test]
async fn titles_are_trimmed() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "  Write the README  ").await;
    assert_eq!(task["title"], "Write the README");
}

#[tokio::test]
async fn a_json_content_type_with_a_charset_is_accepted() {
    let (app, task) = app_with_a_task().await;
    for route in body_routes(&task) {
        let body = br#"{"title": "fine"}"#.to_vec();
        let content_type = Some("application/json; charset=utf-8");
        let response = send_body(&app, &route, content_type, body).await;
        assert!(response.status < 300, "{}: {}", route.0, response.body);
    }
}

#[tokio::test]
async fn a_1_mb_body_or_json_nested_10_000_deep_is_413_and_stores_nothing() {
    let (app, task) = app_with_a_task().await;
    let big = json!({"title": "a", "description": "d".repeat(1024 * 1024)}).to_string();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for route in body_routes(&task) {
        for body in [&big, &deep] {
            let bytes = body.clone().into_bytes();
            let response = send_body(&app, &route, Some("application/json"), bytes).await;
            response.assert_problem_kind(413, "body-too-large", &format!("{}", route.0));
        }
    }
    assert_unchanged(&app, &task).await;
}

#[tokio::test]
async fn missing_or_wrong_content_type_is_415_and_stores_nothing() {
    let (app, task) = app_with_a_task().await;
    let body = br#"{"title": "a"}"#.to_vec();
    for route in body_routes(&task) {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonp"),
            Some("json"),
            Some(""),
        ] {
            let response = send_body(&app, &route, content_type, body.clone()).await;
            let what = format!("{} {content_type:?}", route.0);
            response.assert_problem_kind(415, "unsupported-media-type", &what);
        }
    }
    assert_unchanged(&app, &task).await;
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = spawn_app().await;
    for query in [
        "limit=0",
        "limit=-1",
        "limit=1000000",
        "limit=101",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=99999999999999999999999",
        "status=done",
        "status=",
        "status=ALL",
    ] {
        let response = app
            .call(Method::GET, &format!("{}?{query}", tasks()))
            .token(&token_for(USER))
            .send()
            .await;
        response.assert_problem_kind(400, "invalid-query", query);
    }
    for cursor in [
        "garbage",
        "",
        "AAAA",
        "%00",
        "01KB0000000000000000000000",
        "eyJhIjoxfQ",
        "Zm9v",
    ] {
        let response = app
            .call(Method::GET, &format!("{}?cursor={cursor}", tasks()))
            .token(&token_for(USER))
            .send()
            .await;
        response.assert_problem_kind(400, "invalid-cursor", cursor);
    }
}

#[tokio::test]
async fn bad_headers_are_precise_4xx_and_change_nothing() {
    let (app, task) = app_with_a_task().await;
    let id = task["id"].as_str().unwrap();
    let item = format!("{}/{id}", tasks());
    for if_match in ["1", "\"one\"", "\"\"", "\"-1\"", "\"1\", \"2\"", "W/\"1\""] {
        let expected = if if_match.starts_with("W/") { 412 } else { 400 };
        for (method, path) in [
            (Method::PUT, item.clone()),
            (Method::DELETE, item.clone()),
            (Method::PATCH, format!("{item}/complete")),
        ] {
            let response = app
                .call(method.clone(), &path)
                .token(&token_for(USER))
                .header("if-match", if_match)
                .json(json!({"title": "changed"}))
                .send()
                .await;
            assert_eq!(response.status, expected, "{method} If-Match {if_match}");
            response.assert_problem(expected);
        }
    }
    for key in [String::new(), "k".repeat(256), "has space".to_string()] {
        let response = app
            .call(Method::POST, &tasks())
            .token(&token_for(USER))
            .header("idempotency-key", &key)
            .json(json!({"title": "a"}))
            .send()
            .await;
        response.assert_problem_kind(400, "invalid-idempotency-key", &key);
    }
    assert_unchanged(&app, &task).await;
}

#[tokio::test]
async fn malformed_task_ids_are_404() {
    let (app, task) = app_with_a_task().await;
    let id = task["id"].as_str().unwrap();
    for bad in [
        "not-a-ulid".to_string(),
        id.to_lowercase(),
        format!("{id}0"),
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ".to_string(),
        "%00".to_string(),
    ] {
        for (method, path) in [
            (Method::GET, format!("{}/{bad}", tasks())),
            (Method::PUT, format!("{}/{bad}", tasks())),
            (Method::DELETE, format!("{}/{bad}", tasks())),
            (Method::PATCH, format!("{}/{bad}/complete", tasks())),
        ] {
            let response = app
                .call(method.clone(), &path)
                .token(&token_for(USER))
                .json(json!({"title": "changed"}))
                .send()
                .await;
            response.assert_problem_kind(404, "not-found", &format!("{method} {path}"));
        }
    }
    assert_unchanged(&app, &task).await;
}

#[tokio::test]
async fn unknown_paths_are_404_with_or_without_a_token() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/api",
        "/api/u/tasks/x/y",
        "/tasks",
        "/api/tasks",
        "/api/u/sessions/s1/x",
        "/api/sessions",
    ] {
        for token in [None, Some(token_for(USER))] {
            let mut call = app.call(Method::GET, path);
            if let Some(token) = &token {
                call = call.token(token);
            }
            let what = format!("GET {path} with token: {}", token.is_some());
            call.send()
                .await
                .assert_problem_kind(404, "not-found", &what);
        }
    }
}

/// A method a route does not take is 405 with `Allow`, before any token check.
#[tokio::test]
async fn unknown_methods_are_405_with_allow() {
    let (app, task) = app_with_a_task().await;
    let item = format!("{}/{}", tasks(), task["id"].as_str().unwrap());
    let complete = format!("{item}/complete");
    let custom = Method::from_bytes(b"BREW").unwrap();
    for (path, allow, refused) in [
        (
            tasks(),
            "GET, POST",
            [Method::PUT, Method::DELETE, Method::PATCH, custom.clone()],
        ),
        (
            item.clone(),
            "GET, PUT, DELETE",
            [Method::POST, Method::PATCH, Method::OPTIONS, custom.clone()],
        ),
        (
            complete,
            "PATCH",
            [Method::GET, Method::POST, Method::PUT, custom.clone()],
        ),
        (
            format!("/api/{USER}/sessions"),
            "DELETE",
            [Method::GET, Method::POST, Method::PATCH, custom.clone()],
        ),
        (
            format!("/api/{USER}/sessions/s1"),
            "DELETE",
            [Method::GET, Method::PUT, Method::POST, custom.clone()],
        ),
    ] {
        for (method, token) in refused.iter().flat_map(|m| [(m, true), (m, false)]) {
            let mut call = app.call(method.clone(), &path);
            if token {
                call = call.token(&token_for(USER));
            }
            let response = call.json(json!({"title": "changed"})).send().await;
            let what = format!("{method} {path} with token: {token}");
            response.assert_problem_kind(405, "method-not-allowed", &what);
            assert_eq!(response.header("allow"), Some(allow), "{what}");
        }
    }
    assert_unchanged(&app, &task).await;
}
