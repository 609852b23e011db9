//! The metrics the functions emit: each invocation's Embedded Metric Format line, made as the
//! functions make it (`Metrics::invocation` around `taskgate::lambda::invoke` and the route's
//! handler, or the authorizer's answer) from the `events/` fixtures, checked against the EMF
//! specification's structure and for what it counts. No line holds a user id, a token or a
//! secret, in a dimension or anywhere else. The stand-ins are real: DynamoDB Local, moto's STS
//! and Secrets Manager, a JWKS server, behind a front door that can throttle.

#[allow(dead_code)]
#[path = "catalogue/keys.rs"]
mod keys;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::Context;
use lambda_http::LambdaEvent;
use lambda_http::http::Method;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use taskgate::auth::Authenticator;
use taskgate::authorizer::Authorizer;
use taskgate::config::{AuthConfig, KeySource, RefreshPolicy};
use taskgate::http::routes::ROUTES;
use taskgate::metrics::{Metric, Metrics};
use taskgate::revocation::MemoryRevocations;
use taskgate::tasks::dynamodb::{DynamoDbStore, TenantClients};
use taskgate::tasks::memory::MemoryStore;
use taskgate::{App, Route, handlers, lambda};
use taskgate_tests::aws_front_door::{AwsFrontDoor, Refusal};
use taskgate_tests::dynamodb_local::{self, store_at};
use taskgate_tests::iam_stand_ins::IamStandIns;
use taskgate_tests::jwks_server::JwksServer;
use taskgate_tests::moto::Moto;
use taskgate_tests::{
    ISSUER, OTHER_USER, SECRET, TOKEN_PLACEHOLDER, TestApp, USER, claims_for, hs256_config,
    repo_path, spawn_app, token_for,
};

const NAMESPACE: &str = "taskgate/metrics-test";
const TASK_ID_PLACEHOLDER: &str = "REPLACE_WITH_TASK_ID";
/// The units CloudWatch accepts (`MetricDatum.Unit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

fn metrics_for(function: &str) -> Metrics {
    Metrics::from_lookup(
        |name| (name == "METRICS_NAMESPACE").then(|| NAMESPACE.to_string()),
        function,
    )
    .expect("metrics settings")
}

/// Checks `line` against the EMF specification's document structure and returns it parsed:
/// one JSON object on one line; `_aws` with a `Timestamp` (epoch milliseconds, within what
/// CloudWatch accepts) and `CloudWatchMetrics` directives, each with a `Namespace`,
/// `Dimensions` (sets of at most 30 keys, each naming a top-level string member) and
/// `Metrics` (at most 100, each `Name` a top-level member holding a number, each `Unit` a
/// CloudWatch unit); no member the specification does not define in `_aws` or a directive.
fn emf(line: &str, function: &str) -> Value {
    assert!(!line.contains('\n'), "one line: {line}");
    let document: Value = serde_json::from_str(line).expect("a JSON document");
    let root = document.as_object().expect("a JSON object");
    let aws = root["_aws"].as_object().expect("_aws is an object");
    let keys: Vec<&str> = aws.keys().map(String::as_str).collect();
    assert_eq!(keys, ["CloudWatchMetrics", "Timestamp"], "{line}");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let timestamp = Duration::from_millis(aws["Timestamp"].as_u64().expect("an integer"));
    assert!(timestamp <= now + Duration::from_secs(7200), "{line}");
    assert!(
        timestamp + Duration::from_secs(14 * 86_400) >= now,
        "{line}"
    );
    let directives = aws["CloudWatchMetrics"].as_array().expect("an array");
    assert!(!directives.is_empty(), "{line}");
    for directive in directives {
        let directive = directive.as_object().expect("a directive object");
        let mut members: Vec<&str> = directive.keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["Dimensions", "Metrics", "Namespace"], "{line}");
        assert_eq!(directive["Namespace"], NAMESPACE);
        for set in directive["Dimensions"].as_array().expect("dimension sets") {
            let set = set.as_array().expect("a dimension set");
            assert!(set.len() <= 30, "{line}");
            for key in set {
                let key = key.as_str().expect("a dimension key");
                assert!(
                    root[key].is_string(),
                    "dimension {key} is a string member: {line}"
                );
            }
        }
        let metrics = directive["Metrics"].as_array().expect("metric definitions");
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{line}");
        for definition in metrics {
            let name = definition["Name"].as_str().expect("a metric name");
            assert!(
                root[name].is_number(),
                "metric {name} is a number member: {line}"
            );
            assert!(UNITS.contains(&definition["Unit"].as_str().expect("a unit")));
        }
    }
    assert_eq!(document["FunctionName"], function, "the dimension's value");
    assert_secret_free(line);
    document
}

/// No user id, token or secret anywhere in the line (so in no dimension either).
fn assert_secret_free(line: &str) {
    let secret = String::from_utf8_lossy(SECRET).into_owned();
    for (what, forbidden) in [
        ("the user id", USER.to_string()),
        ("the other user's id", OTHER_USER.to_string()),
        ("the signing secret", secret),
        ("a token", "eyJ".to_string()),
    ] {
        assert!(!line.contains(&forbidden), "{what} in {line}");
    }
}

/// The value of a counter in a line (0 when it is not there: zeros are left out).
fn counted(document: &Value, metric: Metric) -> u64 {
    document[metric.name()].as_u64().unwrap_or(0)
}

/// The `Auth*` refusal metrics a line counts.
fn auth_reasons(document: &Value) -> Vec<&'static str> {
    Metric::ALL
        .iter()
        .map(|metric| metric.name())
        .filter(|name| name.starts_with("Auth") && document[*name].as_u64().is_some())
        .collect()
}

fn fixture(route: Route, name: &str, task_id: &str) -> String {
    let path = repo_path(&format!("events/{}/{name}.json", route.function_name()));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace(TOKEN_PLACEHOLDER, &token_for(USER))
        .replace(TASK_ID_PLACEHOLDER, task_id)
}

/// One invocation of `route`'s function with the event `text`, as its binary runs it: the
/// answer's status and the invocation's EMF line, parsed and checked.
async fn invoke(metrics: &Metrics, app: &App, route: Route, text: String) -> (u16, Value) {
    let event = LambdaEvent::new(RawValue::from_string(text).unwrap(), Context::default());
    let handled = lambda::invoke(event, |request| handlers::handle(app, route, request));
    let (answer, line) = metrics.invocation(handled).await;
    let answer = serde_json::to_value(&answer).expect("the answer serializes");
    let status = answer["statusCode"].as_u64().expect("a status") as u16;
    (status, emf(&line, route.function_name()))
}

#[tokio::test]
async fn every_route_counts_its_status_class_and_each_refusal_by_reason() {
    for route in ROUTES {
        let app = spawn_app().await;
        let task = app.create_task(USER, "measured").await;
        let task_id = task["id"].as_str().unwrap();
        let metrics = metrics_for(route.function_name());
        let run = |name| invoke(&metrics, &app.app, route, fixture(route, name, task_id));

        let (status, missing) = run("missing-token").await;
        assert_eq!(status, 401, "{route:?}");
        assert_eq!(auth_reasons(&missing), ["AuthMissing"], "{route:?}");
        for metric in [Metric::Requests, Metric::Status4xx, Metric::Unauthorized] {
            assert_eq!(counted(&missing, metric), 1, "{route:?} {metric:?}");
        }
        assert!(missing["Latency"].as_f64().is_some_and(|ms| ms >= 0.0));

        // `not.a.jwt` on the collection routes, a broken signature on the others.
        let (status, bad) = run("bad-token").await;
        assert_eq!(status, 401, "{route:?}");
        let reason = auth_reasons(&bad);
        assert!(
            reason == ["AuthMalformed"] || reason == ["AuthBadSignature"],
            "{route:?}: {reason:?}"
        );
        assert_eq!(counted(&bad, Metric::Unauthorized), 1, "{route:?}");

        let (status, cross) = run("other-user").await;
        assert_eq!(status, 403, "{route:?}");
        assert_eq!(auth_reasons(&cross), ["AuthCrossUser"], "{route:?}");
        assert_eq!(counted(&cross, Metric::Status4xx), 1, "{route:?}");
        assert_eq!(counted(&cross, Metric::Unauthorized), 0, "{route:?}");

        let (status, valid) = run("valid").await;
        assert!((200..300).contains(&status), "{route:?}: {status}");
        assert_eq!(counted(&valid, Metric::Status2xx), 1, "{route:?}");
        assert!(auth_reasons(&valid).is_empty(), "{route:?}: {valid}");
        assert_eq!(counted(&valid, Metric::Status5xx), 0, "{route:?}");
    }
}

#[tokio::test]
async fn a_revoked_token_and_an_event_that_is_not_an_event_are_counted() {
    let app = spawn_app().await;
    let metrics = metrics_for("list-tasks");
    let revoked = app
        .call(Method::DELETE, &format!("/api/{USER}/sessions"))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(revoked.status, 204);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = json!({"sub": USER, "iss": ISSUER, "aud": ISSUER,
                       "iat": taskgate_tests::now() - 60, "exp": taskgate_tests::now() + 600});
    let text = fixture(Route::ListTasks, "valid", "").replace(
        &token_for(USER),
        &taskgate_tests::hs256_token(&stale, SECRET),
    );
    let (status, line) = invoke(&metrics, &app.app, Route::ListTasks, text).await;
    assert_eq!(status, 401);
    assert_eq!(auth_reasons(&line), ["AuthRevoked"]);
    assert_eq!(counted(&line, Metric::Unauthorized), 1);

    let (status, refused) = invoke(&metrics, &app.app, Route::ListTasks, "[]".into()).await;
    assert_eq!(status, 400);
    assert_eq!(counted(&refused, Metric::Status4xx), 1);
}

#[tokio::test]
async fn the_authorizer_counts_each_refusal_by_reason() {
    // The committed tokens of the authorizer's fixtures are signed with this local-only secret
    // (events/README.md), so each gives its own reason.
    let secret = b"local-invoke-only-0123456789abcdef0123456789";
    let auth = AuthConfig {
        keys: KeySource::Hs256 {
            secret: secret.to_vec(),
            previous: None,
        },
        ..hs256_config()
    };
    let authorizer = Authorizer::new(
        Authenticator::new(&auth).await.unwrap(),
        Arc::new(MemoryRevocations::default()),
    );
    let token = taskgate_tests::hs256_token(&claims_for(USER), secret);
    let metrics = metrics_for("authorizer");
    let dir = repo_path("events/authorizer");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let event = std::fs::read_to_string(&path)
            .unwrap()
            .replace(TOKEN_PLACEHOLDER, &token);
        let (answer, line) = metrics.invocation(authorizer.answer(&event, None)).await;
        let line = emf(&line, "authorizer");
        assert_eq!(counted(&line, Metric::Requests), 1, "{name}");
        match name.as_str() {
            // Revocation needs a revoked state: without one, the token is valid.
            "valid" | "revoked" => {
                assert!(answer.is_authorized, "{name}");
                assert!(auth_reasons(&line).is_empty(), "{name}: {line}");
            }
            _ => {
                assert!(!answer.is_authorized, "{name}");
                assert_eq!(counted(&line, Metric::Unauthorized), 1, "{name}");
                let reasons = auth_reasons(&line);
                assert_eq!(reasons.len(), 1, "{name}: one reason: {line}");
                let expected = match name.as_str() {
                    "missing-token" => Some("AuthMissing"),
                    "expired" => Some("AuthExpired"),
                    "wrong-audience" => Some("AuthWrongAudience"),
                    "alg-none" | "basic-scheme" | "header-20kb" => Some("AuthMalformed"),
                    // An EdDSA token under an HS256 secret.
                    "unknown-kid" => Some("AuthBadSignature"),
                    _ => None,
                };
                if let Some(expected) = expected {
                    assert_eq!(reasons, [expected], "{name}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_throttles_and_the_sdks_retries_are_counted() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let aws = AwsFrontDoor::start(local.endpoint(), None).await;
    let store = Arc::new(store_at(&aws.endpoint, &table).await);
    let authenticator = Authenticator::new(&hs256_config()).await.unwrap();
    let app = App::new(authenticator, store);
    let test_app = TestApp { app };
    let task = test_app.create_task(USER, "throttled once").await;
    let task_id = task["id"].as_str().unwrap();
    let metrics = metrics_for("get-task");
    aws.refuse_times(
        "GetItem",
        Refusal::dynamodb("ProvisionedThroughputExceededException"),
        1,
    );
    let event = fixture(Route::GetTask, "valid", task_id);
    let (status, line) = invoke(&metrics, &test_app.app, Route::GetTask, event).await;
    assert_eq!(status, 200, "the SDK's retry succeeds");
    assert_eq!(counted(&line, Metric::DynamoDbThrottles), 1, "{line}");
    assert_eq!(counted(&line, Metric::DynamoDbRetries), 1, "{line}");
    let event = fixture(Route::GetTask, "valid", task_id);
    let (_, calm) = invoke(&metrics, &test_app.app, Route::GetTask, event).await;
    assert_eq!(counted(&calm, Metric::DynamoDbThrottles), 0);
    assert_eq!(counted(&calm, Metric::DynamoDbRetries), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_first_request_on_an_instance_counts_one_assume_role() {
    let stand_ins = IamStandIns::start().await;
    let config = &stand_ins.config;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(config), &stand_ins.table)
        .isolated(TenantClients::new(
            config,
            "arn:aws:iam::123456789012:role/taskgate-tenant-data",
            taskgate::app::item_access(Route::ListTasks),
        ));
    let app = App::new(
        Authenticator::new(&hs256_config()).await.unwrap(),
        Arc::new(store),
    );
    let metrics = metrics_for("list-tasks");
    let run = || {
        invoke(
            &metrics,
            &app,
            Route::ListTasks,
            fixture(Route::ListTasks, "valid", ""),
        )
    };
    let (status, first) = run().await;
    assert_eq!(status, 200);
    assert_eq!(counted(&first, Metric::StsAssumeRole), 1, "{first}");
    assert_eq!(counted(&first, Metric::StsFailures), 0);
    let (_, warm) = run().await;
    assert_eq!(
        counted(&warm, Metric::StsAssumeRole),
        0,
        "a warm user: {warm}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_fetches_and_their_failures_are_counted_at_start_and_on_a_request() {
    let key = keys::SigningKey::ed25519();
    let jwks = json!({"keys": [key.public_jwk("k1")]}).to_string();
    let server = JwksServer::start(jwks, 0).await;
    let refresh = RefreshPolicy {
        cooldown: Duration::ZERO,
        ..RefreshPolicy::JWKS
    };
    let auth = AuthConfig {
        keys: KeySource::JwksUrl {
            url: server.url.parse().unwrap(),
            refresh,
        },
        ..hs256_config()
    };
    let metrics = metrics_for("list-tasks");
    let (authenticator, start) = metrics.start(Authenticator::new(&auth)).await;
    let start = emf(&start.expect("the start fetched the JWKS"), "list-tasks");
    assert_eq!(counted(&start, Metric::JwksFetches), 1);
    assert_eq!(
        counted(&start, Metric::Requests),
        0,
        "a start is no request"
    );
    let app = App::new(authenticator.unwrap(), Arc::new(MemoryStore::new()));

    server.set_down(true);
    let unknown = keys::SigningKey::ed25519();
    let token = keys::sign(
        &unknown,
        &json!({"alg": "EdDSA", "kid": "k2"}),
        &claims_for(USER),
    );
    let event = fixture(Route::ListTasks, "valid", "").replace(&token_for(USER), &token);
    let (status, line) = invoke(&metrics, &app, Route::ListTasks, event).await;
    assert_eq!(status, 401);
    assert_eq!(
        counted(&line, Metric::JwksFetches),
        1,
        "an unknown kid refreshes"
    );
    assert_eq!(counted(&line, Metric::JwksFailures), 1, "{line}");
    assert_eq!(auth_reasons(&line), ["AuthUnknownKey"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_reads_are_counted_at_start() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let id = "taskgate/metrics";
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(id)
        .secret_string(String::from_utf8_lossy(SECRET))
        .send()
        .await
        .expect("CreateSecret");
    let auth = AuthConfig {
        keys: KeySource::Hs256SecretId {
            id: id.into(),
            refresh: RefreshPolicy::SECRET,
        },
        ..hs256_config()
    };
    let metrics = metrics_for("create-task");
    let (authenticator, start) = metrics
        .start(Authenticator::with_aws(&auth, Some(&sdk)))
        .await;
    authenticator.expect("the secret is read");
    let start = emf(&start.expect("a line"), "create-task");
    assert_eq!(
        counted(&start, Metric::SecretReads),
        2,
        "AWSCURRENT and AWSPREVIOUS"
    );
    assert_eq!(counted(&start, Metric::SecretFailures), 0);
}
