//! Sign-out that ends API access, through the real handlers: the in-memory store's semantics in
//! one process (`make dev`), and on DynamoDB Local the order of the check (a read runs while the
//! state is read, a write waits for it) and the bound (no write with a token revoked longer ago
//! than the TTL, on an instance that did not revoke it). Two `taskgate-local` processes on one
//! DynamoDB Local: `local/tests/revocation.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::Method;
use serde_json::json;
use taskgate::revocation::{RevocationState, RevocationStore};
use taskgate::tasks::memory::MemoryStore;
use taskgate_tests::aws_front_door::AwsFrontDoor;
use taskgate_tests::dynamodb_local::{self, store_at};
use taskgate_tests::{
    OTHER_USER, SECRET, TestApp, USER, claims_for, hs256_config, hs256_token, now, spawn_app_with,
    token_for,
};

/// A token of `user` for session `sid`, issued at `iat`.
fn token(user: &str, sid: &str, iat: i64) -> String {
    let mut claims = claims_for(user);
    claims["sid"] = json!(sid);
    claims["iat"] = json!(iat);
    hs256_token(&claims, SECRET)
}

async fn list(app: &TestApp, user: &str, token: &str) -> u16 {
    app.call(Method::GET, &format!("/api/{user}/tasks"))
        .token(token)
        .send()
        .await
        .status
}

async fn revoke(app: &TestApp, path: &str, token: &str) -> u16 {
    let response = app
        .call(Method::DELETE, &format!("/api/{path}"))
        .token(token)
        .send()
        .await;
    if response.status >= 400 {
        response.assert_problem(response.status);
    }
    response.status
}

async fn create(app: &TestApp, token: &str, title: &str) -> u16 {
    app.call(Method::POST, &format!("/api/{USER}/tasks"))
        .token(token)
        .json(json!({ "title": title }))
        .send()
        .await
        .status
}

/// Sleeps until the next whole second has begun: a token minted then has a later `iat`.
async fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tokio::time::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()),
    ))
    .await;
}

#[tokio::test]
async fn the_memory_store_signs_out_in_one_process() {
    let store = Arc::new(MemoryStore::new());
    let app = spawn_app_with(hs256_config(), store.clone()).await;
    let (laptop, phone) = (token(USER, "laptop", now()), token(USER, "phone", now()));
    let theirs = token(OTHER_USER, "desk", now());
    assert_eq!(list(&app, USER, &laptop).await, 200);

    // Another user's path: 403, and nothing stored for anyone.
    assert_eq!(
        revoke(&app, &format!("{OTHER_USER}/sessions"), &laptop).await,
        403
    );
    assert_eq!(
        revoke(&app, &format!("{OTHER_USER}/sessions/desk"), &laptop).await,
        403
    );
    for user in [USER, OTHER_USER] {
        let state = store.revocation_state(user).await.unwrap();
        assert_eq!(state, RevocationState::default(), "{user}");
    }

    // One session: refused at once; the other session works.
    assert_eq!(
        revoke(&app, &format!("{USER}/sessions/laptop"), &phone).await,
        204
    );
    let refused = app
        .call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(&laptop)
        .send()
        .await;
    refused.assert_problem_kind(401, "unauthorized", "a revoked session's token");
    assert_eq!(refused.body["detail"], "invalid token");
    assert!(refused.body.get("items").is_none(), "nothing of the list");
    assert_eq!(list(&app, USER, &phone).await, 200);

    // Everywhere: every token issued so far, not the other user's; a token of the next second
    // works.
    assert_eq!(revoke(&app, &format!("{USER}/sessions"), &phone).await, 204);
    assert_eq!(list(&app, USER, &phone).await, 401);
    assert_eq!(list(&app, OTHER_USER, &theirs).await, 200);
    assert_eq!(create(&app, &phone, "never stored").await, 401);
    next_second().await;
    let fresh = token(USER, "phone", now());
    assert_eq!(list(&app, USER, &fresh).await, 200);
    let tasks = app
        .call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(&fresh)
        .send()
        .await;
    assert_eq!(
        tasks.body["items"],
        json!([]),
        "the revoked create stored nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_runs_while_the_state_is_read_and_a_write_waits_for_it() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    let store = store_at(&proxy.endpoint, &table).await;
    let mut app = spawn_app_with(hs256_config(), Arc::new(store)).await;
    app.app = app
        .app
        .with_request_deadline(Duration::from_millis(800))
        .with_revocation_ttl(Duration::ZERO);
    proxy.hold("GetItem");

    // The list's Query goes out while the revocation state's GetItem is unanswered.
    let read = app
        .call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(&token_for(USER))
        .send()
        .await;
    read.assert_problem(503);
    assert_eq!(proxy.calls_of("Query").len(), 1, "{:?}", proxy.calls());
    proxy.until_held(1).await;

    // The create waits for the state: its transaction never goes out.
    let write = app
        .call(Method::POST, &format!("/api/{USER}/tasks"))
        .token(&token_for(USER))
        .json(json!({"title": "not before the check"}))
        .send()
        .await;
    write.assert_problem(503);
    proxy.until_held(2).await;
    assert!(proxy.calls_of("TransactWriteItems").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_write_is_made_with_a_token_revoked_longer_ago_than_the_ttl() {
    const TTL: Duration = Duration::from_secs(1);
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let instance = || async {
        let mut app = spawn_app_with(hs256_config(), Arc::new(local.store(&table).await)).await;
        app.app = app.app.with_revocation_ttl(TTL);
        app
    };
    let (here, there) = (instance().await, instance().await);
    let old = token(USER, "laptop", now());
    // The other instance has the state (none) cached, fresh.
    assert_eq!(create(&there, &old, "before").await, 201);

    assert_eq!(revoke(&here, &format!("{USER}/sessions"), &old).await, 204);
    let revoked_at = Instant::now();
    assert_eq!(create(&here, &old, "refused at once").await, 401);
    tokio::time::sleep(TTL.saturating_sub(revoked_at.elapsed())).await;
    assert_eq!(create(&there, &old, "after the TTL").await, 401);

    let client = local.client().await;
    let tasks = client
        .query()
        .table_name(&table)
        .key_condition_expression("user_id = :user AND task_id >= :lowest")
        .expression_attribute_values(":user", AttributeValue::S(USER.into()))
        .expression_attribute_values(":lowest", AttributeValue::S("0".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let titles: Vec<&str> = tasks
        .items()
        .iter()
        .filter_map(|item| item.get("title")?.as_s().ok().map(String::as_str))
        .collect();
    assert_eq!(titles, ["before"], "no task from a revoked token");
}
