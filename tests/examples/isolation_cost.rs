//! What `DATA_ISOLATION=iam` costs per request, measured against the real stand-ins: moto's STS
//! and DynamoDB Local, each on loopback. For each of 100 users, the user's first request on an
//! instance (in `iam` mode: one `AssumeRole`, then the call) and a warm one (cached session), in
//! both modes, through the real handlers. Prints medians and 90th percentiles.
//!
//! `cargo run -p taskgate-tests --example isolation_cost` (after `make test-deps`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::http::Method;
use taskgate::App;
use taskgate::app::item_access_of;
use taskgate::auth::Authenticator;
use taskgate::aws::{load, sdk_config_loader};
use taskgate::http::routes::ROUTES;
use taskgate::tasks::dynamodb::{DynamoDbStore, TenantClients};
use taskgate_tests::dynamodb_local::{DynamoDbLocal, REGION, test_credentials};
use taskgate_tests::moto::Moto;
use taskgate_tests::{TestApp, hs256_config, token_for};

const USERS: usize = 100;
const TENANT_ROLE: &str = "arn:aws:iam::123456789012:role/taskgate-tenant-data";

/// Set in the process that measures: the SDK reads the stand-ins' endpoints from the
/// environment, which a process can give its child safely but not set for itself.
const CHILD: &str = "TASKGATE_ISOLATION_COST_TABLE";

fn main() {
    if let Some(table) = std::env::var_os(CHILD) {
        return measure(&table.to_string_lossy());
    }
    let moto = Moto::start();
    let local = DynamoDbLocal::in_memory();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let table = runtime.block_on(local.new_table());
    let credentials = test_credentials();
    let status = std::process::Command::new(std::env::current_exe().expect("this example"))
        .env(CHILD, &table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint())
        .env("AWS_ENDPOINT_URL_STS", moto.endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .status()
        .expect("the measuring process starts");
    assert!(status.success(), "the measuring process failed");
}

/// Both modes on `table`, user by user.
fn measure(table: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // DynamoDB Local (Java) answers faster once warm: warm it before measuring either mode.
        let warm_up = app(table, false).await;
        for _ in 0..200 {
            timed_list(&warm_up, "warm-up").await;
        }
        println!("| mode | request | median | p90 |\n|---|---|---|---|");
        // The modes take turns, user by user, so that any drift hits both alike.
        let apps = [
            ("app", app(table, false).await),
            ("iam", app(table, true).await),
        ];
        let mut samples = vec![(Vec::new(), Vec::new()); apps.len()];
        for i in 0..USERS {
            for ((mode, app), (first, warm)) in apps.iter().zip(samples.iter_mut()) {
                let user = format!("{mode}-user-{i:04}");
                first.push(timed_list(app, &user).await);
                warm.push(timed_list(app, &user).await);
            }
        }
        for ((mode, _), (first, warm)) in apps.iter().zip(samples) {
            for (name, samples) in [("first for a user", first), ("warm", warm)] {
                let (median, p90) = percentiles(samples);
                println!("| {mode} | {name} | {median:.2?} | {p90:.2?} |");
            }
        }
    });
}

async fn app(table: &str, iam: bool) -> Arc<TestApp> {
    let config = load(sdk_config_loader()).await.expect("SDK settings");
    let mut store = DynamoDbStore::connect(&config, table);
    store.primed().await;
    if iam {
        store = store.isolated(TenantClients::new(
            &config,
            TENANT_ROLE,
            &item_access_of(&ROUTES),
        ));
    }
    let authenticator = Authenticator::new(&hs256_config()).await.expect("auth");
    Arc::new(TestApp {
        app: App::new(authenticator, Arc::new(store)),
    })
}

/// One `GET /api/{user}/tasks`, timed through the handler.
async fn timed_list(app: &TestApp, user: &str) -> Duration {
    let call = app
        .call(Method::GET, &format!("/api/{user}/tasks"))
        .token(&token_for(user));
    let started = Instant::now();
    let response = call.send().await;
    let took = started.elapsed();
    assert_eq!(response.status, 200, "{}", response.body);
    took
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    (samples[samples.len() / 2], samples[samples.len() * 9 / 10])
}
