//! What only the DynamoDB store can show, on AWS DynamoDB Local through the real handlers:
//! concurrency, idempotency across instances, cursors, what a filtered list reads, the quota, an
//! outage and recovery, a DynamoDB turning slow mid-request, cold start.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::RequestExt;
use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate::Route;
use taskgate::aws::sdk_config_loader;
use taskgate::tasks::dynamodb::{DynamoDbStore, PRIME_TIMEOUT};
use taskgate::tasks::{TaskId, TaskStore};
use taskgate_tests::aws_front_door::AwsFrontDoor;
use taskgate_tests::dynamodb_local::{
    self, DynamoDbLocal, REGION, batch_put, scratch_dir, store_at, table_definition,
    test_credentials,
};
use taskgate_tests::log_capture::LogCapture;
use taskgate_tests::{OTHER_USER, TestApp, USER, hs256_config, spawn_app_with, token_for};
use tracing::instrument::WithSubscriber;

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

/// `count` concurrent toggles of one new task: each answer, and the task after them all.
async fn concurrent_toggles(count: usize) -> (Vec<taskgate_tests::TestResponse>, Value) {
    let local = dynamodb_local::shared();
    let app = app_on(local, &local.new_table().await).await;
    let task = app.create_task(USER, "flip me").await;
    let path = format!("/api/{USER}/tasks/{}", task["id"].as_str().unwrap());
    let toggles: Vec<_> = (0..count)
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
    let mut answers = Vec::new();
    for toggle in toggles {
        answers.push(toggle.await.unwrap());
    }
    let now = app
        .call(Method::GET, &path)
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(now.status, 200);
    assert_eq!(
        now.header("etag"),
        Some(&*format!("\"{}\"", now.body["version"]))
    );
    (answers, now.body)
}

/// The versions the successful toggles returned, sorted, after checking each flipped the state
/// it read (even versions are completed).
fn flipped_versions(answers: &[taskgate_tests::TestResponse]) -> Vec<u64> {
    let mut versions: Vec<u64> = answers
        .iter()
        .filter(|answer| answer.status == 200)
        .map(|answer| {
            let version = answer.body["version"].as_u64().unwrap();
            assert_eq!(answer.body["completed"], version % 2 == 0);
            version
        })
        .collect();
    versions.sort_unstable();
    versions
}

/// A toggle loses its conditional write only to another toggle that won, so as many concurrent
/// toggles as the attempt budget (10) all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_toggles_flip_the_task_ten_times() {
    let (answers, now) = concurrent_toggles(10).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(flipped_versions(&answers), (2..=11).collect::<Vec<u64>>());
    assert_eq!(now["version"], 11);
    assert_eq!(now["completed"], false, "10 flips leave it as it was");
}

/// Past the budget, a toggle still contended is our 503 with `Retry-After`; every 200 flipped
/// the task exactly once, and no other answer flipped it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_toggles_each_flip_once_or_answer_503() {
    let (answers, now) = concurrent_toggles(20).await;
    for answer in answers.iter().filter(|answer| answer.status != 200) {
        answer.assert_problem(503);
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
    let versions = flipped_versions(&answers);
    let flips = versions.len() as u64;
    assert!(flips >= 1);
    assert_eq!(versions, (2..=flips + 1).collect::<Vec<u64>>());
    assert_eq!(now["version"], flips + 1);
    assert_eq!(now["completed"], flips % 2 == 1);
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
async fn garbage_cursors_are_400_and_no_cursor_reaches_another_user() {
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

    // A cursor carries no check: an edited one, or another user's, only moves the position
    // within the caller's own partition, which always comes from the token.
    let theirs = list(&app, OTHER_USER, "limit=1").await;
    let their_cursor = theirs.body["next_cursor"].as_str().unwrap().to_string();
    let mut changed = cursor.clone();
    changed.replace_range(0..1, if cursor.starts_with('A') { "B" } else { "A" });
    for other in [their_cursor, changed] {
        let response = list(&app, USER, &format!("cursor={other}")).await;
        assert_eq!(response.status, 200, "{}", response.body);
        for item in response.body["items"].as_array().unwrap() {
            assert_eq!(item["user_id"], USER);
        }
    }
    let own = list(&app, USER, &format!("cursor={cursor}")).await;
    assert_eq!(own.status, 200);
    for item in own.body["items"].as_array().unwrap() {
        assert_eq!(item["user_id"], USER);
    }
}

/// How a run of writes is going.
#[derive(Debug, Default)]
struct Progress {
    created: usize,
    refused: usize,
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

    // A run of writes, one after another, while DynamoDB Local stops and starts again; the
    // test waits on the writer's progress, never on the clock.
    let done = Arc::new(AtomicBool::new(false));
    let (progress, mut seen) = tokio::sync::watch::channel(Progress::default());
    let writer = {
        let (app, done) = (app.clone(), done.clone());
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0.. {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let response = post_task(&app, &format!("write {n}"), None).await;
                progress.send_modify(|p| match response.status {
                    201 => p.created += 1,
                    _ => p.refused += 1,
                });
                outcomes.push(response);
            }
            outcomes
        })
    };
    seen.wait_for(|p| p.created >= 3).await.unwrap();
    tokio::task::block_in_place(|| local.stop());
    seen.wait_for(|p| p.refused >= 1).await.unwrap();
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
    let created_before = seen.borrow().created;
    seen.wait_for(|p| p.created >= created_before + 4)
        .await
        .unwrap();
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
    let silent = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let (accepted, mut connections) = tokio::sync::watch::channel(0_usize);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
            accepted.send_modify(|n| *n += 1);
        }
    });

    // The cold-start call gives up at PRIME_TIMEOUT, before the SDK's own (longer) attempt
    // timeout would: the log says it was our bound that ended it, not the SDK's.
    let capture = LogCapture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || writer.clone())
        .finish();
    let loader = sdk_config_loader()
        .endpoint_url(&endpoint)
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .credentials_provider(test_credentials());
    let store = DynamoDbStore::from_loader(loader, "tasks")
        .with_subscriber(subscriber)
        .await
        .unwrap();
    store.primed().await;
    let logs = capture.text();
    assert!(
        logs.contains("priming the DynamoDB connections timed out"),
        "{logs}"
    );
    assert!(
        PRIME_TIMEOUT < Duration::from_secs(2),
        "below the SDK's attempt timeout"
    );
    connections.wait_for(|n| *n >= 2).await.unwrap();

    // A request to a DynamoDB that never answers is our 503 at the request deadline, well
    // inside a Lambda timeout (the SDK alone would try for 3 s).
    let mut app = spawn_app_with(hs256_config(), Arc::new(store)).await;
    app.app = app.app.with_request_deadline(Duration::from_millis(500));
    let read = app
        .call(
            Method::GET,
            &format!("/api/{USER}/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        )
        .token(&token_for(USER))
        .send()
        .await;
    assert_deadline_problem(&read);
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
                limit: taskgate::tasks::PageLimit::new(10).unwrap(),
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

/// Tasks written straight into `table` with BatchWriteItem (25 a call), in the store's item
/// layout: `pending` older pending tasks, then `completed` newer completed ones whose
/// descriptions are long, as the issue measured.
async fn seed(local: &DynamoDbLocal, table: &str, pending: usize, completed: usize) {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let long = "d".repeat(1000);
    let items: Vec<HashMap<String, AttributeValue>> = (0..pending + completed)
        .map(|n| {
            let done = n >= pending;
            let id = TaskId::new(&IDS, chrono::Utc::now()).to_string();
            let state = if done { "completed" } else { "pending" };
            let s = |v: &str| AttributeValue::S(v.to_string());
            let mut item = HashMap::from([
                ("user_id".to_string(), s(USER)),
                ("task_id".to_string(), s(&id)),
                ("status_task".to_string(), s(&format!("{state}#{id}"))),
                ("title".to_string(), s(&format!("{state} {n}"))),
                ("completed".to_string(), AttributeValue::Bool(done)),
                ("created_at".to_string(), s(&now)),
                ("updated_at".to_string(), s(&now)),
                ("version".to_string(), AttributeValue::N("1".into())),
            ]);
            if done {
                item.insert("description".to_string(), s(&long));
            }
            item
        })
        .collect();
    batch_put(&local.client().await, table, &items).await;
}

/// Read units of the Queries the proxy answered since it was last cleared.
fn query_read_units(proxy: &AwsFrontDoor) -> Vec<f64> {
    proxy
        .calls_of("Query")
        .iter()
        .map(|call| {
            call.answer["ConsumedCapacity"]["CapacityUnits"]
                .as_f64()
                .unwrap_or_else(|| panic!("no ConsumedCapacity: {}", call.answer))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_list_reads_its_page_not_the_partition() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    seed(local, &table, 3, 2000).await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    let app = spawn_app_with(
        hs256_config(),
        Arc::new(store_at(&proxy.endpoint, &table).await),
    )
    .await;

    // What reading the whole partition costs: every task, strongly consistent.
    let client = local.client().await;
    let mut partition_units = 0.0;
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(&table)
            .key_condition_expression("user_id = :user")
            .expression_attribute_values(":user", AttributeValue::S(USER.into()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        partition_units += output
            .consumed_capacity()
            .unwrap()
            .capacity_units()
            .unwrap();
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    assert!(partition_units > 200.0, "{partition_units}");

    // The 3 older pending tasks under 2,000 newer completed ones: one Query, a page's cost.
    proxy.clear();
    let pending = list(&app, USER, "status=pending&limit=3").await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    let titles: Vec<&str> = pending.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["pending 2", "pending 1", "pending 0"]);
    assert_eq!(pending.body["next_cursor"], Value::Null);
    let units = query_read_units(&proxy);
    assert_eq!(units.len(), 1, "{units:?}");
    assert!(units[0] <= 1.0, "{units:?}");

    // A full page of completed tasks, and a cursor: what 100 items cost, not 2,000.
    proxy.clear();
    let completed = list(&app, USER, "status=completed&limit=100").await;
    assert_eq!(completed.status, 200, "{}", completed.body);
    assert_eq!(completed.body["items"].as_array().unwrap().len(), 100);
    assert!(completed.body["next_cursor"].is_string());
    let units = query_read_units(&proxy);
    assert_eq!(units.len(), 1, "{units:?}");
    assert!(
        units[0] * 10.0 < partition_units,
        "{units:?} of {partition_units}"
    );
}

/// An app whose store reaches DynamoDB Local through `proxy`, with a request deadline of
/// `deadline`.
async fn app_through(proxy: &AwsFrontDoor, table: &str, deadline: Duration) -> TestApp {
    let store = store_at(&proxy.endpoint, table).await;
    let mut app = spawn_app_with(hs256_config(), Arc::new(store)).await;
    app.app = app.app.with_request_deadline(deadline);
    app
}

/// Our 503: problem+json, `Retry-After`, and the deadline's detail.
fn assert_deadline_problem(response: &taskgate_tests::TestResponse) {
    response.assert_problem(503);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(
        response.body["detail"]
            .as_str()
            .unwrap()
            .contains("in time"),
        "{}",
        response.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_request_reuses_the_connection_the_cold_start_opened() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    // The request comes at once, before the priming has been waited for.
    let app = app_through(&proxy, &table, Duration::from_secs(5)).await;
    assert_eq!(list(&app, USER, "").await.status, 200);
    let calls = proxy.calls();
    let mut actions: Vec<&str> = calls.iter().map(|call| call.action.as_str()).collect();
    actions.sort_unstable();
    // Its Query and the revocation state's GetItem, at once.
    assert_eq!(
        actions,
        ["DescribeTable", "DescribeTable", "GetItem", "Query"]
    );
    let opened_at_init: BTreeSet<_> = proxy
        .calls_of("DescribeTable")
        .iter()
        .map(|call| call.peer)
        .collect();
    let used: BTreeSet<_> = calls
        .iter()
        .filter(|call| call.action != "DescribeTable")
        .map(|call| call.peer)
        .collect();
    assert_eq!(
        used, opened_at_init,
        "two connections, both opened at init, one per call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_primes_in_the_background() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    proxy.hold("DescribeTable");
    // The store is built while its cold-start call is still unanswered (init loads the keys
    // meanwhile, then waits for it).
    let app = app_through(&proxy, &table, Duration::from_secs(5)).await;
    proxy.until_held(1).await;
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
    // The first request is served once the priming gives up (PRIME_TIMEOUT).
    assert_eq!(list(&app, USER, "").await.status, 200);
    assert_eq!(proxy.calls_of("Query").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_turning_slow_mid_request_is_our_503_at_the_deadline() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    // Shorter than the SDK's own timeouts (2 s an attempt), so only the deadline can answer.
    let app = app_through(&proxy, &table, Duration::from_millis(800)).await;
    let task = app.create_task(USER, "toggle me").await;
    let complete = format!(
        "/api/{USER}/tasks/{}/complete",
        task["id"].as_str().unwrap()
    );

    // The toggle reads the task (the revocation state is cached since the create), then its
    // conditional write never returns.
    proxy.clear();
    proxy.hold("UpdateItem");
    let toggle = app
        .call(Method::PATCH, &complete)
        .token(&token_for(USER))
        .send()
        .await;
    assert_deadline_problem(&toggle);
    assert_eq!(proxy.calls_of("GetItem").len(), 1, "the read went through");
    proxy.until_held(1).await;

    // A create's transaction never returns.
    proxy.hold("TransactWriteItems");
    assert_deadline_problem(&post_task(&app, "never stored", Some("slow-key")).await);
    proxy.until_held(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_past_the_quota_is_a_409_problem() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let store = local.store(&table).await.with_quota(2);
    let app = spawn_app_with(hs256_config(), Arc::new(store)).await;
    assert_eq!(post_task(&app, "one", Some("key-1")).await.status, 201);
    assert_eq!(post_task(&app, "two", None).await.status, 201);
    let refused = post_task(&app, "three", None).await;
    refused.assert_problem(409);
    assert!(
        refused.body["type"]
            .as_str()
            .unwrap()
            .ends_with("task-quota-exceeded"),
        "{}",
        refused.body
    );
    // A replay of a create that succeeded is still answered.
    let replay = post_task(&app, "one", Some("key-1")).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        list(&app, USER, "").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_invocations_own_deadline_caps_the_request_deadline() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    // A request deadline far beyond the invocation's: the invocation's must end the request.
    let app = app_through(&proxy, &table, Duration::from_secs(600)).await;
    let task = app.create_task(USER, "read me").await;
    proxy.hold("GetItem");
    let mut context = lambda_http::Context::default();
    let ends = SystemTime::now() + Duration::from_millis(1500);
    context.deadline = ends.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let request = app
        .call(
            Method::GET,
            &format!("/api/{USER}/tasks/{}", task["id"].as_str().unwrap()),
        )
        .token(&token_for(USER))
        .request()
        .with_lambda_context(context);
    // Before the SDK's own timeouts (3 s a call) could answer, our 503 does.
    assert_deadline_problem(&app.send_to(Route::GetTask, request).await);
    proxy.until_held(1).await;
}
