//! Keys and secrets that rotate, through the real handlers: a JWKS is trusted for its max age
//! (a retired key then stops verifying), an outage is bridged by the last good keys for a
//! bounded stale window and then answered 503; the HS256 secret is read from Secrets Manager
//! (moto in server mode), and its rotation is picked up without a restart. Timings are short
//! policies, not long sleeps.

#[allow(dead_code)]
#[path = "catalogue/keys.rs"]
mod keys;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client as SecretsManager;
use lambda_http::http::Method;
use serde_json::json;
use taskgate::App;
use taskgate::auth::Authenticator;
use taskgate::config::{AuthConfig, ConfigError, KeySource, RefreshPolicy};
use taskgate::tasks::memory::MemoryStore;
use taskgate_tests::jwks_server::JwksServer;
use taskgate_tests::moto::Moto;
use taskgate_tests::{
    SECRET, TestApp, TestResponse, USER, claims_for, hs256_config, hs256_token, spawn_app_with,
};

use keys::{SigningKey, sign};

/// A policy scaled down for tests: the same rules as production, in seconds instead of minutes.
fn policy(max_age: u64, stale_for: u64) -> RefreshPolicy {
    RefreshPolicy {
        max_age: Duration::from_secs(max_age),
        min_max_age: Duration::from_secs(1),
        max_max_age: Duration::from_secs(60),
        cooldown: Duration::from_millis(500),
        stale_for: Duration::from_secs(stale_for),
    }
}

async fn list(app: &TestApp, token: &str) -> TestResponse {
    app.call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(token)
        .send()
        .await
}

async fn assert_accepted(app: &TestApp, token: &str, what: &str) {
    let response = list(app, token).await;
    assert_eq!(response.status, 200, "{what}: {}", response.body);
}

async fn assert_rejected(app: &TestApp, token: &str, what: &str) {
    let response = list(app, token).await;
    assert_eq!(response.status, 401, "{what}: {}", response.body);
    response.assert_problem(401);
}

/// 503 with `Retry-After`: the client did nothing wrong.
async fn assert_unavailable(app: &TestApp, token: &str, what: &str) {
    let response = list(app, token).await;
    response.assert_problem(503);
    assert!(response.header("retry-after").is_some(), "{what}");
    assert_eq!(response.header("www-authenticate"), None, "{what}");
}

// ---- JWKS -------------------------------------------------------------------------------------

/// A JWKS issuer's keys, each with its kid.
struct Issuer(Vec<(&'static str, SigningKey)>);

impl Issuer {
    fn new(kids: &[&'static str]) -> Self {
        Self(
            kids.iter()
                .map(|kid| (*kid, SigningKey::ed25519()))
                .collect(),
        )
    }

    /// The JWKS of the keys named by `kids`.
    fn jwks(&self, kids: &[&str]) -> String {
        let keys: Vec<_> = self
            .0
            .iter()
            .filter(|(kid, _)| kids.contains(kid))
            .map(|(kid, key)| key.public_jwk(kid))
            .collect();
        json!({ "keys": keys }).to_string()
    }

    /// A valid token for [`USER`] signed by the key `kid`.
    fn token(&self, kid: &str) -> String {
        let (_, key) = self.0.iter().find(|(k, _)| *k == kid).expect("known kid");
        sign(key, &json!({"alg": "EdDSA", "kid": kid}), &claims_for(USER))
    }
}

async fn jwks_app(server: &JwksServer, refresh: RefreshPolicy) -> TestApp {
    let keys = KeySource::JwksUrl {
        url: server.url.parse().expect("URL"),
        refresh,
    };
    spawn_app_with(
        AuthConfig {
            keys,
            ..hs256_config()
        },
        Arc::new(MemoryStore::new()),
    )
    .await
}

#[tokio::test]
async fn a_retired_key_stops_verifying_after_the_jwks_max_age() {
    let issuer = Issuer::new(&["old", "new"]);
    let server = JwksServer::start(issuer.jwks(&["old", "new"]), 0).await;
    server.set_cache_control("public, max-age=1");
    // Without Cache-Control the keys would be trusted for a minute.
    let app = jwks_app(&server, policy(60, 60)).await;
    assert_accepted(&app, &issuer.token("old"), "old key, published").await;

    server.set_jwks(issuer.jwks(&["new"]));
    assert_accepted(&app, &issuer.token("old"), "old key, within max-age").await;
    assert_eq!(server.fetches(), 1, "no fetch while the keys are fresh");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_rejected(&app, &issuer.token("old"), "old key, after max-age").await;
    assert_eq!(server.fetches(), 2, "one fetch at expiry");
    assert_accepted(&app, &issuer.token("new"), "new key").await;
}

#[tokio::test]
async fn an_outage_is_bridged_for_the_stale_window_then_503_then_recovery() {
    let issuer = Issuer::new(&["k1"]);
    let server = JwksServer::start(issuer.jwks(&["k1"]), 0).await;
    let app = jwks_app(&server, policy(1, 2)).await;
    let token = issuer.token("k1");
    assert_accepted(&app, &token, "fresh keys").await;

    server.set_down(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(
        &app,
        &token,
        "expired keys, issuer down, within the stale window",
    )
    .await;
    assert_eq!(server.fetches(), 2, "the refresh was tried");

    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_unavailable(&app, &token, "past the stale window").await;

    server.set_down(false);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_accepted(&app, &token, "issuer back, after the cooldown").await;
}

#[tokio::test]
async fn no_keys_at_all_is_503_not_401() {
    let issuer = Issuer::new(&["k1"]);
    let server = JwksServer::start(issuer.jwks(&["k1"]), 0).await;
    server.set_down(true);
    let app = jwks_app(&server, policy(1, 2)).await;
    assert_unavailable(&app, &issuer.token("k1"), "the issuer was never reachable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_requests_at_expiry_make_one_fetch() {
    let issuer = Issuer::new(&["k1"]);
    let server = JwksServer::start(issuer.jwks(&["k1"]), 0).await;
    let app = Arc::new(jwks_app(&server, policy(1, 60)).await);
    assert_eq!(server.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let token = issuer.token("k1");
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (app, token) = (app.clone(), token.clone());
        requests.spawn(async move { list(&app, &token).await.status });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.expect("request task"), 200);
    }
    assert_eq!(server.fetches(), 2, "one fetch for 100 requests");
}

// ---- HS256 secret in Secrets Manager ----------------------------------------------------------

const SECRET_V1: &str = "taskgate secret v1, 0123456789abcdef";
const SECRET_V2: &str = "taskgate secret v2, 0123456789abcdef";
const SECRET_V3: &str = "taskgate secret v3, 0123456789abcdef";

fn token_signed_with(secret: &str) -> String {
    hs256_token(&claims_for(USER), secret.as_bytes())
}

/// moto with one secret holding `value`, and a Secrets Manager client on it.
async fn secret_with(value: &str) -> (Moto, SecretsManager, String) {
    let moto = Moto::start();
    let client = SecretsManager::new(&moto.sdk_config().await);
    let id = "taskgate/hs256".to_string();
    client
        .create_secret()
        .name(&id)
        .secret_string(value)
        .send()
        .await
        .expect("CreateSecret");
    (moto, client, id)
}

/// `PutSecretValue`: the new value becomes AWSCURRENT, the old current AWSPREVIOUS.
async fn rotate(client: &SecretsManager, id: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(value)
        .send()
        .await
        .expect("PutSecretValue");
}

async fn secret_authenticator(
    moto: &Moto,
    id: &str,
    refresh: RefreshPolicy,
) -> Result<Authenticator, ConfigError> {
    let config = AuthConfig {
        keys: KeySource::Hs256SecretId {
            id: id.into(),
            refresh,
        },
        ..hs256_config()
    };
    Authenticator::with_aws(&config, Some(&moto.sdk_config().await)).await
}

async fn secret_app(moto: &Moto, id: &str, refresh: RefreshPolicy) -> TestApp {
    let authenticator = secret_authenticator(moto, id, refresh)
        .await
        .expect("the secret is read at start");
    TestApp {
        app: App::new(authenticator, Arc::new(MemoryStore::new())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_verifies_after_the_refresh_interval_without_a_restart() {
    let (moto, client, id) = secret_with(SECRET_V1).await;
    let app = secret_app(&moto, &id, policy(1, 60)).await;
    assert_accepted(&app, &token_signed_with(SECRET_V1), "v1, AWSCURRENT").await;
    assert_rejected(
        &app,
        &hs256_token(&claims_for(USER), SECRET),
        "another secret",
    )
    .await;

    rotate(&client, &id, SECRET_V2).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&app, &token_signed_with(SECRET_V2), "v2, AWSCURRENT").await;
    assert_accepted(&app, &token_signed_with(SECRET_V1), "v1, AWSPREVIOUS").await;

    rotate(&client, &id, SECRET_V3).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&app, &token_signed_with(SECRET_V3), "v3, AWSCURRENT").await;
    assert_accepted(&app, &token_signed_with(SECRET_V2), "v2, AWSPREVIOUS").await;
    assert_rejected(&app, &token_signed_with(SECRET_V1), "v1, no longer staged").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_signature_rereads_the_secret_at_most_once_per_cooldown() {
    let (moto, client, id) = secret_with(SECRET_V1).await;
    let refresh = RefreshPolicy {
        cooldown: Duration::from_secs(2),
        ..policy(60, 60)
    };
    let app = Arc::new(secret_app(&moto, &id, refresh).await);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    rotate(&client, &id, SECRET_V2).await;
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..20 {
        let app = app.clone();
        let secret = if i % 2 == 0 {
            SECRET_V2
        } else {
            "a forger's secret, 0123456789abcdef"
        };
        requests
            .spawn(async move { (secret, list(&app, &token_signed_with(secret)).await.status) });
    }
    while let Some(done) = requests.join_next().await {
        let (secret, status) = done.expect("request task");
        let expected = if secret == SECRET_V2 { 200 } else { 401 };
        assert_eq!(status, expected, "a token signed with {secret:?}");
    }
    // Within the cooldown of that one read, a newer secret is not read yet.
    rotate(&client, &id, SECRET_V3).await;
    assert_rejected(
        &app,
        &token_signed_with(SECRET_V3),
        "v3 within the cooldown",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_accepted(&app, &token_signed_with(SECRET_V3), "v3 after the cooldown").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_down_later_keeps_the_last_good_secret_for_the_stale_window() {
    let (mut moto, _client, id) = secret_with(SECRET_V1).await;
    let app = secret_app(&moto, &id, policy(1, 5)).await;
    let token = token_signed_with(SECRET_V1);
    assert_accepted(&app, &token, "v1").await;

    moto.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(
        &app,
        &token,
        "Secrets Manager down, within the stale window",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5100)).await;
    assert_unavailable(&app, &token, "past the stale window").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_stops_when_the_secret_cannot_be_read_or_is_too_short() {
    let (mut moto, client, id) = secret_with("too short").await;
    let error = secret_authenticator(&moto, &id, RefreshPolicy::SECRET)
        .await
        .err()
        .expect("a short secret is refused");
    assert_eq!(error.variable, "AUTH_HS256_SECRET_ID");
    assert!(error.reason.contains("at least 32 bytes"), "{error}");
    assert!(
        !error.to_string().contains("too short"),
        "the value is never shown: {error}"
    );

    rotate(&client, &id, SECRET_V1).await;
    let missing = secret_authenticator(&moto, "no/such/secret", RefreshPolicy::SECRET)
        .await
        .err()
        .expect("a missing secret is refused");
    assert!(
        missing.reason.contains("ResourceNotFoundException"),
        "{missing}"
    );

    moto.stop();
    let error = secret_authenticator(&moto, &id, RefreshPolicy::SECRET)
        .await
        .err()
        .expect("an unreachable Secrets Manager stops the start");
    assert_eq!(error.variable, "AUTH_HS256_SECRET_ID");
    assert!(
        error.reason.contains("cannot read the secret at start"),
        "{error}"
    );
    assert!(!error.to_string().contains('\n'), "one line: {error}");
}

/// The functions read `AUTH_HS256_SECRET_ID` and reach Secrets Manager through the SDK's
/// standard `AWS_ENDPOINT_URL_SECRETS_MANAGER` (the service id, "Secrets Manager", in capitals with an underscore). Environment variables are process-wide, so this
/// test runs itself again in a child process with them set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_read_the_secret_id_from_the_standard_environment() {
    const CHILD: &str = "TASKGATE_SECRET_ID_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let config = taskgate::config::Config::from_env().expect("config");
        assert!(std::env::var_os("AUTH_HS256_SECRET").is_none());
        let app = TestApp {
            app: App::from_config(&config, &taskgate::http::routes::ROUTES)
                .await
                .expect("app"),
        };
        assert_accepted(
            &app,
            &token_signed_with(SECRET_V1),
            "v1 from the environment",
        )
        .await;
        return;
    }
    let (moto, _client, id) = secret_with(SECRET_V1).await;
    let credentials = taskgate_tests::dynamodb_local::test_credentials();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_functions_read_the_secret_id_from_the_standard_environment",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("AUTH_HS256_SECRET_ID", &id)
        .env("AUTH_ISSUER", taskgate_tests::ISSUER)
        .env("AUTH_AUDIENCE", taskgate_tests::ISSUER)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint())
        .env("AWS_REGION", taskgate_tests::dynamodb_local::REGION)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .output()
        .expect("run the child test");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
