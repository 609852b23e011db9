//! The API contract, route by route, through the real handlers with the in-memory store.
//! Each test is one documented behaviour.

use std::collections::HashSet;
use std::time::Duration;

use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate::config::{AuthConfig, KeySource};
use taskgate::tasks::memory::MemoryStore;
use taskgate_tests::{
    ISSUER, OTHER_USER, SECRET, USER, claims_for, hs256_token, repo_path, spawn_app,
    spawn_app_with, token_for,
};

fn tasks_path(user: &str) -> String {
    format!("/api/{user}/tasks")
}

fn task_path(user: &str, id: &Value) -> String {
    format!("/api/{user}/tasks/{}", id.as_str().expect("task id"))
}

// --- create ---------------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_201_with_the_task_its_location_and_etag() {
    let app = spawn_app().await;
    let response = app
        .call(Method::POST, &tasks_path(USER))
        .token(&token_for(USER))
        .json(json!({"title": "  Write the README  ", "description": "two commands"}))
        .send()
        .await;

    assert_eq!(response.status, 201);
    let task = &response.body;
    let id = task["id"].as_str().unwrap();
    assert_eq!(id.len(), 26, "a ULID");
    assert_eq!(task["user_id"], USER);
    assert_eq!(task["title"], "Write the README", "titles are trimmed");
    assert_eq!(task["description"], "two commands");
    assert_eq!(task["completed"], false);
    assert_eq!(task["version"], 1);
    assert_eq!(task["created_at"], task["updated_at"]);
    assert!(task["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(response.header("etag"), Some("\"1\""));
    assert_eq!(
        response.header("location"),
        Some(format!("/api/{USER}/tasks/{id}").as_str())
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_task_and_creates_nothing() {
    let app = spawn_app().await;
    let create = || {
        app.call(Method::POST, &tasks_path(USER))
            .token(&token_for(USER))
            .header("idempotency-key", "retry-1")
            .json(json!({"title": "Pay rent"}))
            .send()
    };
    let first = create().await;
    let retry = create().await;

    assert_eq!(first.status, 201);
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let list = app
        .call(Method::GET, &tasks_path(USER))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_422() {
    let app = spawn_app().await;
    let create = |title: &'static str| {
        app.call(Method::POST, &tasks_path(USER))
            .token(&token_for(USER))
            .header("idempotency-key", "k")
            .json(json!({ "title": title }))
            .send()
    };
    assert_eq!(create("first").await.status, 201);
    create("second").await.assert_problem(422);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_user() {
    let app = spawn_app().await;
    for user in [USER, OTHER_USER] {
        let response = app
            .call(Method::POST, &tasks_path(user))
            .token(&token_for(user))
            .header("idempotency-key", "shared-key")
            .json(json!({"title": "same"}))
            .send()
            .await;
        assert_eq!(response.status, 201);
        assert_eq!(response.body["user_id"], user);
        assert!(response.header("idempotent-replayed").is_none());
    }
}

#[tokio::test]
async fn an_idempotency_key_must_be_visible_ascii_of_at_most_255_characters() {
    let app = spawn_app().await;
    for key in ["".to_string(), "a".repeat(256), "has space".into()] {
        app.call(Method::POST, &tasks_path(USER))
            .token(&token_for(USER))
            .header("idempotency-key", &key)
            .json(json!({"title": "t"}))
            .send()
            .await
            .assert_problem(400);
    }
}

// --- get ------------------------------------------------------------------------------------

#[tokio::test]
async fn get_returns_the_task_with_its_etag() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "Read").await;
    let response = app
        .call(Method::GET, &task_path(USER, &task["id"]))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, task);
    assert_eq!(response.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn an_unknown_or_malformed_task_id_is_404() {
    let app = spawn_app().await;
    for id in [
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "not-a-ulid",
        "01arz3ndektsv4rrffq69g5fav",
    ] {
        app.call(Method::GET, &format!("/api/{USER}/tasks/{id}"))
            .token(&token_for(USER))
            .send()
            .await
            .assert_problem(404);
    }
}

// --- list -----------------------------------------------------------------------------------

#[tokio::test]
async fn list_is_newest_first_and_filters_by_status() {
    let app = spawn_app().await;
    let first = app.create_task(USER, "first").await;
    let second = app.create_task(USER, "second").await;
    let done = app
        .call(
            Method::PATCH,
            &format!("{}/complete", task_path(USER, &first["id"])),
        )
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(done.status, 200);

    let titles = |status: &'static str| {
        let app = &app;
        async move {
            let response = app
                .call(
                    Method::GET,
                    &format!("{}?status={status}", tasks_path(USER)),
                )
                .token(&token_for(USER))
                .send()
                .await;
            assert_eq!(response.status, 200);
            assert_eq!(response.body["next_cursor"], Value::Null);
            response.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(titles("all").await, ["second", "first"]);
    assert_eq!(titles("pending").await, ["second"]);
    assert_eq!(titles("completed").await, ["first"]);
    assert_eq!(second["completed"], false);
}

#[tokio::test]
async fn pagination_through_250_tasks_returns_every_task_exactly_once() {
    let app = spawn_app().await;
    let mut created = HashSet::new();
    for n in 0..250 {
        let task = app.create_task(USER, &format!("task {n}")).await;
        created.insert(task["id"].as_str().unwrap().to_string());
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let response = app
            .call(
                Method::GET,
                &format!("{}?limit=100{query}", tasks_path(USER)),
            )
            .token(&token_for(USER))
            .send()
            .await;
        assert_eq!(response.status, 200);
        pages += 1;
        let items = response.body["items"].as_array().unwrap();
        assert!(items.len() <= 100);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        match response.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }

    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn list_defaults_to_50_and_refuses_bad_limits_and_cursors() {
    let app = spawn_app().await;
    for n in 0..51 {
        app.create_task(USER, &format!("t{n}")).await;
    }
    let page = app
        .call(Method::GET, &tasks_path(USER))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 50);
    assert!(page.body["next_cursor"].is_string());

    for query in [
        "limit=0",
        "limit=-1",
        "limit=101",
        "limit=1000000",
        "limit=ten",
        "cursor=garbage",
        "cursor=Zm9v",
        "status=done",
    ] {
        app.call(Method::GET, &format!("{}?{query}", tasks_path(USER)))
            .token(&token_for(USER))
            .send()
            .await
            .assert_problem(400);
    }
}

#[tokio::test]
async fn users_never_see_each_others_tasks() {
    let app = spawn_app().await;
    app.create_task(OTHER_USER, "theirs").await;
    let mine = app
        .call(Method::GET, &tasks_path(USER))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(mine.body["items"], json!([]));
}

// --- update, delete, complete ---------------------------------------------------------------

#[tokio::test]
async fn update_replaces_title_and_description_and_bumps_the_version() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "draft").await;
    let response = app
        .call(Method::PUT, &task_path(USER, &task["id"]))
        .token(&token_for(USER))
        .json(json!({"title": "final", "description": "done right", "completed": true}))
        .send()
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["title"], "final");
    assert_eq!(response.body["description"], "done right");
    assert_eq!(response.body["completed"], true);
    assert_eq!(response.body["version"], 2);
    assert_eq!(response.body["created_at"], task["created_at"]);
    assert_eq!(response.header("etag"), Some("\"2\""));

    let without_completed = app
        .call(Method::PUT, &task_path(USER, &task["id"]))
        .token(&token_for(USER))
        .json(json!({"title": "final"}))
        .send()
        .await;
    assert_eq!(without_completed.body["completed"], true, "left as it was");
    assert_eq!(
        without_completed.body["description"],
        Value::Null,
        "replaced"
    );
}

#[tokio::test]
async fn update_of_a_missing_task_is_404_never_an_upsert() {
    let app = spawn_app().await;
    app.call(
        Method::PUT,
        &format!("/api/{USER}/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    )
    .token(&token_for(USER))
    .json(json!({"title": "ghost"}))
    .send()
    .await
    .assert_problem(404);
    let list = app
        .call(Method::GET, &tasks_path(USER))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn delete_returns_204_and_the_task_is_gone() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "temporary").await;
    let path = task_path(USER, &task["id"]);
    let deleted = app
        .call(Method::DELETE, &path)
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, Value::Null);
    for method in [Method::GET, Method::DELETE] {
        app.call(method, &path)
            .token(&token_for(USER))
            .send()
            .await
            .assert_problem(404);
    }
}

#[tokio::test]
async fn complete_toggles_the_completion_each_time() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "toggle me").await;
    let path = format!("{}/complete", task_path(USER, &task["id"]));
    for (expected, version) in [(true, 2), (false, 3), (true, 4)] {
        let response = app
            .call(Method::PATCH, &path)
            .token(&token_for(USER))
            .send()
            .await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body["completed"], expected);
        assert_eq!(response.body["version"], version);
    }
}

#[tokio::test]
async fn if_match_guards_update_delete_and_complete() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "contended").await;
    let path = task_path(USER, &task["id"]);
    let complete = format!("{path}/complete");

    app.call(Method::PUT, &path)
        .token(&token_for(USER))
        .header("if-match", "\"7\"")
        .json(json!({"title": "stale"}))
        .send()
        .await
        .assert_problem(412);
    app.call(Method::PATCH, &complete)
        .token(&token_for(USER))
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .assert_problem(412);
    app.call(Method::DELETE, &path)
        .token(&token_for(USER))
        .header("if-match", "\"2\"")
        .send()
        .await
        .assert_problem(412);
    app.call(Method::DELETE, &path)
        .token(&token_for(USER))
        .header("if-match", "version one")
        .send()
        .await
        .assert_problem(400);

    let updated = app
        .call(Method::PUT, &path)
        .token(&token_for(USER))
        .header("if-match", "\"1\"")
        .json(json!({"title": "fresh"}))
        .send()
        .await;
    assert_eq!(updated.status, 200);
    let toggled = app
        .call(Method::PATCH, &complete)
        .token(&token_for(USER))
        .header("if-match", "*")
        .send()
        .await;
    assert_eq!(toggled.status, 200);
    let deleted = app
        .call(Method::DELETE, &path)
        .token(&token_for(USER))
        .header("if-match", "\"3\"")
        .send()
        .await;
    assert_eq!(deleted.status, 204);
}

// --- authentication and authorization -------------------------------------------------------

#[tokio::test]
async fn a_request_without_a_token_is_401_with_a_bare_bearer_challenge() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, &tasks_path(USER)).send().await;
    response.assert_problem(401);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn invalid_tokens_are_401_with_invalid_token() {
    let app = spawn_app().await;
    let now = taskgate_tests::now();
    let with = |patch: Value| {
        let mut claims = claims_for(USER);
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        hs256_token(&claims, SECRET)
    };
    let cases = [
        ("expired", with(json!({"exp": now - 31}))),
        ("wrong issuer", with(json!({"iss": "https://evil.example"}))),
        (
            "wrong audience",
            with(json!({"aud": "https://other.example"})),
        ),
        ("missing sub", with(json!({"sub": null}))),
        ("empty sub", with(json!({"sub": ""}))),
        ("not yet valid", with(json!({"nbf": now + 120}))),
        ("wrong secret", hs256_token(&claims_for(USER), &[7u8; 32])),
        ("alg none", alg_none_token(&claims_for(USER))),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (case, token) in cases {
        let response = app
            .call(Method::GET, &tasks_path(USER))
            .token(&token)
            .send()
            .await;
        assert_eq!(response.status, 401, "{case}: {}", response.body);
        response.assert_problem(401);
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{case}"
        );
    }
}

fn alg_none_token(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

#[tokio::test]
async fn an_expired_token_inside_the_leeway_is_still_accepted() {
    let app = spawn_app().await;
    let mut claims = claims_for(USER);
    claims["exp"] = json!(taskgate_tests::now() - 10);
    let response = app
        .call(Method::GET, &tasks_path(USER))
        .token(&hs256_token(&claims, SECRET))
        .send()
        .await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_servers_public_key_is_refused() {
    let jwks =
        std::fs::read_to_string(repo_path("tests/fixtures/better-auth/eddsa/jwks.json")).unwrap();
    let auth = AuthConfig {
        keys: KeySource::JwksInline(jwks.clone()),
        issuer: ISSUER.into(),
        audience: ISSUER.into(),
        leeway: Duration::from_secs(30),
    };
    let app = spawn_app_with(auth, std::sync::Arc::new(MemoryStore::new())).await;
    let key: Value = serde_json::from_str(&jwks).unwrap();
    let x = key["keys"][0]["x"].as_str().unwrap();
    for secret in [jwks.as_bytes(), x.as_bytes()] {
        let response = app
            .call(Method::GET, &tasks_path(USER))
            .token(&hs256_token(&claims_for(USER), secret))
            .send()
            .await;
        response.assert_problem(401);
    }
}

#[tokio::test]
async fn a_token_in_the_query_string_is_refused() {
    let app = spawn_app().await;
    let token = token_for(USER);
    app.call(
        Method::GET,
        &format!("{}?access_token={token}", tasks_path(USER)),
    )
    .send()
    .await
    .assert_problem(401);
}

#[tokio::test]
async fn the_path_user_must_be_the_token_user() {
    let app = spawn_app().await;
    let theirs = app.create_task(OTHER_USER, "private").await;
    let mine = token_for(USER);
    let attempts = [
        (Method::GET, tasks_path(OTHER_USER)),
        (Method::GET, task_path(OTHER_USER, &theirs["id"])),
        (Method::DELETE, task_path(OTHER_USER, &theirs["id"])),
        (
            Method::PATCH,
            format!("{}/complete", task_path(OTHER_USER, &theirs["id"])),
        ),
        (Method::GET, tasks_path(&USER.to_lowercase())),
    ];
    for (method, path) in attempts {
        app.call(method, &path)
            .token(&mine)
            .send()
            .await
            .assert_problem(403);
    }
    let still_there = app
        .call(Method::GET, &task_path(OTHER_USER, &theirs["id"]))
        .token(&token_for(OTHER_USER))
        .send()
        .await;
    assert_eq!(still_there.body, theirs);
}

// --- bad input ------------------------------------------------------------------------------

#[tokio::test]
async fn bad_bodies_get_precise_4xx_and_store_nothing() {
    let app = spawn_app().await;
    let post = || {
        app.call(Method::POST, &tasks_path(USER))
            .token(&token_for(USER))
    };
    post()
        .raw_body("application/json", b"{\"title\": ".to_vec())
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"title": "x".repeat(10_000)}))
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"title": "x".repeat(201)}))
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"title": ""}))
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"title": 42}))
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"description": "no title"}))
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"title": "t", "owner": "x"}))
        .send()
        .await
        .assert_problem(400);
    post()
        .json(json!({"title": "t", "description": "d".repeat(2001)}))
        .send()
        .await
        .assert_problem(400);
    post()
        .raw_body("application/json", vec![0xff, 0xfe])
        .send()
        .await
        .assert_problem(400);
    post()
        .raw_body("application/json", vec![])
        .send()
        .await
        .assert_problem(400);
    post()
        .raw_body("application/json", vec![b' '; 1024 * 1024])
        .send()
        .await
        .assert_problem(413);
    post()
        .body_without_content_type(b"{\"title\":\"t\"}".to_vec())
        .send()
        .await
        .assert_problem(415);
    post()
        .raw_body("text/plain", b"{\"title\":\"t\"}".to_vec())
        .send()
        .await
        .assert_problem(415);
    let nested = |depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes();
    post()
        .raw_body("application/json", nested(8_000))
        .send()
        .await
        .assert_problem(400);
    post()
        .raw_body("application/json", nested(10_000))
        .send()
        .await
        .assert_problem(413);

    let ok = post()
        .raw_body(
            "application/json; charset=utf-8",
            b"{\"title\":\"fine\"}".to_vec(),
        )
        .send()
        .await;
    assert_eq!(ok.status, 201);
    let list = app
        .call(Method::GET, &tasks_path(USER))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "only the good one"
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_are_405_with_allow() {
    let app = spawn_app().await;
    for path in ["/", "/api", "/api/u/tasks/x/y", "/tasks"] {
        app.call(Method::GET, path).send().await.assert_problem(404);
    }
    let delete_collection = app
        .call(Method::DELETE, &tasks_path(USER))
        .token(&token_for(USER))
        .send()
        .await;
    delete_collection.assert_problem(405);
    assert_eq!(delete_collection.header("allow"), Some("GET, POST"));
    let post_item = app
        .call(
            Method::POST,
            &format!("/api/{USER}/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        )
        .send()
        .await;
    post_item.assert_problem(405);
    assert_eq!(post_item.header("allow"), Some("GET, PUT, DELETE"));
}

// --- path parameters ------------------------------------------------------------------------

#[tokio::test]
async fn a_function_takes_path_parameters_from_the_event_when_the_path_is_mapped() {
    use lambda_http::RequestExt;
    use std::collections::HashMap;
    let app = spawn_app().await;
    let under_base_path = |params: HashMap<String, String>| {
        app.call(Method::GET, &format!("/v1/api/{USER}/tasks"))
            .token(&token_for(USER))
            .request()
            .with_path_parameters(params)
    };

    let with_params = under_base_path(HashMap::from([("user_id".into(), USER.into())]));
    let listed = app.send_to(taskgate::Route::ListTasks, with_params).await;
    assert_eq!(listed.status, 200, "{}", listed.body);

    let without = under_base_path(HashMap::new());
    app.send_to(taskgate::Route::ListTasks, without)
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn a_percent_encoded_path_user_is_not_the_token_user() {
    use lambda_http::RequestExt;
    use std::collections::HashMap;
    let app = spawn_app().await;
    let encoded = format!("/api/%{:02X}{}/tasks", USER.as_bytes()[0], &USER[1..]);
    let decoded_by_the_gateway = HashMap::from([("user_id".to_string(), USER.to_string())]);
    let request = app
        .call(Method::GET, &encoded)
        .token(&token_for(USER))
        .request()
        .with_path_parameters(decoded_by_the_gateway);
    app.send_to(taskgate::Route::ListTasks, request)
        .await
        .assert_problem(403);
}

// --- headers on every answer -----------------------------------------------------------------

#[tokio::test]
async fn every_answer_carries_no_store_and_nosniff() {
    let app = spawn_app().await;
    let token = token_for(USER);
    let created = app
        .call(Method::POST, &tasks_path(USER))
        .token(&token)
        .json(json!({"title": "cached nowhere"}))
        .send()
        .await;
    created.assert_standard_headers();
    let item = task_path(USER, &created.body["id"]);
    let complete = format!("{item}/complete");
    let answers = [
        (Method::GET, tasks_path(USER), Some(&token), 200),
        (Method::GET, item.clone(), Some(&token), 200),
        (Method::PATCH, complete, Some(&token), 200),
        (Method::GET, tasks_path(OTHER_USER), Some(&token), 403),
        (Method::GET, tasks_path(USER), None, 401),
        (Method::GET, "/nowhere".to_string(), None, 404),
        (Method::PATCH, tasks_path(USER), Some(&token), 405),
        (Method::DELETE, item, Some(&token), 204),
    ];
    for (method, path, token, status) in answers {
        let mut call = app.call(method.clone(), &path);
        if let Some(token) = token {
            call = call.token(token);
        }
        let response = call.send().await;
        assert_eq!(
            response.status, status,
            "{method} {path}: {}",
            response.body
        );
        response.assert_standard_headers();
    }
}

/// `cargo lambda watch` sends every invocation a deadline 600 s after 1970: a deadline already
/// passed is no deadline, so the request is served under the app's own.
#[tokio::test]
async fn an_invocation_deadline_already_passed_is_no_deadline() {
    use lambda_http::RequestExt;
    let app = spawn_app().await;
    let mut context = lambda_http::Context::default();
    context.deadline = 600_000;
    let request = app
        .call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(&token_for(USER))
        .request()
        .with_lambda_context(context);
    let response = app.send_to(taskgate::Route::ListTasks, request).await;
    assert_eq!(response.status, 200, "{}", response.body);
}
