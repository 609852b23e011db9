//! `make coldstart`: what a Lambda user pays at a cold start, measured side by side with
//! baselines in the same run. Each target is started `COLDSTART_RUNS` times (default 20), a
//! fresh process each time, with the environment Lambda sets and nothing else, against the
//! Runtime API played on loopback (`runtime_api.rs`), the targets taking turns after one
//! warm-up start each, DynamoDB Local with the table, `AUTH_JWKS`
//! inline with an Ed25519 key and a valid EdDSA token in an `events/` fixture. Per start: init
//! (spawn to the first `GET next`), the first invocation and a second, warm one (event handed
//! out to answer received), CPU time of all the process's threads (`/proc/PID/task/*/schedstat`),
//! and peak RSS (`VmHWM`). Prints medians and ratios as a Markdown table.
//!
//! Targets: `list-tasks`, `get-task`, `create-task` and the Lambda `authorizer` (on
//! `events/authorizer/valid.json`; its warm answer reads the revocation state from its cache,
//! as a route's does) (release builds in `target/release/`);
//! `coldstart-hello` (the smallest `lambda_http` function); `coldstart-naive` (list-tasks' init
//! done the straightforward way, `bench/naive`); and the FastAPI recipe (`bench/fastapi`, run by
//! AWS's `awslambdaric` with Mangum, from `bench/fastapi/.venv`).

#[allow(dead_code)]
#[path = "../../tests/catalogue/keys.rs"]
mod keys;
mod runtime_api;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use taskgate_tests::dynamodb_local::{DynamoDbLocal, REGION, test_credentials};
use taskgate_tests::{ISSUER, TOKEN_PLACEHOLDER, USER, claims_for, repo_path};

use keys::{SigningKey, sign};
use runtime_api::RuntimeApi;

/// The task the get-task event asks for (put where the fixture's placeholder is).
const FIXTURE_TASK: &str = "01KB5Q2X8J6S4W0M3T7R9VYZCE";
/// Where `events/` fixtures hold a task id.
const TASK_ID_PLACEHOLDER: &str = "REPLACE_WITH_TASK_ID";

/// A program to start, and the event it is sent (twice).
struct Target {
    name: &'static str,
    command: Vec<String>,
    event: &'static str,
}

/// One start.
struct Start {
    init: Duration,
    first: Duration,
    warm: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

fn main() {
    // `cargo test --all-targets` builds and runs benches without `--bench`: it only proves this
    // compiles; measuring needs the release builds `make coldstart` makes first.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("coldstart: built; `make coldstart` runs it");
        return;
    }
    let runs: usize = std::env::var("COLDSTART_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let local = DynamoDbLocal::in_memory();
    let table = runtime.block_on(async {
        let table = local.new_table().await;
        seed_task(&local, &table).await;
        table
    });
    let key = SigningKey::ed25519();
    let jwks = json!({ "keys": [key.public_jwk("coldstart")] }).to_string();
    let token = sign(
        &key,
        &json!({"alg": "EdDSA", "kid": "coldstart"}),
        &claims_for(USER),
    );
    let credentials = test_credentials();
    let environment: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart".into()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/29/[$LATEST]coldstart".into(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id().into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key().into(),
        ),
        ("AWS_SESSION_TOKEN", "coldstart".into()),
        (
            "LAMBDA_TASK_ROOT",
            repo_path("target/release").display().to_string(),
        ),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint()),
        ("TASKS_TABLE", table),
        ("AUTH_JWKS", jwks),
        ("AUTH_ISSUER", ISSUER.into()),
        ("AUTH_AUDIENCE", ISSUER.into()),
    ];

    // One warm-up start each, then the targets take turns, so that DynamoDB Local warming up
    // or the machine's load drifting weighs on all of them alike.
    let targets: Vec<(Target, String)> = targets()
        .into_iter()
        .map(|target| {
            let event = fixture(target.event, &token);
            (target, event)
        })
        .collect();
    let mut results: Vec<(&str, Vec<Start>)> =
        targets.iter().map(|(t, _)| (t.name, Vec::new())).collect();
    for run in 0..=runs {
        for ((target, event), (_, starts)) in targets.iter().zip(results.iter_mut()) {
            let measured = runtime.block_on(start(target, &environment, event));
            if run > 0 {
                starts.push(measured);
            }
        }
    }
    report(&results, runs);
}

fn targets() -> Vec<Target> {
    let release = |name: &str| {
        vec![
            repo_path(&format!("target/release/{name}"))
                .display()
                .to_string(),
        ]
    };
    let python = repo_path("bench/fastapi/.venv/bin/python");
    vec![
        Target {
            name: "list-tasks",
            command: release("list-tasks"),
            event: "list-tasks/valid.json",
        },
        Target {
            name: "get-task",
            command: release("get-task"),
            event: "get-task/valid.json",
        },
        Target {
            name: "create-task",
            command: release("create-task"),
            event: "create-task/valid.json",
        },
        Target {
            name: "authorizer",
            command: release("authorizer"),
            event: "authorizer/valid.json",
        },
        Target {
            name: "hello (lambda_http)",
            command: release("coldstart-hello"),
            event: "list-tasks/valid.json",
        },
        Target {
            name: "naive (list)",
            command: release("coldstart-naive"),
            event: "list-tasks/valid.json",
        },
        Target {
            name: "FastAPI (list)",
            command: vec![
                python.display().to_string(),
                "-m".into(),
                "awslambdaric".into(),
                "app.handler".into(),
            ],
            event: "list-tasks/valid.json",
        },
    ]
}

/// One cold start of `target`, two invocations, then the process is stopped.
async fn start(target: &Target, environment: &[(&str, String)], event: &str) -> Start {
    let program = PathBuf::from(&target.command[0]);
    assert!(
        program.is_file(),
        "{} is missing: run `make coldstart` (it builds the release binaries and bench/fastapi/.venv)",
        program.display()
    );
    let api = RuntimeApi::start(vec![event.to_string(), event.to_string()]).await;
    let started = std::time::Instant::now();
    let mut child = Command::new(&program)
        .args(&target.command[1..])
        .current_dir(repo_path("bench/fastapi"))
        .env_clear()
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_FUNCTION_NAME", target.name)
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let finished = api.finished(Duration::from_secs(30)).await;
    let (cpu, peak_rss_kib) = process_usage(child.id());
    let _ = child.kill();
    let _ = child.wait();
    if let Err(error) = finished {
        panic!("{}: {error}", target.name);
    }
    let record = api.record();
    for (_, body) in &record.answered {
        let answer: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        // A route's 200 or 201, or the authorizer's allow.
        let served = matches!(answer["statusCode"].as_u64(), Some(200 | 201))
            || answer["isAuthorized"] == true;
        assert!(served, "{}: answered {body}", target.name);
    }
    Start {
        init: record.first_next.expect("asked for an event") - started,
        first: record.answered[0].0 - record.handed[0],
        warm: record.answered[1].0 - record.handed[1],
        cpu,
        peak_rss_kib,
    }
}

/// CPU time of all the process's threads, and its peak resident set (`VmHWM`).
fn process_usage(pid: u32) -> (Duration, u64) {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    (Duration::from_nanos(nanos), peak)
}

/// An `events/` fixture with the token in place.
fn fixture(name: &str, token: &str) -> String {
    let path = repo_path(&format!("events/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.replace(TOKEN_PLACEHOLDER, token)
        .replace(TASK_ID_PLACEHOLDER, FIXTURE_TASK)
}

/// The task the get-task event reads, so that every target answers 200.
async fn seed_task(local: &DynamoDbLocal, table: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::{Bool, N, S};
    local
        .client()
        .await
        .put_item()
        .table_name(table)
        .item("user_id", S(USER.into()))
        .item("task_id", S(FIXTURE_TASK.into()))
        .item("title", S("seeded".into()))
        .item("completed", Bool(false))
        .item("status_task", S(format!("pending#{FIXTURE_TASK}")))
        .item("created_at", S("2026-11-29T09:00:00.000Z".into()))
        .item("updated_at", S("2026-11-29T09:00:00.000Z".into()))
        .item("version", N("1".into()))
        .send()
        .await
        .expect("seed the fixture's task");
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn report(results: &[(&str, Vec<Start>)], runs: usize) {
    let med = |starts: &[Start], f: fn(&Start) -> Duration| median(starts.iter().map(f).collect());
    let init_of = |name: &str| {
        results
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, starts)| med(starts, |s| s.init))
            .expect("target")
    };
    let naive = init_of("naive (list)");
    println!("Medians of {runs} cold starts per target.\n");
    println!(
        "| target | init | init / naive | first invocation | warm invocation | first / warm | CPU | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, starts) in results {
        let (init, first, warm) = (
            med(starts, |s| s.init),
            med(starts, |s| s.first),
            med(starts, |s| s.warm),
        );
        let mut rss: Vec<u64> = starts.iter().map(|s| s.peak_rss_kib).collect();
        rss.sort_unstable();
        println!(
            "| {name} | {:.1} ms | {:.2}x | {:.2} ms | {:.2} ms | {:.2}x | {:.1} ms | {:.1} MiB |",
            ms(init),
            init.as_secs_f64() / naive.as_secs_f64(),
            ms(first),
            ms(warm),
            first.as_secs_f64() / warm.as_secs_f64(),
            ms(med(starts, |s| s.cpu)),
            rss[rss.len() / 2] as f64 / 1024.0,
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
