//! The API contract, through the real handlers with the in-memory store: what the `events/`
//! fixtures (`events.rs`) and the bad-input tables (`bad_input.rs`) do not already show.
//! Each test is one documented behaviour.

use std::collections::HashSet;
use std::time::Duration;

use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate::config::{AuthConfig, KeySource};
use taskgate::tasks::memory::MemoryStore;
use taskgate_tests::{
    ISSUER, OTHER_USER, SECRET, USER, claims_for, hs256_token, repo_path, spawn_app,
    spawn_app_with, task_path, tasks_path, token_for,
};

// --- create ---------------------------------------------------------------------------------

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
async fn list_defaults_to_50_tasks_and_a_cursor_for_the_rest() {
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
}

// --- update, delete, complete ---------------------------------------------------------------

/// `PUT` replaces the title and the description (a missing description clears it) and leaves
/// `completed` as it was when the body has none.
#[tokio::test]
async fn an_update_without_completed_keeps_it_and_clears_a_missing_description() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "draft").await;
    let update = |body: Value| {
        app.call(Method::PUT, &task_path(USER, &task["id"]))
            .token(&token_for(USER))
            .json(body)
            .send()
    };
    let completed = update(json!({"title": "final", "description": "d", "completed": true})).await;
    assert_eq!(completed.body["completed"], true);
    let without_completed = update(json!({"title": "final"})).await;
    assert_eq!(without_completed.status, 200, "{}", without_completed.body);
    assert_eq!(without_completed.body["completed"], true, "left as it was");
    assert_eq!(
        without_completed.body["description"],
        Value::Null,
        "replaced"
    );
    assert_eq!(without_completed.body["version"], 3);
}

/// A stale `If-Match` is 412 on every write; the current one (or `*`) lets it through.
/// (Malformed and weak tags are in `bad_input.rs`.)
#[tokio::test]
async fn if_match_guards_update_delete_and_complete() {
    let app = spawn_app().await;
    let task = app.create_task(USER, "contended").await;
    let path = task_path(USER, &task["id"]);
    let complete = format!("{path}/complete");
    let call = |method: Method, path: &str, if_match: &str| {
        app.call(method, path)
            .token(&token_for(USER))
            .header("if-match", if_match)
            .json(json!({"title": "changed"}))
            .send()
    };

    for (method, path) in [
        (Method::PUT, &path),
        (Method::PATCH, &complete),
        (Method::DELETE, &path),
    ] {
        call(method, path, "\"7\"").await.assert_problem(412);
    }
    let updated = call(Method::PUT, &path, "\"1\"").await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let toggled = call(Method::PATCH, &complete, "*").await;
    assert_eq!(toggled.status, 200, "{}", toggled.body);
    call(Method::DELETE, &path, "\"2\"")
        .await
        .assert_problem(412);
    let deleted = call(Method::DELETE, &path, "\"3\"").await;
    assert_eq!(deleted.status, 204);
}

// --- authentication and authorization -------------------------------------------------------

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
        max_token_lifetime: taskgate::config::DEFAULT_MAX_TOKEN_LIFETIME,
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
        (
            Method::DELETE,
            format!("/api/{USER}/sessions/s1"),
            Some(&token),
            204,
        ),
        (
            Method::DELETE,
            format!("/api/{USER}/sessions"),
            Some(&token),
            204,
        ),
        (Method::GET, tasks_path(USER), Some(&token), 401),
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
