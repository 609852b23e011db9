//! What only the DynamoDB store can show, on AWS DynamoDB Local through the real handlers:
//! concurrency, idempotency across instances, cursors, an outage and recovery, cold start.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate::aws::sdk_config_loader;
use taskgate::tasks::dynamodb::{DynamoDbStore, PRIME_TIMEOUT};
use taskgate::tasks::{StoreError, TaskStore};
use taskgate_tests::dynamodb_local::{
    self, DynamoDbLocal, REGION, scratch_dir, table_definition, test_credentials,
};
use taskgate_tests::{OTHER_USER, TestApp, USER, hs256_config, spawn_app_with, token_for};

/// An app on the real handlers and a DynamoDB store on a new table of `local`.
async fn app_on(local: &DynamoDbLocal, table: &str) -> Arc<TestApp> {
    let store = local.store(table).await;
    Arc::new(spawn_app_with(hs256_config(), Arc::new(store)).await)
}

async fn post_task(app: &TestApp, title: &str, key: Option<&str>) -> taskgate_tests::TestResponse {
    let mut call = app
        .call(Method::POST, &format!("/api/{USER}/tasks"))
        .token(&token_for(USER))
        .json(json!({ "title": title }));
    if let Some(key) = key {
        call = call.header("idempotency-key", key);
    }
    call.send().await
}

async fn list(app: &TestApp, user: &str, query: &str) -> taskgate_tests::TestResponse {
    app.call(Method::GET, &format!("/api/{user}/tasks?{query}"))
        .token(&token_for(user))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_toggles_flip_the_task_twenty_times() {
    let local = dynamodb_local::shared();
    let app = app_on(local, &local.new_table().await).await;
    let task = app.create_task(USER, "flip me").await;
    let path = format!("/api/{USER}/tasks/{}", task["id"].as_str().unwrap());

    let toggles: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let path = format!("{path}/complete");
            tokio::spawn(async move {
                app.call(Method::PATCH, &path)
                    .token(&token_for(USER))
                    .send()
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for toggle in toggles {
        let response = toggle.await.unwrap();
        assert_eq!(response.status, 200, "{}", response.body);
        let version = response.body["version"].as_u64().unwrap();
        // Each toggle flipped the state it read: even versions are completed.
        assert_eq!(response.body["completed"], version % 2 == 0);
        versions.push(version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=21).collect::<Vec<u64>>());

    let now = app
        .call(Method::GET, &path)
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(now.body["version"], 21);
    assert_eq!(now.body["completed"], false, "20 flips leave it as it was");
    assert_eq!(now.header("etag"), Some("\"21\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_retries_with_one_key_create_one_task() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let app = app_on(local, &table).await;

    let retries: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { post_task(&app, "pay rent", Some("retry-key")).await })
        })
        .collect();
    let mut bodies = Vec::new();
    let mut replays = 0;
    for retry in retries {
        let response = retry.await.unwrap();
        assert_eq!(response.status, 201, "{}", response.body);
        replays += usize::from(response.header("idempotent-replayed") == Some("true"));
        bodies.push(response.body);
    }
    assert!(bodies.iter().all(|body| *body == bodies[0]), "{bodies:?}");
    assert_eq!(replays, 9);
    let listed = list(&app, USER, "").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["items"][0], bodies[0]);

    // The same key with another body is 422, and still creates nothing.
    let conflict = post_task(&app, "pay bills", Some("retry-key")).await;
    conflict.assert_problem(422);
    assert_eq!(
        list(&app, USER, "").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The record carries the TTL attribute the template declares, 24 hours ahead.
    let ttl_attribute = table_definition().ttl_attribute.expect("template TTL");
    let record = local
        .client()
        .await
        .get_item()
        .table_name(&table)
        .key("user_id", AttributeValue::S(USER.into()))
        .key(
            "task_id",
            AttributeValue::S("#idempotency#retry-key".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("idempotency record");
    let AttributeValue::N(expires_at) = &record[&ttl_attribute] else {
        panic!("{ttl_attribute} is not a number: {record:?}");
    };
    let ahead = expires_at.parse::<i64>().unwrap() - taskgate_tests::now();
    assert!((24 * 3600 - 60..=24 * 3600).contains(&ahead), "{ahead}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_reaching_a_new_instance_is_still_replayed() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let first = post_task(&*app_on(local, &table).await, "once", Some("cold-key")).await;
    assert_eq!(first.status, 201);
    // Another cold start: a new client, no memory of the first.
    let retry = post_task(&*app_on(local, &table).await, "once", Some("cold-key")).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, first.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_or_edited_cursors_are_400_and_never_reach_another_user() {
    let local = dynamodb_local::shared();
    let app = app_on(local, &local.new_table().await).await;
    for n in 0..3 {
        app.create_task(USER, &format!("mine {n}")).await;
        app.create_task(OTHER_USER, &format!("theirs {n}")).await;
    }
    let page = list(&app, USER, "limit=1").await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let task_id = page.body["items"][0]["id"].as_str().unwrap();

    let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let edited = [
        "garbage".to_string(),
        format!("{cursor}A"),
        cursor[..cursor.len() - 2].to_string(),
        encode(task_id),
        encode("#idempotency#retry-key"),
        encode(&format!("{OTHER_USER}#{task_id}")),
        "A".repeat(4000),
    ];
    for bad in &edited {
        let response = list(&app, USER, &format!("cursor={bad}")).await;
        response.assert_problem(400);
    }

    // Any one-character edit is a 400: the cursor carries a check bound to its user.
    for position in 0..cursor.len() {
        for replacement in ['A', 'z', '0', '_'] {
            let mut changed = cursor.clone();
            changed.replace_range(position..=position, &replacement.to_string());
            if changed != cursor {
                list(&app, USER, &format!("cursor={changed}"))
                    .await
                    .assert_problem(400);
            }
        }
    }

    // Another user's cursor is not one made for this user.
    let theirs = list(&app, OTHER_USER, "limit=1").await;
    let their_cursor = theirs.body["next_cursor"].as_str().unwrap();
    list(&app, USER, &format!("cursor={their_cursor}"))
        .await
        .assert_problem(400);
    let own = list(&app, USER, &format!("cursor={cursor}")).await;
    assert_eq!(own.status, 200);
    for item in own.body["items"].as_array().unwrap() {
        assert_eq!(item["user_id"], USER);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_503_and_the_api_serves_again_when_dynamodb_is_back() {
    let dir = scratch_dir("outage");
    let mut local = DynamoDbLocal::persisted(&dir);
    let table = local.new_table().await;
    let app = app_on(&local, &table).await;
    let toggled = app.create_task(USER, "toggled before the outage").await;
    let complete = format!(
        "/api/{USER}/tasks/{}/complete",
        toggled["id"].as_str().unwrap()
    );
    let toggle = app
        .call(Method::PATCH, &complete)
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(toggle.status, 200);

    // A run of writes, one after another, while DynamoDB Local stops and starts again.
    let done = Arc::new(AtomicBool::new(false));
    let after_restart = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (app, done, after_restart) = (app.clone(), done.clone(), after_restart.clone());
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..2000 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let response = post_task(&app, &format!("write {n}"), None).await;
                if response.status == 201 && after_restart.load(Ordering::SeqCst) > 0 {
                    after_restart.fetch_add(1, Ordering::SeqCst);
                }
                outcomes.push(response);
            }
            outcomes
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(|| local.stop());
    tokio::time::sleep(Duration::from_secs(2)).await;
    // While it is down, a write is 503 with Retry-After.
    let during = post_task(&app, "during the outage", None).await;
    during.assert_problem(503);
    assert_eq!(during.header("retry-after"), Some("1"));
    let toggle = app
        .call(Method::PATCH, &complete)
        .token(&token_for(USER))
        .send()
        .await;
    toggle.assert_problem(503);
    assert!(!during.body.to_string().to_lowercase().contains("dynamo"));

    tokio::task::block_in_place(|| local.restart());
    after_restart.store(1, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    while after_restart.load(Ordering::SeqCst) < 4 {
        assert!(Instant::now() < deadline, "writes did not succeed again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done.store(true, Ordering::SeqCst);
    let outcomes = writer.await.unwrap();

    let failed: Vec<_> = outcomes.iter().filter(|r| r.status != 201).collect();
    assert!(!failed.is_empty(), "the outage was not seen");
    for response in &failed {
        response.assert_problem(503);
        assert_eq!(response.header("retry-after"), Some("1"));
    }
    let acknowledged: Vec<&Value> = outcomes
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| &r.body)
        .collect();
    for task in &acknowledged {
        let path = format!("/api/{USER}/tasks/{}", task["id"].as_str().unwrap());
        let stored = app
            .call(Method::GET, &path)
            .token(&token_for(USER))
            .send()
            .await;
        assert_eq!(stored.status, 200, "an acknowledged write is gone: {task}");
        assert_eq!(&stored.body, *task);
    }
    let toggled_now = app
        .call(
            Method::GET,
            &format!("/api/{USER}/tasks/{}", toggled["id"].as_str().unwrap()),
        )
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(toggled_now.body["version"], 2);
    assert_eq!(toggled_now.body["completed"], true);
    drop(local);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_opens_the_connection_and_never_waits_long() {
    // An endpoint that accepts connections and never answers.
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    {
        let accepted = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in silent.incoming().take(64) {
                accepted.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
    }
    let started = Instant::now();
    let loader = sdk_config_loader()
        .endpoint_url(&endpoint)
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .credentials_provider(test_credentials());
    let store = DynamoDbStore::from_loader(loader, "tasks").await.unwrap();
    let init = started.elapsed();
    assert!(
        init < PRIME_TIMEOUT + Duration::from_millis(700),
        "{init:?}"
    );
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "init opened no connection"
    );

    // A request to a DynamoDB that never answers gives up well inside a Lambda timeout.
    let started = Instant::now();
    let error = store
        .get(USER, "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap())
        .await;
    assert!(matches!(error, Err(StoreError::Unavailable)), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// `App::from_config` reads only the standard environment. Environment variables are process-wide, so
/// this test runs itself again in a child process with them set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_configure_dynamodb_from_the_standard_environment() {
    const CHILD: &str = "TASKGATE_FROM_ENV_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let config = taskgate::config::Config::from_env().expect("config");
        let app = TestApp {
            app: taskgate::App::from_config(&config, &taskgate::http::routes::ROUTES)
                .await
                .expect("app"),
        };
        let created = app.create_task(USER, "from the environment").await;
        let path = format!("/api/{USER}/tasks/{}", created["id"].as_str().unwrap());
        let read = app
            .call(Method::GET, &path)
            .token(&token_for(USER))
            .send()
            .await;
        assert_eq!(read.body, created);
        return;
    }
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let credentials = test_credentials();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_functions_configure_dynamodb_from_the_standard_environment",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("TASKS_TABLE", &table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env(
            "AUTH_HS256_SECRET",
            String::from_utf8(taskgate_tests::SECRET.to_vec()).unwrap(),
        )
        .env("AUTH_ISSUER", taskgate_tests::ISSUER)
        .env("AUTH_AUDIENCE", taskgate_tests::ISSUER)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The child wrote through the environment's endpoint into this table.
    let page = local
        .store(&table)
        .await
        .list(
            USER,
            taskgate::tasks::ListQuery {
                status: Default::default(),
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}
