//! What the revocation check costs per request, against DynamoDB Local on loopback, through the
//! real handlers and the DynamoDB store. Four set-ups side by side, each its own instance and
//! user with 20 tasks (or more: a list asks for 20): `REVOCATION_TTL_S=5` (the default) and
//! `REVOCATION_TTL_S=0` (the state read on every request), each for a user without revocation
//! state and for a user with state (signed out everywhere once and 20 sessions revoked).
//!
//! First the DynamoDB calls per request in steady state, counted through the recording front door
//! (`taskgate_tests::aws_front_door`); then the latency of get, list (20 tasks) and create,
//! the set-ups taking turns request by request, as p50 and p99 of `SAMPLES` requests each.
//!
//! `cargo run --release -p taskgate-tests --example revocation_cost` (after `make test-deps`;
//! docs/performance.md has the figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::http::Method;
use serde_json::json;
use taskgate_tests::aws_front_door::AwsFrontDoor;
use taskgate_tests::dynamodb_local::{DynamoDbLocal, store_at};
use taskgate_tests::{TestApp, hs256_config, spawn_app_with, token_for};

/// Requests timed per set-up and route.
const SAMPLES: usize = 1000;
/// Requests counted per set-up and route.
const COUNTED: usize = 100;
/// Tasks each user has (what a list returns).
const TASKS: usize = 20;
/// Sessions the user with state has revoked.
const REVOKED_SESSIONS: usize = 20;

/// One set-up: a name, its TTL, and whether its user has revocation state.
struct Setup {
    name: &'static str,
    ttl: Duration,
    with_state: bool,
}

const SETUPS: [Setup; 4] = [
    Setup {
        name: "TTL 5 s, no state",
        ttl: Duration::from_secs(5),
        with_state: false,
    },
    Setup {
        name: "TTL 5 s, user with state",
        ttl: Duration::from_secs(5),
        with_state: true,
    },
    Setup {
        name: "TTL 0 (read every request), no state",
        ttl: Duration::ZERO,
        with_state: false,
    },
    Setup {
        name: "TTL 0, user with state",
        ttl: Duration::ZERO,
        with_state: true,
    },
];

/// A set-up's instance, its user and the id of one of the user's tasks.
struct Instance {
    app: TestApp,
    user: String,
    task: String,
}

#[derive(Clone, Copy, Debug)]
enum Request {
    Get,
    List,
    Create,
}

const REQUESTS: [Request; 3] = [Request::Get, Request::List, Request::Create];

fn main() {
    let local = DynamoDbLocal::in_memory();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let table = local.new_table().await;
        let door = AwsFrontDoor::start(local.endpoint(), None).await;
        let mut counted = Vec::new();
        let mut timed = Vec::new();
        for (n, setup) in SETUPS.iter().enumerate() {
            let user = format!("cost-user-{n}");
            counted.push(instance(setup, &door.endpoint, &table, &user).await);
            timed.push(instance(setup, &local.endpoint(), &table, &user).await);
        }
        for (setup, instance) in SETUPS.iter().zip(&counted) {
            prepare(instance, setup.with_state).await;
        }
        // Every token below is issued after the sign-out of the user with state.
        tokio::time::sleep(Duration::from_millis(1100)).await;

        println!("DynamoDB calls per request, steady state ({COUNTED} requests each):\n");
        println!("| set-up | request | calls | of which revocation reads |\n|---|---|---|---|");
        for (setup, instance) in SETUPS.iter().zip(&counted) {
            for request in REQUESTS {
                send(instance, request).await; // the state cached, where it is
                door.clear();
                for _ in 0..COUNTED {
                    send(instance, request).await;
                }
                let calls = door.data_calls();
                let revocation_reads = calls
                    .iter()
                    .filter(|call| call.action == "GetItem" && call.body.contains("#revocation"))
                    .count();
                let per_request = |count: usize| count as f64 / COUNTED as f64;
                println!(
                    "| {} | {request:?} | {:.2} | {:.2} |",
                    setup.name,
                    per_request(calls.len()),
                    per_request(revocation_reads)
                );
            }
        }

        // DynamoDB Local (Java) answers faster once warm.
        for _ in 0..200 {
            for instance in &timed {
                for request in REQUESTS {
                    send(instance, request).await;
                }
            }
        }
        let mut samples = vec![vec![Vec::with_capacity(SAMPLES); REQUESTS.len()]; SETUPS.len()];
        for _ in 0..SAMPLES {
            for (instance, per_request) in timed.iter().zip(samples.iter_mut()) {
                for (request, samples) in REQUESTS.into_iter().zip(per_request.iter_mut()) {
                    samples.push(send(instance, request).await);
                }
            }
        }
        println!("\nLatency through the handler ({SAMPLES} requests each):\n");
        println!("| set-up | request | p50 | p99 |\n|---|---|---|---|");
        for (setup, per_request) in SETUPS.iter().zip(samples) {
            for (request, samples) in REQUESTS.into_iter().zip(per_request) {
                let (p50, p99) = percentiles(samples);
                println!("| {} | {request:?} | {p50:.2?} | {p99:.2?} |", setup.name);
            }
        }
    });
}

/// An instance of `setup` on the DynamoDB at `endpoint`, for `user`, with `TASKS` tasks.
async fn instance(setup: &Setup, endpoint: &str, table: &str, user: &str) -> Instance {
    let store = store_at(endpoint, table).await;
    store.primed().await;
    let mut app = spawn_app_with(hs256_config(), Arc::new(store)).await;
    app.app = app.app.with_revocation_ttl(setup.ttl);
    let mut task = String::new();
    for n in 0..TASKS {
        let created = app.create_task(user, &format!("task {n}")).await;
        task = created["id"].as_str().expect("an id").to_string();
    }
    Instance {
        app,
        user: user.to_string(),
        task,
    }
}

/// For a user with state: sessions revoked, then signed out everywhere.
async fn prepare(instance: &Instance, with_state: bool) {
    if !with_state {
        return;
    }
    let user = &instance.user;
    let paths = (0..REVOKED_SESSIONS)
        .map(|n| format!("/api/{user}/sessions/session-{n:02}-Yq3bN7vK2xW9mT4pR8sL6dF1"))
        .chain([format!("/api/{user}/sessions")]);
    for path in paths {
        let response = instance
            .app
            .call(Method::DELETE, &path)
            .token(&token_for(user))
            .send()
            .await;
        assert_eq!(response.status, 204, "{}", response.body);
    }
}

/// One request of `request`'s kind, timed through the handler (the token minted before).
async fn send(instance: &Instance, request: Request) -> Duration {
    let user = &instance.user;
    let (method, path, body) = match request {
        Request::Get => (
            Method::GET,
            format!("/api/{user}/tasks/{}", instance.task),
            None,
        ),
        Request::List => (
            Method::GET,
            format!("/api/{user}/tasks?limit={TASKS}"),
            None,
        ),
        Request::Create => (
            Method::POST,
            format!("/api/{user}/tasks"),
            Some(json!({"title": "measured"})),
        ),
    };
    let mut call = instance.app.call(method, &path).token(&token_for(user));
    if let Some(body) = body {
        call = call.json(body);
    }
    let started = Instant::now();
    let response = call.send().await;
    let took = started.elapsed();
    assert!(response.status < 300, "{request:?}: {}", response.body);
    if let Request::List = request {
        let items = response.body["items"].as_array().map_or(0, Vec::len);
        assert_eq!(items, TASKS);
    }
    took
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}
