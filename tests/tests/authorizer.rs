//! The Lambda authorizer (`functions/authorizer`, `taskgate::authorizer`) through its fixtures in
//! `events/authorizer/`: each event's JSON text goes into `Authorizer::answer`, as the function
//! hands it the runtime's payload, and comes out as API Gateway's simple response; the test
//! checks the verdict, the context, and the reason the log gives. Then: a token of every
//! algorithm, revocation (in memory and on DynamoDB Local, within the same bound as the routes),
//! the first answer on the DynamoDB connection its cold start opened, keys and revocation states that cannot be had (refused, logged at error), events it cannot
//! read, and logs that never hold a token.

#[allow(dead_code)]
#[path = "catalogue/keys.rs"]
mod keys;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::Method;
use serde_json::{Value, json};
use taskgate::auth::Authenticator;
use taskgate::authorizer::Authorizer;
use taskgate::config::{AuthConfig, Config, DEFAULT_MAX_TOKEN_LIFETIME, KeySource};
use taskgate::revocation::{MemoryRevocations, RevocationStore};
use taskgate::tasks::memory::MemoryStore;
use taskgate_tests::aws_front_door::AwsFrontDoor;
use taskgate_tests::dynamodb_local::{self, DynamoDbLocal, REGION, store_at, test_credentials};
use taskgate_tests::jwks_server::JwksServer;
use taskgate_tests::log_capture::LogCapture;
use taskgate_tests::{
    ISSUER, OTHER_USER, TOKEN_PLACEHOLDER, USER, claims_for, hs256_token, now, repo_path,
    spawn_app_with,
};
use tracing::instrument::WithSubscriber;

use keys::{SigningKey, sign};

/// The HS256 secret of the fixtures' committed tokens, and of the `cargo lambda invoke` recipe
/// in `events/README.md` (a local-only secret, never a real one).
const LOCAL_SECRET: &[u8] = b"local-invoke-only-0123456789abcdef0123456789";

/// Every algorithm a JWKS key may carry.
const JWKS_ALGORITHMS: [&str; 10] = [
    "EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// How the authorizer under test verifies tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `AUTH_HS256_SECRET`: [`LOCAL_SECRET`].
    Hs256,
    /// `AUTH_JWKS`: one key of every algorithm, with the algorithm as its kid.
    Jwks,
}

/// Every fixture, the mode it runs in, whether it is authorized, and the reason code the log
/// gives when it is not. A fixture missing here fails `every_fixture_is_documented`.
const DOCUMENTED: [(&str, Mode, bool, &str); 9] = [
    ("valid", Mode::Hs256, true, ""),
    ("expired", Mode::Hs256, false, "expired"),
    ("wrong-audience", Mode::Hs256, false, "wrong_audience"),
    ("alg-none", Mode::Hs256, false, "unsupported_algorithm"),
    ("unknown-kid", Mode::Jwks, false, "unknown_key"),
    ("revoked", Mode::Hs256, false, "revoked"),
    ("missing-token", Mode::Hs256, false, "missing_token"),
    (
        "basic-scheme",
        Mode::Hs256,
        false,
        "malformed_authorization",
    ),
    ("header-20kb", Mode::Hs256, false, "token_too_large"),
];

fn auth_config(keys: KeySource) -> AuthConfig {
    AuthConfig {
        keys,
        issuer: ISSUER.into(),
        audience: ISSUER.into(),
        leeway: Duration::from_secs(30),
        max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
    }
}

fn hs256_keys() -> KeySource {
    KeySource::Hs256 {
        secret: LOCAL_SECRET.to_vec(),
        previous: None,
    }
}

/// One signing key of every JWKS algorithm, generated once.
fn jwks_keys() -> &'static [(&'static str, SigningKey)] {
    static KEYS: std::sync::OnceLock<Vec<(&str, SigningKey)>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        JWKS_ALGORITHMS
            .iter()
            .map(|alg| (*alg, SigningKey::for_alg(alg)))
            .collect()
    })
}

fn jwks() -> String {
    let keys: Vec<Value> = jwks_keys()
        .iter()
        .map(|(alg, key)| key.public_jwk(alg))
        .collect();
    json!({ "keys": keys }).to_string()
}

fn keys_of(mode: Mode) -> KeySource {
    match mode {
        Mode::Hs256 => hs256_keys(),
        Mode::Jwks => KeySource::JwksInline(jwks()),
    }
}

/// An authorizer in `mode` on `store`.
async fn authorizer_on(mode: Mode, store: Arc<dyn RevocationStore>) -> Authorizer {
    let authenticator = Authenticator::new(&auth_config(keys_of(mode)))
        .await
        .expect("auth config");
    Authorizer::new(authenticator, store)
}

async fn authorizer(mode: Mode) -> Authorizer {
    authorizer_on(mode, Arc::new(MemoryRevocations::default())).await
}

/// A valid token for `claims` signed with the local secret.
fn local_token(claims: &Value) -> String {
    hs256_token(claims, LOCAL_SECRET)
}

/// The fixture's text, placeholders included.
fn fixture_text(name: &str) -> String {
    let path = repo_path(&format!("events/authorizer/{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture with `token` where its placeholder is.
fn fixture(name: &str, token: &str) -> String {
    fixture_text(name).replace(TOKEN_PLACEHOLDER, token)
}

/// What the authorizer answered (as API Gateway reads it) and logged (JSON events, TRACE).
struct Answered {
    answer: Value,
    logs: Vec<Value>,
    text: String,
}

impl Answered {
    fn authorized(&self) -> bool {
        self.answer["isAuthorized"]
            .as_bool()
            .expect("isAuthorized is a bool")
    }

    /// The `auth` events' (outcome, reason) of a refusal.
    fn refusal(&self) -> Option<(&str, &str)> {
        self.logs
            .iter()
            .filter(|e| e["fields"]["message"] == "auth")
            .find(|e| e["fields"]["outcome"] != "accepted")
            .map(|e| {
                (
                    e["fields"]["outcome"].as_str().unwrap(),
                    e["fields"]["reason"].as_str().unwrap(),
                )
            })
    }

    fn level_of(&self, reason: &str) -> &str {
        self.logs
            .iter()
            .find(|e| e["fields"]["reason"] == reason)
            .and_then(|e| e["level"].as_str())
            .unwrap_or_else(|| panic!("no {reason} event: {}", self.text))
    }
}

/// Sends `event` (JSON text) to the authorizer as its function does, capturing its logs.
async fn answer(authorizer: &Authorizer, event: &str) -> Answered {
    let (capture, subscriber) = LogCapture::json_trace();
    let answer = authorizer
        .answer(event, None)
        .with_subscriber(subscriber)
        .await;
    let text = capture.text();
    let logs = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();
    Answered {
        answer: serde_json::to_value(answer).expect("the answer serializes"),
        logs,
        text,
    }
}

/// The names of the fixtures in `events/authorizer/`, without `.json`.
fn fixture_names() -> BTreeSet<String> {
    std::fs::read_dir(repo_path("events/authorizer"))
        .expect("events/authorizer/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .map(|name| match name.strip_suffix(".json") {
            Some(stem) => stem.to_string(),
            None => panic!("events/authorizer/{name} is not a .json fixture"),
        })
        .collect()
}

#[test]
fn every_fixture_is_documented_and_an_http_api_authorizer_request() {
    let documented: BTreeSet<String> = DOCUMENTED.iter().map(|d| d.0.to_string()).collect();
    assert_eq!(fixture_names(), documented);
    for name in fixture_names() {
        let event: Value = serde_json::from_str(&fixture_text(&name)).expect("JSON");
        let at = format!("events/authorizer/{name}.json");
        assert_eq!(event["version"], "2.0", "{at}");
        assert_eq!(event["type"], "REQUEST", "{at}");
        assert_eq!(event["routeKey"], "GET /api/{user_id}/whoami", "{at}");
        assert_eq!(
            event["requestContext"]["routeKey"], event["routeKey"],
            "{at}"
        );
        assert_eq!(event["rawPath"], format!("/api/{USER}/whoami"), "{at}");
        assert_eq!(event["pathParameters"]["user_id"], USER, "{at}");
        assert!(event["routeArn"].as_str().unwrap().ends_with("/whoami"));
        // The identity source is the Authorization header, as the template configures it.
        let header = &event["headers"]["authorization"];
        match header {
            Value::Null => assert!(event.get("identitySource").is_none(), "{at}"),
            header => assert_eq!(event["identitySource"], json!([header]), "{at}"),
        }
    }
}

#[tokio::test]
async fn every_fixture_answers_as_documented() {
    let start = now();
    for (name, mode, authorized, reason) in DOCUMENTED {
        let store = Arc::new(MemoryStore::new());
        let authorizer = authorizer_on(mode, store.clone()).await;
        let mut token = local_token(&claims_for(USER));
        if name == "revoked" {
            // Signed out everywhere through the route, on the same store, after the token.
            let mut claims = claims_for(USER);
            claims["iat"] = json!(start - 5);
            token = local_token(&claims);
            let app = spawn_app_with(auth_config(hs256_keys()), store.clone()).await;
            let signed_out = app
                .call(Method::DELETE, &format!("/api/{USER}/sessions"))
                .token(&local_token(&claims_for(USER)))
                .send()
                .await;
            assert_eq!(signed_out.status, 204, "{}", signed_out.body);
        }
        let answered = answer(&authorizer, &fixture(name, &token)).await;
        assert_eq!(
            answered.authorized(),
            authorized,
            "{name}: {}",
            answered.text
        );
        if authorized {
            assert_eq!(
                answered.answer,
                json!({"isAuthorized": true, "context": {"sub": USER}}),
                "{name}"
            );
            assert_eq!(answered.refusal(), None, "{name}");
        } else {
            assert_eq!(answered.answer, json!({"isAuthorized": false}), "{name}");
            assert_eq!(answered.refusal(), Some(("rejected", reason)), "{name}");
            assert_eq!(answered.level_of(reason), "INFO", "{name}");
        }
    }
}

#[tokio::test]
async fn tokens_of_every_algorithm_are_authorized_with_their_user_and_session() {
    let jwks_authorizer = authorizer(Mode::Jwks).await;
    for (alg, key) in jwks_keys() {
        let mut claims = claims_for(USER);
        claims["sid"] = json!(format!("session-{alg}"));
        let token = sign(key, &json!({"alg": alg, "kid": alg}), &claims);
        let answered = answer(&jwks_authorizer, &fixture("valid", &token)).await;
        assert_eq!(
            answered.answer,
            json!({"isAuthorized": true, "context": {"sub": USER, "sid": format!("session-{alg}")}}),
            "{alg}: {}",
            answered.text
        );
        // The same key under another algorithm's name is refused: one key, one algorithm.
        let other = if *alg == "ES512" { "ES256" } else { "ES512" };
        let mislabelled = sign(key, &json!({"alg": alg, "kid": other}), &claims);
        let answered = answer(&jwks_authorizer, &fixture("valid", &mislabelled)).await;
        assert!(!answered.authorized(), "{alg} under kid {other}");
    }
    let hs256 = authorizer(Mode::Hs256).await;
    let answered = answer(&hs256, &fixture("valid", &local_token(&claims_for(USER)))).await;
    assert!(answered.authorized(), "HS256: {}", answered.text);
    // Another user's token is authorized as that user: the route checks its path (whoami).
    let theirs = local_token(&claims_for(OTHER_USER));
    let answered = answer(&hs256, &fixture("valid", &theirs)).await;
    assert_eq!(answered.answer["context"]["sub"], OTHER_USER);
}

#[tokio::test]
async fn a_revocation_reaches_the_authorizer_within_its_ttl_and_spares_other_sessions() {
    let store = Arc::new(MemoryStore::new());
    let ttl = Duration::from_millis(300);
    let authorizer = authorizer_on(Mode::Hs256, store.clone())
        .await
        .with_revocation_ttl(ttl);
    let app = spawn_app_with(auth_config(hs256_keys()), store.clone()).await;
    let session = |sid: &str| {
        let mut claims = claims_for(USER);
        claims["sid"] = json!(sid);
        claims["iat"] = json!(now() - 1);
        local_token(&claims)
    };
    let (laptop, phone) = (session("laptop"), session("phone"));
    let authorized = |token: String| {
        let authorizer = &authorizer;
        async move {
            answer(authorizer, &fixture("valid", &token))
                .await
                .authorized()
        }
    };
    assert!(authorized(laptop.clone()).await, "before the sign-out");
    let revoked = app
        .call(Method::DELETE, &format!("/api/{USER}/sessions/laptop"))
        .token(&phone)
        .send()
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    // Its cached state (read just before) may serve the revoked token for at most the TTL.
    let deadline = std::time::Instant::now() + ttl + Duration::from_millis(200);
    while authorized(laptop.clone()).await {
        assert!(
            std::time::Instant::now() < deadline,
            "still authorized past the TTL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(authorized(phone.clone()).await, "another session");
    let fresh = authorizer_on(Mode::Hs256, store.clone()).await;
    let answered = answer(&fresh, &fixture("valid", &laptop)).await;
    assert_eq!(answered.refusal(), Some(("rejected", "revoked")));
    let sub = answered
        .logs
        .iter()
        .find(|e| e["fields"]["reason"] == "revoked")
        .map(|e| e["fields"]["sub"].clone());
    assert_eq!(sub, Some(json!(USER)), "a revoked token's user is logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_dynamodb_local_the_authorizer_reads_the_revocation_item() {
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let routes_store = Arc::new(store_at(&local.endpoint(), &table).await);
    let app = spawn_app_with(auth_config(hs256_keys()), routes_store).await;
    let store: Arc<dyn RevocationStore> = Arc::new(store_at(&local.endpoint(), &table).await);
    let authorizer = authorizer_on(Mode::Hs256, store).await;
    let mut claims = claims_for(USER);
    claims["iat"] = json!(now() - 1);
    let earlier = local_token(&claims);
    assert!(
        answer(&authorizer, &fixture("valid", &earlier))
            .await
            .authorized()
    );
    let signed_out = app
        .call(Method::DELETE, &format!("/api/{USER}/sessions"))
        .token(&earlier)
        .send()
        .await;
    assert_eq!(signed_out.status, 204, "{}", signed_out.body);
    let fresh: Arc<dyn RevocationStore> = Arc::new(store_at(&local.endpoint(), &table).await);
    let authorizer = authorizer_on(Mode::Hs256, fresh).await;
    let answered = answer(&authorizer, &fixture("revoked", &earlier)).await;
    assert_eq!(
        answered.refusal(),
        Some(("rejected", "revoked")),
        "{}",
        answered.text
    );
    let mut later = claims_for(USER);
    later["iat"] = json!(now() + 1);
    let answered = answer(&authorizer, &fixture("valid", &local_token(&later))).await;
    assert!(
        answered.authorized(),
        "a token issued after: {}",
        answered.text
    );
}

/// `Authorizer::from_config` (what the function runs) with `TASKS_TABLE` set, from the standard
/// environment only: before init ends it has opened the DynamoDB connections (two
/// `DescribeTable`s, as a route's cold start does), and its first answer reads the revocation
/// state on one of them rather than paying for a connection of its own. Environment variables
/// are process-wide, so this test runs itself again in a child process with them set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_answers_its_first_request_on_a_connection_opened_at_init() {
    const CHILD: &str = "TASKGATE_AUTHORIZER_FROM_ENV_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let capture = LogCapture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let config = Config::from_env().expect("config");
        let authorizer = Authorizer::from_config(&config)
            .with_subscriber(subscriber)
            .await
            .expect("authorizer");
        let init = capture.text();
        assert!(init.contains("DynamoDB connections primed"), "{init}");
        let answered = answer(
            &authorizer,
            &fixture("valid", &local_token(&claims_for(USER))),
        )
        .await;
        assert!(answered.authorized(), "{}", answered.text);
        return;
    }
    let local = dynamodb_local::shared();
    let table = local.new_table().await;
    let proxy = AwsFrontDoor::start(local.endpoint(), None).await;
    let credentials = test_credentials();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "the_authorizer_answers_its_first_request_on_a_connection_opened_at_init",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("TASKS_TABLE", &table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &proxy.endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env(
            "AUTH_HS256_SECRET",
            std::str::from_utf8(LOCAL_SECRET).unwrap(),
        )
        .env("AUTH_ISSUER", ISSUER)
        .env("AUTH_AUDIENCE", ISSUER);
    // The front door runs on this process's runtime while the child runs.
    let output = tokio::task::block_in_place(|| child.output()).expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let calls = proxy.calls();
    let mut actions: Vec<&str> = calls.iter().map(|call| call.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["DescribeTable", "DescribeTable", "GetItem"]);
    let opened_at_init: BTreeSet<_> = proxy
        .calls_of("DescribeTable")
        .iter()
        .map(|call| call.peer)
        .collect();
    let read = &proxy.calls_of("GetItem")[0];
    assert!(
        opened_at_init.contains(&read.peer),
        "the revocation read on {} opened its own connection, not one of {opened_at_init:?}",
        read.peer
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_store_that_cannot_be_read_is_a_refusal_logged_at_error() {
    let mut local = DynamoDbLocal::in_memory();
    let table = local.new_table().await;
    let store: Arc<dyn RevocationStore> = Arc::new(store_at(&local.endpoint(), &table).await);
    let authorizer = authorizer_on(Mode::Hs256, store).await;
    tokio::task::block_in_place(|| local.stop());
    let token = local_token(&claims_for(USER));
    let answered = answer(&authorizer, &fixture("valid", &token)).await;
    assert_eq!(answered.answer, json!({"isAuthorized": false}));
    assert_eq!(
        answered.refusal(),
        Some(("unavailable", "revocation_unavailable"))
    );
    assert_eq!(answered.level_of("revocation_unavailable"), "ERROR");
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_are_a_refusal_logged_at_error() {
    let key = SigningKey::ed25519();
    let jwks = json!({ "keys": [key.public_jwk("ed")] }).to_string();
    let server = JwksServer::start(jwks, 0).await;
    server.set_down(true);
    let config = auth_config(KeySource::jwks_url(server.url.parse().expect("URL")));
    let authenticator = Authenticator::new(&config).await.expect("auth config");
    let authorizer = Authorizer::new(authenticator, Arc::new(MemoryRevocations::default()));
    let token = sign(
        &key,
        &json!({"alg": "EdDSA", "kid": "ed"}),
        &claims_for(USER),
    );
    let answered = answer(&authorizer, &fixture("valid", &token)).await;
    assert_eq!(answered.answer, json!({"isAuthorized": false}));
    assert_eq!(
        answered.refusal(),
        Some(("unavailable", "keys_unavailable"))
    );
    assert_eq!(answered.level_of("keys_unavailable"), "ERROR");
}

#[tokio::test]
async fn an_event_it_cannot_read_is_a_refusal_never_an_error() {
    let authorizer = authorizer(Mode::Hs256).await;
    let token = local_token(&claims_for(USER));
    let valid: Value = serde_json::from_str(&fixture("valid", &token)).unwrap();
    let mut version_1 = valid.clone();
    version_1["version"] = json!("1.0");
    let mut no_context = valid.clone();
    no_context.as_object_mut().unwrap().remove("requestContext");
    let mut header_not_text = valid.clone();
    header_not_text["headers"]["authorization"] = json!(7);
    let mut token_in_query = valid.clone();
    token_in_query["queryStringParameters"] = json!({ "access_token": token });
    for (what, event, reason) in [
        ("not JSON", "{".to_string(), "invalid_event"),
        ("an empty object", "{}".to_string(), "invalid_event"),
        ("payload format 1.0", version_1.to_string(), "invalid_event"),
        ("no requestContext", no_context.to_string(), "invalid_event"),
        (
            "a header that is not text",
            header_not_text.to_string(),
            "invalid_event",
        ),
        (
            "a token in the URL",
            token_in_query.to_string(),
            "token_in_query",
        ),
    ] {
        let answered = answer(&authorizer, &event).await;
        assert_eq!(answered.answer, json!({"isAuthorized": false}), "{what}");
        assert_eq!(answered.refusal().map(|r| r.1), Some(reason), "{what}");
    }
}

#[tokio::test]
async fn the_logs_carry_the_request_and_reason_never_a_token() {
    let (hs256, jwks) = (authorizer(Mode::Hs256).await, authorizer(Mode::Jwks).await);
    let mut tokens = Vec::new();
    for (name, mode, _, _) in DOCUMENTED {
        let authorizer = match mode {
            Mode::Hs256 => &hs256,
            Mode::Jwks => &jwks,
        };
        let token = local_token(&claims_for(USER));
        let text = fixture(name, &token);
        let event: Value = serde_json::from_str(&text).unwrap();
        if let Some(header) = event["headers"]["authorization"].as_str() {
            tokens.push(header.trim_start_matches("Bearer ").to_string());
        }
        let answered = answer(authorizer, &text).await;
        for event in answered
            .logs
            .iter()
            .filter(|e| e["fields"]["message"] == "auth")
        {
            let span = &event["span"];
            assert_eq!(span["name"], "request", "{name}: {event}");
            assert_eq!(span["route"], "authorizer", "{name}");
            assert_eq!(
                span["request_id"],
                event_request_id(&text),
                "{name}: the request id of API Gateway"
            );
            assert_eq!(span["route_key"], "GET /api/{user_id}/whoami", "{name}");
        }
        assert!(!answered.text.contains("eyJ"), "{name}: a token segment");
        for token in &tokens {
            for part in token.split('.').filter(|part| part.len() >= 16) {
                assert!(!answered.text.contains(part), "{name}: logged {part:.20}");
            }
        }
        assert!(
            !answered
                .text
                .contains(std::str::from_utf8(LOCAL_SECRET).unwrap()),
            "{name}: the secret"
        );
    }
}

fn event_request_id(text: &str) -> Value {
    let event: Value = serde_json::from_str(text).unwrap();
    event["requestContext"]["requestId"].clone()
}
