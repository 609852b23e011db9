//! `make coldstart`: what a Lambda user pays at a cold start, measured side by side with
//! baselines in the same run. Each target is started `COLDSTART_RUNS` times (default 20), a
//! fresh process each time, with the environment Lambda sets and nothing else, against the
//! Runtime API played on loopback (`runtime_api.rs`), the targets taking turns after one
//! warm-up start each, on DynamoDB Local with the table. Per start: init (spawn to the first
//! `GET next`), the first answer and a second, warm one (event handed out to answer received),
//! CPU time of all the process's threads (`/proc/PID/task/*/schedstat`), and peak RSS
//! (`VmHWM`). Prints medians and ratios as Markdown tables, one per mode:
//!
//! - **deployed** (as the template deploys): the JWKS fetched over HTTPS from a local server
//!   whose certificate a CA made at start signed (`https_jwks.rs`, trusted through
//!   `AUTH_JWKS_CA_BUNDLE`), `DATA_ISOLATION=iam` with moto's STS (`AWS_ENDPOINT_URL_STS`), an
//!   EdDSA token. Targets: list-tasks, create-task, the authorizer; the baselines hello-world,
//!   the naive build doing the same work (`bench/naive`: JWKS fetch with the system's roots,
//!   `AssumeRole`, the query) and the FastAPI recipe (`bench/fastapi`). The same run times an
//!   `AssumeRole` and a DynamoDB `GetItem` from the harness, for the first answer's budget.
//!   `COLDSTART_RTT_MS` (default 0) puts that round trip between the functions (and the
//!   harness's own clients) and the three services, through proxies (`latency.rs`).
//! - **inline**: `AUTH_JWKS` inline and `app` isolation, the set-up of the figures before issue
//!   23 (list-tasks, get-task, create-task, the authorizer and the same baselines).
//!
//! `COLDSTART_MODE` (`deployed` or `inline`) runs one mode only, `COLDSTART_TARGETS` (names,
//! comma-separated) some targets only; for profiles, not figures, `COLDSTART_WRAP` runs each
//! target under a command (`strace -f -tt -o /tmp/trace`, `valgrind --tool=callgrind`) and
//! `COLDSTART_PROFILE=profiling` takes the Rust targets from `cargo build --profile profiling`.

mod https_jwks;
#[allow(dead_code)]
#[path = "../../tests/catalogue/keys.rs"]
mod keys;
mod latency;
mod runtime_api;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use taskgate::Route;
use taskgate::app::item_access_of;
use taskgate::tasks::dynamodb::{USER_TAG, session_policy};
use taskgate_tests::dynamodb_local::{DynamoDbLocal, REGION, scratch_dir, test_credentials};
use taskgate_tests::moto::Moto;
use taskgate_tests::{ISSUER, TOKEN_PLACEHOLDER, USER, claims_for, repo_path};

use https_jwks::HttpsJwks;
use keys::{SigningKey, sign};
use runtime_api::RuntimeApi;

/// The task the get-task event asks for (put where the fixture's placeholder is).
const FIXTURE_TASK: &str = "01KB5Q2X8J6S4W0M3T7R9VYZCE";
/// Where `events/` fixtures hold a task id.
const TASK_ID_PLACEHOLDER: &str = "REPLACE_WITH_TASK_ID";
/// The tenant role of `iam` isolation (moto assumes any role).
const TENANT_ROLE: &str = "arn:aws:iam::123456789012:role/taskgate-tenant-data";
/// The naive build, the baseline of the ratios: built as the workspace builds, its aws-lc
/// settings included (`.cargo/config.toml`).
const NAIVE: &str = "naive (list)";
/// The same naive build with aws-lc's default settings, as a project of its own would get it
/// (`make coldstart` builds it into [`NAIVE_DEFAULTS_DIR`]): its first TLS handshake seeds aws-lc
/// with CPU Jitter entropy.
const NAIVE_DEFAULTS: &str = "naive (aws-lc defaults)";
const NAIVE_DEFAULTS_DIR: &str = "target/naive-aws-lc-defaults/release";
/// The pause before each start, for the previous one's work (DynamoDB Local's, moto's, the
/// kernel's reclaiming its memory) to drain: the FastAPI start's runs on for tens of ms.
const SETTLE: Duration = Duration::from_millis(100);
/// The goals of the deployed mode (docs/performance.md).
const MAX_INIT_AND_FIRST_RATIO: f64 = 0.75;
const MAX_PEAK_RSS_MIB: f64 = 10.0;

/// A set-up of the functions' environment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Deployed,
    Inline,
}

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

/// What the deployed mode runs against, and the round trips the harness times there.
struct Deployment {
    jwks: HttpsJwks,
    /// STS, running as long as the deployment.
    _moto: Moto,
    /// The round trip the proxies add, and where the functions reach each service.
    rtt: Duration,
    dynamodb_endpoint: String,
    sts_endpoint: String,
    jwks_url: String,
    sts: aws_sdk_sts::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    assume_role: Vec<Duration>,
    get_item: Vec<Duration>,
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
    let modes = match std::env::var("COLDSTART_MODE").ok().as_deref() {
        None | Some("") => vec![Mode::Deployed, Mode::Inline],
        Some("deployed") => vec![Mode::Deployed],
        Some("inline") => vec![Mode::Inline],
        Some(other) => panic!("COLDSTART_MODE is deployed or inline, not {other:?}"),
    };
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
    let lambda = lambda_environment(&local, &table);
    for mode in modes {
        let mut environment = lambda.clone();
        let mut deployment = None;
        match mode {
            Mode::Inline => environment.push(("AUTH_JWKS", jwks.clone())),
            Mode::Deployed => {
                let deployed = runtime.block_on(deploy(&local, &table, jwks.clone(), round_trip()));
                environment.retain(|(name, _)| *name != "AWS_ENDPOINT_URL_DYNAMODB");
                environment.extend([
                    (
                        "AWS_ENDPOINT_URL_DYNAMODB",
                        deployed.dynamodb_endpoint.clone(),
                    ),
                    ("AUTH_JWKS_URL", deployed.jwks_url.clone()),
                    (
                        "AUTH_JWKS_CA_BUNDLE",
                        deployed.jwks.ca_bundle.display().to_string(),
                    ),
                    ("DATA_ISOLATION", "iam".into()),
                    ("TENANT_ROLE_ARN", TENANT_ROLE.into()),
                    ("AWS_ENDPOINT_URL_STS", deployed.sts_endpoint.clone()),
                ]);
                deployment = Some(deployed);
            }
        }
        let targets: Vec<(Target, String)> = targets(mode)
            .into_iter()
            .filter(selected)
            .map(|target| {
                let event = fixture(target.event, &token);
                (target, event)
            })
            .collect();
        let mut results: Vec<(&str, Vec<Start>)> =
            targets.iter().map(|(t, _)| (t.name, Vec::new())).collect();
        // One warm-up start each, then the targets take turns, so that DynamoDB Local and moto
        // warming up or the machine's load drifting weigh on all of them alike; in an order
        // rotated each round, so that none always follows the same one (the FastAPI start
        // leaves DynamoDB Local and the machine busy for a while).
        for run in 0..=runs {
            let mut order: Vec<usize> = (0..targets.len()).collect();
            order.rotate_left(run % targets.len());
            for index in order {
                let ((target, event), (_, starts)) = (&targets[index], &mut results[index]);
                let fetched = deployment.as_ref().map(|d| d.jwks.fetches());
                let measured = runtime.block_on(start(target, &environment, event));
                if let (Some(deployed), Some(before), true) =
                    (&deployment, fetched, is_taskgate(target.name))
                {
                    let fetches = deployed.jwks.fetches() - before;
                    assert_eq!(fetches, 1, "{}: one JWKS fetch, at init", target.name);
                }
                if run > 0 {
                    starts.push(measured);
                }
            }
            if let (Some(deployed), true) = (deployment.as_mut(), run > 0) {
                runtime.block_on(deployed.time_round_trips(&table));
            }
        }
        match &deployment {
            Some(deployed) => report_deployed(&results, deployed, runs),
            None => report_inline(&results, runs),
        }
    }
}

/// The environment Lambda sets, and the table on DynamoDB Local.
fn lambda_environment(local: &DynamoDbLocal, table: &str) -> Vec<(&'static str, String)> {
    let credentials = test_credentials();
    vec![
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
        ("TASKS_TABLE", table.to_string()),
        ("AUTH_ISSUER", ISSUER.into()),
        ("AUTH_AUDIENCE", ISSUER.into()),
    ]
}

/// The round trip between the functions and their services: `COLDSTART_RTT_MS`, default 0.
fn round_trip() -> Duration {
    let ms: f64 = std::env::var("COLDSTART_RTT_MS")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .expect("COLDSTART_RTT_MS is a number of milliseconds")
        })
        .unwrap_or(0.0);
    Duration::from_secs_f64(ms / 1000.0)
}

/// `http://127.0.0.1:PORT` (or `https://localhost:PORT/…`) reached through a proxy adding `rtt`,
/// or as it is without one.
async fn through_latency(url: &str, rtt: Duration) -> String {
    if rtt.is_zero() {
        return url.to_string();
    }
    let (scheme, rest) = url.split_once("://").expect("an absolute URL");
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let (host, port) = authority.rsplit_once(':').expect("a port");
    let proxied = latency::proxy(format!("127.0.0.1:{port}"), rtt).await;
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    format!("{scheme}://{host}:{proxied}{path}")
}

/// moto for STS, the HTTPS JWKS server, and the harness's own clients (through the same
/// latency as the functions), warmed up.
async fn deploy(local: &DynamoDbLocal, table: &str, jwks: String, rtt: Duration) -> Deployment {
    let moto = Moto::start();
    let jwks = HttpsJwks::start(jwks, &scratch_dir("coldstart")).await;
    let dynamodb_endpoint = through_latency(&local.endpoint(), rtt).await;
    let sts_endpoint = through_latency(&moto.endpoint(), rtt).await;
    let jwks_url = through_latency(&jwks.url, rtt).await;
    let sts = aws_sdk_sts::config::Builder::from(&moto.sdk_config().await)
        .endpoint_url(&sts_endpoint)
        .build();
    let dynamodb = local
        .client()
        .await
        .config()
        .to_builder()
        .endpoint_url(&dynamodb_endpoint)
        .build();
    let mut deployment = Deployment {
        sts: aws_sdk_sts::Client::from_conf(sts),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
        jwks,
        _moto: moto,
        rtt,
        dynamodb_endpoint,
        sts_endpoint,
        jwks_url,
        assume_role: Vec::new(),
        get_item: Vec::new(),
    };
    deployment.time_round_trips(table).await;
    deployment.assume_role.clear();
    deployment.get_item.clear();
    deployment
}

impl Deployment {
    /// One `AssumeRole` as a function makes it (tagged, with list-tasks' session policy) and
    /// one strongly consistent `GetItem`, each timed on an open connection.
    async fn time_round_trips(&mut self, table: &str) {
        let tag = aws_sdk_sts::types::Tag::builder()
            .key(USER_TAG)
            .value(USER)
            .build()
            .expect("tag");
        let started = Instant::now();
        self.sts
            .assume_role()
            .role_arn(TENANT_ROLE)
            .role_session_name("taskgate-coldstart")
            .tags(tag)
            .policy(session_policy(&item_access_of(&[Route::ListTasks])))
            .send()
            .await
            .expect("AssumeRole on moto");
        self.assume_role.push(started.elapsed());
        let started = Instant::now();
        let read = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key("user_id", AttributeValue::S(USER.into()))
            .key("task_id", AttributeValue::S(FIXTURE_TASK.into()))
            .consistent_read(true)
            .send()
            .await;
        self.get_item.push(started.elapsed());
        assert!(read.is_ok(), "GetItem: {read:?}");
    }
}

/// Whether `COLDSTART_TARGETS` (names, comma-separated; all when unset) names the target.
fn selected(target: &Target) -> bool {
    match std::env::var("COLDSTART_TARGETS") {
        Ok(names) if !names.is_empty() => names.split(',').any(|n| n.trim() == target.name),
        _ => true,
    }
}

fn targets(mode: Mode) -> Vec<Target> {
    let profile = std::env::var("COLDSTART_PROFILE").unwrap_or_else(|_| "release".into());
    let release = |name: &str| {
        vec![
            repo_path(&format!("target/{profile}/{name}"))
                .display()
                .to_string(),
        ]
    };
    let taskgate = |name: &'static str, event: &'static str| Target {
        name,
        command: release(name),
        event,
    };
    let baseline = |name: &'static str, command: Vec<String>| Target {
        name,
        command,
        event: "list-tasks/valid.json",
    };
    let python = repo_path("bench/fastapi/.venv/bin/python");
    let fastapi = vec![
        python.display().to_string(),
        "-m".into(),
        "awslambdaric".into(),
        "app.handler".into(),
    ];
    let mut targets = vec![taskgate("list-tasks", "list-tasks/valid.json")];
    if mode == Mode::Inline {
        targets.push(taskgate("get-task", "get-task/valid.json"));
    }
    targets.extend([
        taskgate("create-task", "create-task/valid.json"),
        taskgate("authorizer", "authorizer/valid.json"),
        baseline("hello (lambda_http)", release("coldstart-hello")),
        baseline(NAIVE, release("coldstart-naive")),
    ]);
    // Without TLS (the inline mode) aws-lc's settings change nothing.
    if mode == Mode::Deployed {
        let defaults = repo_path(&format!("{NAIVE_DEFAULTS_DIR}/coldstart-naive"));
        targets.push(baseline(
            NAIVE_DEFAULTS,
            vec![defaults.display().to_string()],
        ));
    }
    targets.push(baseline("FastAPI (list)", fastapi));
    targets
}

/// One cold start of `target`, two invocations, then the process is stopped.
async fn start(target: &Target, environment: &[(&str, String)], event: &str) -> Start {
    let program = PathBuf::from(&target.command[0]);
    assert!(
        program.is_file(),
        "{} is missing: run `make coldstart` (it builds the release binaries and bench/fastapi/.venv)",
        program.display()
    );
    let wrap: Vec<String> = std::env::var("COLDSTART_WRAP")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let command: Vec<&String> = wrap.iter().chain(&target.command).collect();
    let api = RuntimeApi::start(vec![event.to_string(), event.to_string()]).await;
    tokio::time::sleep(SETTLE).await;
    let started = Instant::now();
    let mut child = Command::new(command[0])
        .args(&command[1..])
        .current_dir(repo_path("bench/fastapi"))
        .env_clear()
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_FUNCTION_NAME", target.name)
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", command[0]));
    let finished = api.finished(Duration::from_secs(60)).await;
    let (cpu, peak_rss_kib) = process_usage(child.id());
    if wrap.is_empty() {
        let _ = child.kill();
    } else {
        // A profiler writes its data when interrupted, not when killed.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
    }
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

/// The medians of one target's starts.
struct Medians {
    init: Duration,
    first: Duration,
    warm: Duration,
    cpu: Duration,
    peak_rss_mib: f64,
}

impl Medians {
    fn of(starts: &[Start]) -> Self {
        let med = |f: fn(&Start) -> Duration| median(starts.iter().map(f).collect());
        let mut rss: Vec<u64> = starts.iter().map(|s| s.peak_rss_kib).collect();
        rss.sort_unstable();
        Self {
            init: med(|s| s.init),
            first: med(|s| s.first),
            warm: med(|s| s.warm),
            cpu: med(|s| s.cpu),
            peak_rss_mib: rss[rss.len() / 2] as f64 / 1024.0,
        }
    }

    /// What a user waits for at a cold start: init and the first answer (the median of their
    /// sums, start by start, is within noise of this).
    fn cold(&self) -> Duration {
        self.init + self.first
    }
}

fn medians<'a>(results: &'a [(&'a str, Vec<Start>)]) -> Vec<(&'a str, Medians)> {
    results
        .iter()
        .map(|(name, starts)| (*name, Medians::of(starts)))
        .collect()
}

fn baseline<'a>(medians: &'a [(&str, Medians)], name: &str) -> Option<&'a Medians> {
    medians.iter().find(|(n, _)| *n == name).map(|(_, m)| m)
}

fn report_inline(results: &[(&str, Vec<Start>)], runs: usize) {
    let medians = medians(results);
    let naive = baseline(&medians, NAIVE).map(|m| m.init);
    println!("\nInline mode (AUTH_JWKS inline, app isolation): medians of {runs} cold starts.\n");
    println!(
        "| target | init | init / naive | first answer | warm answer | first / warm | CPU | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, m) in &medians {
        println!(
            "| {name} | {:.1} ms | {} | {:.2} ms | {:.2} ms | {:.2}x | {:.1} ms | {:.1} MiB |",
            ms(m.init),
            ratio(m.init, naive),
            ms(m.first),
            ms(m.warm),
            m.first.as_secs_f64() / m.warm.as_secs_f64(),
            ms(m.cpu),
            m.peak_rss_mib,
        );
    }
}

fn report_deployed(results: &[(&str, Vec<Start>)], deployed: &Deployment, runs: usize) {
    let medians = medians(results);
    let naive = baseline(&medians, NAIVE).map(Medians::cold);
    let assume_role = median(deployed.assume_role.clone());
    let get_item = median(deployed.get_item.clone());
    println!(
        "\nDeployed mode (JWKS over HTTPS, iam isolation on moto's STS, {:.1} ms round trip to each): medians of {runs} cold starts.\n",
        ms(deployed.rtt)
    );
    println!(
        "| target | init | first answer | warm answer | init + first | (init + first) / naive | CPU | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, m) in &medians {
        println!(
            "| {name} | {:.1} ms | {:.2} ms | {:.2} ms | {:.1} ms | {} | {:.1} ms | {:.1} MiB |",
            ms(m.init),
            ms(m.first),
            ms(m.warm),
            ms(m.cold()),
            ratio(m.cold(), naive),
            ms(m.cpu),
            m.peak_rss_mib,
        );
    }
    println!(
        "\nRound trips timed by the harness in the same run (medians of {runs}, connection open): \
         AssumeRole {:.2} ms, DynamoDB GetItem {:.2} ms.\n",
        ms(assume_role),
        ms(get_item)
    );
    println!("| target | goal | measured | bound | met |");
    println!("|---|---|---|---|---|");
    let verdict = |met: bool| if met { "yes" } else { "**no**" };
    let naive_defaults = baseline(&medians, NAIVE_DEFAULTS).map(Medians::cold);
    for (name, m) in medians.iter().filter(|(name, _)| is_taskgate(name)) {
        let baselines = [(NAIVE, naive), (NAIVE_DEFAULTS, naive_defaults)];
        for (baseline, cold) in baselines.into_iter().filter(|_| *name == "list-tasks") {
            let Some(cold) = cold else { continue };
            let bound = cold.mul_f64(MAX_INIT_AND_FIRST_RATIO);
            println!(
                "| {name} | init + first ≤ {MAX_INIT_AND_FIRST_RATIO}x {baseline}'s | {:.1} ms ({}) | {:.1} ms | {} |",
                ms(m.cold()),
                ratio(m.cold(), Some(cold)),
                ms(bound),
                verdict(m.cold() <= bound)
            );
        }
        let budget = m.warm + assume_role + get_item;
        println!(
            "| {name} | first ≤ warm + AssumeRole + one DynamoDB call | {:.2} ms | {:.2} ms | {} |",
            ms(m.first),
            ms(budget),
            verdict(m.first <= budget)
        );
        println!(
            "| {name} | peak RSS ≤ {MAX_PEAK_RSS_MIB} MiB | {:.1} MiB | {MAX_PEAK_RSS_MIB:.1} MiB | {} |",
            m.peak_rss_mib,
            verdict(m.peak_rss_mib <= MAX_PEAK_RSS_MIB)
        );
    }
}

/// Whether the target is one of taskgate's functions, not a baseline.
fn is_taskgate(name: &str) -> bool {
    matches!(
        name,
        "list-tasks" | "get-task" | "create-task" | "authorizer"
    )
}

/// `value` as a ratio of `base`, or a dash without a base (the target was not selected).
fn ratio(value: Duration, base: Option<Duration>) -> String {
    base.map_or("–".into(), |base| {
        format!("{:.2}x", value.as_secs_f64() / base.as_secs_f64())
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
