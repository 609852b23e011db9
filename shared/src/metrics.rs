//! Metrics as CloudWatch Embedded Metric Format (EMF) lines: each invocation's counts and latency
//! as one JSON object on stdout, which CloudWatch Logs turns into metrics (no agent, no API call
//! per request). Code anywhere in an invocation counts with [`count`]; outside one (the local
//! server, a test that calls a handler directly) counting does nothing.
//!
//! A small module rather than a crate: `metrics_cloudwatch_embedded` builds on the `metrics`
//! facade's process-wide recorder, which would mix the counts of concurrent invocations (the
//! local server's, the tests'). Here each invocation's counts are its own (a task-local).
//!
//! Dimensions: the function's name (`FunctionName`, Lambda's own name for it: the AWS/Lambda
//! metrics' dimension too) and none (the stack's totals, for alarms). Nothing a user sends, no
//! user id, token or secret, ever becomes a dimension or a metric name.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lambda_http::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::config::ConfigError;

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "taskgate";
/// The dimension that names the function.
pub const FUNCTION_DIMENSION: &str = "FunctionName";
/// CloudWatch's limit for a namespace.
const MAX_NAMESPACE_CHARS: usize = 255;

/// What is counted. Each is a CloudWatch metric of the same name; docs/operations.md says what
/// each means and what to do when its alarm fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// An invocation: a request answered, or an authorizer decision.
    Requests,
    /// A route's answer, by status class.
    Status2xx,
    Status4xx,
    Status5xx,
    /// A 401 answered by a route, or a refusal by the authorizer.
    Unauthorized,
    /// A refused token, by reason (see [`crate::auth::AuthError::metric`]).
    AuthMissing,
    AuthMalformed,
    AuthExpired,
    AuthBadSignature,
    AuthWrongIssuer,
    AuthWrongAudience,
    AuthUnknownKey,
    AuthInvalidClaims,
    AuthRevoked,
    /// Keys could not be had to verify a token (503).
    AuthKeysUnavailable,
    /// A valid token on another user's path (403): no legitimate client sends one.
    AuthCrossUser,
    /// A DynamoDB request the SDK sent again (after a throttle, a 5xx, a timeout).
    DynamoDbRetries,
    /// A DynamoDB request (or a transaction's item) refused for throughput.
    DynamoDbThrottles,
    /// A conditional write or transaction lost to a concurrent one, and tried again.
    WriteConflicts,
    /// Tenant credentials asked of STS (`AssumeRole`, with the SDK's retries).
    StsAssumeRole,
    /// Such a request that failed, and the failures that were throttles.
    StsFailures,
    StsThrottles,
    /// A fetch of the JWKS, and a failed one.
    JwksFetches,
    JwksFailures,
    /// A `GetSecretValue` of the HS256 secret, and a failed one.
    SecretReads,
    SecretFailures,
    /// How long the invocation took, in milliseconds: measured, not counted.
    Latency,
}

impl Metric {
    /// Every metric, in the order they are declared.
    pub const ALL: [Metric; 27] = [
        Metric::Requests,
        Metric::Status2xx,
        Metric::Status4xx,
        Metric::Status5xx,
        Metric::Unauthorized,
        Metric::AuthMissing,
        Metric::AuthMalformed,
        Metric::AuthExpired,
        Metric::AuthBadSignature,
        Metric::AuthWrongIssuer,
        Metric::AuthWrongAudience,
        Metric::AuthUnknownKey,
        Metric::AuthInvalidClaims,
        Metric::AuthRevoked,
        Metric::AuthKeysUnavailable,
        Metric::AuthCrossUser,
        Metric::DynamoDbRetries,
        Metric::DynamoDbThrottles,
        Metric::WriteConflicts,
        Metric::StsAssumeRole,
        Metric::StsFailures,
        Metric::StsThrottles,
        Metric::JwksFetches,
        Metric::JwksFailures,
        Metric::SecretReads,
        Metric::SecretFailures,
        Metric::Latency,
    ];

    /// The CloudWatch metric name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Requests => "Requests",
            Metric::Status2xx => "Status2xx",
            Metric::Status4xx => "Status4xx",
            Metric::Status5xx => "Status5xx",
            Metric::Unauthorized => "Unauthorized",
            Metric::AuthMissing => "AuthMissing",
            Metric::AuthMalformed => "AuthMalformed",
            Metric::AuthExpired => "AuthExpired",
            Metric::AuthBadSignature => "AuthBadSignature",
            Metric::AuthWrongIssuer => "AuthWrongIssuer",
            Metric::AuthWrongAudience => "AuthWrongAudience",
            Metric::AuthUnknownKey => "AuthUnknownKey",
            Metric::AuthInvalidClaims => "AuthInvalidClaims",
            Metric::AuthRevoked => "AuthRevoked",
            Metric::AuthKeysUnavailable => "AuthKeysUnavailable",
            Metric::AuthCrossUser => "AuthCrossUser",
            Metric::DynamoDbRetries => "DynamoDbRetries",
            Metric::DynamoDbThrottles => "DynamoDbThrottles",
            Metric::WriteConflicts => "WriteConflicts",
            Metric::StsAssumeRole => "StsAssumeRole",
            Metric::StsFailures => "StsFailures",
            Metric::StsThrottles => "StsThrottles",
            Metric::JwksFetches => "JwksFetches",
            Metric::JwksFailures => "JwksFailures",
            Metric::SecretReads => "SecretReads",
            Metric::SecretFailures => "SecretFailures",
            Metric::Latency => "Latency",
        }
    }

    /// The CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Latency => "Milliseconds",
            _ => "Count",
        }
    }
}

tokio::task_local! {
    /// The counts of the invocation this task serves.
    static COUNTS: Counts;
}

/// One counter per metric.
struct Counts([AtomicU64; Metric::ALL.len()]);

impl Counts {
    fn new() -> Self {
        Self(std::array::from_fn(|_| AtomicU64::new(0)))
    }

    /// Every counter's value (the latency is measured apart).
    fn snapshot(&self) -> Vec<(Metric, u64)> {
        Metric::ALL
            .iter()
            .filter(|metric| **metric != Metric::Latency)
            .map(|metric| (*metric, self.0[index(*metric)].load(Ordering::Relaxed)))
            .collect()
    }
}

/// A metric's counter: its place in the declaration (and in [`Metric::ALL`]).
fn index(metric: Metric) -> usize {
    metric as usize
}

/// Runs `work` with counters of its own, `first` already at one; returns what it counted.
async fn counting<F: Future>(work: F, first: Option<Metric>) -> (F::Output, Vec<(Metric, u64)>) {
    let counts = Counts::new();
    if let Some(metric) = first {
        counts.0[index(metric)].store(1, Ordering::Relaxed);
    }
    COUNTS
        .scope(counts, async {
            let output = work.await;
            (output, COUNTS.with(Counts::snapshot))
        })
        .await
}

/// Adds one to `metric` for the invocation this task serves (nothing outside one).
pub fn count(metric: Metric) {
    let _ = COUNTS.try_with(|counts| counts.0[index(metric)].fetch_add(1, Ordering::Relaxed));
}

/// Counts the status class of a route's answer, and a 401 as [`Metric::Unauthorized`].
pub fn count_status(status: StatusCode) {
    match status.as_u16() {
        200..=299 => count(Metric::Status2xx),
        400..=499 => count(Metric::Status4xx),
        500..=599 => count(Metric::Status5xx),
        _ => {}
    }
    if status == StatusCode::UNAUTHORIZED {
        count(Metric::Unauthorized);
    }
}

/// Where and under which name one function's metrics go: built once per cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    namespace: String,
    function: String,
}

impl Metrics {
    /// `METRICS_NAMESPACE` (default `taskgate`), and the function's name from
    /// `AWS_LAMBDA_FUNCTION_NAME` (Lambda sets it), else `function`.
    pub fn from_lookup(
        env: impl Fn(&str) -> Option<String>,
        function: &str,
    ) -> Result<Self, ConfigError> {
        let namespace = env("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.into());
        if !is_namespace(&namespace) {
            return Err(ConfigError::new(
                "METRICS_NAMESPACE",
                format!(
                    "must be 1 to {MAX_NAMESPACE_CHARS} characters of letters, digits and \
                     . _ # : / - (a CloudWatch namespace, not starting with AWS/), got {namespace:?}"
                ),
            ));
        }
        Ok(Self {
            namespace,
            function: env("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| function.into()),
        })
    }

    /// Reads the process environment; see [`Metrics::from_lookup`].
    pub fn from_env(function: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(crate::config::process_env, function)
    }

    /// Runs `work` as one invocation: what it counts, one request, and how long it took, as
    /// its EMF line.
    pub async fn invocation<F: Future>(&self, work: F) -> (F::Output, String) {
        let started = Instant::now();
        let (output, counts) = counting(work, Some(Metric::Requests)).await;
        let latency = started.elapsed().as_secs_f64() * 1000.0;
        (output, self.line(&counts, Some(latency)))
    }

    /// Runs `work` (a cold start): its EMF line when it counted anything (a JWKS fetch, a
    /// secret read), else `None`.
    pub async fn start<F: Future>(&self, work: F) -> (F::Output, Option<String>) {
        let (output, counts) = counting(work, None).await;
        let line = counts.iter().any(|(_, n)| *n > 0);
        (output, line.then(|| self.line(&counts, None)))
    }

    /// The EMF document: the metrics counted (zeros left out) and the latency, each a
    /// top-level member declared in `_aws.CloudWatchMetrics`, with the function's name.
    fn line(&self, counts: &[(Metric, u64)], latency_ms: Option<f64>) -> String {
        let mut root = Map::new();
        let mut declared = Vec::new();
        root.insert(FUNCTION_DIMENSION.into(), json!(self.function));
        for (metric, value) in counts.iter().filter(|(_, value)| *value > 0) {
            declared.push(json!({"Name": metric.name(), "Unit": metric.unit()}));
            root.insert(metric.name().into(), json!(value));
        }
        if let Some(latency) = latency_ms {
            let metric = Metric::Latency;
            declared.push(json!({"Name": metric.name(), "Unit": metric.unit()}));
            root.insert(
                metric.name().into(),
                json!((latency * 1000.0).round() / 1000.0),
            );
        }
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [[FUNCTION_DIMENSION], []],
                    "Metrics": declared,
                }],
            }),
        );
        Value::Object(root).to_string()
    }
}

/// Writes an EMF line to stdout, whole (stdout is locked for the line, so it never interleaves
/// with a log line).
pub fn emit(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Whether CloudWatch accepts `namespace`: 1 to 255 of `[A-Za-z0-9._#:/-]`, not `AWS/...`.
fn is_namespace(namespace: &str) -> bool {
    (1..=MAX_NAMESPACE_CHARS).contains(&namespace.len())
        && !namespace.starts_with("AWS/")
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._#:/-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    fn metrics() -> Metrics {
        Metrics::from_lookup(
            lookup(&[("METRICS_NAMESPACE", "taskgate/test")]),
            "get-task",
        )
        .unwrap()
    }

    #[test]
    fn every_metric_has_its_counter_and_a_name_and_unit() {
        for (position, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(index(*metric), position, "{metric:?}");
            assert!(metric.name().chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(["Count", "Milliseconds"].contains(&metric.unit()));
        }
    }

    #[tokio::test]
    async fn an_invocation_is_one_emf_document_of_what_it_counted() {
        let (answer, line) = metrics()
            .invocation(async {
                count(Metric::StsAssumeRole);
                count(Metric::DynamoDbRetries);
                count(Metric::DynamoDbRetries);
                count_status(StatusCode::UNAUTHORIZED);
                42
            })
            .await;
        assert_eq!(answer, 42);
        assert!(!line.contains('\n'), "one line");
        let document: Value = serde_json::from_str(&line).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "taskgate/test");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"], []]));
        assert_eq!(document["FunctionName"], "get-task");
        let declared: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            declared,
            [
                "Requests",
                "Status4xx",
                "Unauthorized",
                "DynamoDbRetries",
                "StsAssumeRole",
                "Latency"
            ]
        );
        assert_eq!(document["DynamoDbRetries"], 2);
        assert_eq!(document["Requests"], 1);
        assert!(document["Latency"].as_f64().unwrap() >= 0.0);
        assert!(document["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }

    #[tokio::test]
    async fn counts_belong_to_their_own_invocation_and_nothing_counts_outside_one() {
        count(Metric::JwksFetches);
        let metrics = metrics();
        let one = metrics.invocation(async { count(Metric::JwksFetches) });
        let other = metrics.invocation(async {});
        let ((_, one), (_, other)) = tokio::join!(one, other);
        assert!(one.contains("JwksFetches"));
        assert!(!other.contains("JwksFetches"));
        let (_, quiet) = metrics.start(async {}).await;
        assert_eq!(quiet, None, "a start that counted nothing has no line");
        let (_, counted) = metrics.start(async { count(Metric::SecretReads) }).await;
        let counted: Value = serde_json::from_str(&counted.unwrap()).unwrap();
        assert_eq!(counted["SecretReads"], 1);
        assert!(counted.get("Requests").is_none() && counted.get("Latency").is_none());
    }

    #[test]
    fn the_namespace_is_checked_and_lambda_names_the_function() {
        let lambda = Metrics::from_lookup(
            lookup(&[("AWS_LAMBDA_FUNCTION_NAME", "stack-GetTaskFunction-AbC")]),
            "get-task",
        )
        .unwrap();
        assert_eq!(lambda.function, "stack-GetTaskFunction-AbC");
        assert_eq!(lambda.namespace, DEFAULT_NAMESPACE);
        for bad in ["", "has space", "AWS/Lambda", "ünï", &"n".repeat(256)] {
            let error = Metrics::from_lookup(lookup(&[("METRICS_NAMESPACE", bad)]), "f");
            assert_eq!(error.unwrap_err().variable, "METRICS_NAMESPACE", "{bad:?}");
        }
    }
}
