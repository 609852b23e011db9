//! Sign-out across instances: two real `taskgate-local` processes on one DynamoDB Local, as two
//! instances of a function in AWS, each caching revocation states for `REVOCATION_TTL_S`. A
//! revocation on one is refused by the other within that bound (the time is measured and
//! printed); what it does not revoke keeps working on both; another user's path is 403 and
//! stores nothing.

mod server;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use server::Server;
use taskgate_tests::dynamodb_local::{self, REGION, test_credentials};
use taskgate_tests::{ISSUER, OTHER_USER, SECRET, USER, claims_for, hs256_token};

/// Each instance's `REVOCATION_TTL_S`.
const TTL: Duration = Duration::from_secs(2);
/// What a refusal may take past the TTL: the requests themselves and the polling below.
const MARGIN: Duration = Duration::from_millis(750);
/// How often the other instance is asked.
const POLL: Duration = Duration::from_millis(50);

/// An instance on `table`: HS256 auth with the tests' secret, DynamoDB Local's endpoint.
fn instance(table: &str) -> Server {
    let local = dynamodb_local::shared();
    let credentials = test_credentials();
    let mut command = server::command();
    command
        .env("AUTH_HS256_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("AUTH_ISSUER", ISSUER)
        .env("AUTH_AUDIENCE", ISSUER)
        .env("TASKS_TABLE", table)
        .env("REVOCATION_TTL_S", TTL.as_secs().to_string())
        .env("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE");
    let server = server::start(command);
    assert!(
        !server.banner.contains("DEVELOPMENT MODE"),
        "{}",
        server.banner
    );
    server
}

/// Two instances on a new table, and the table's name.
async fn two_instances() -> (Server, Server, String) {
    let table = dynamodb_local::shared().new_table().await;
    (instance(&table), instance(&table), table)
}

/// A token of `user` for session `sid`, issued now.
fn token(user: &str, sid: &str) -> String {
    let mut claims = claims_for(user);
    claims["sid"] = json!(sid);
    hs256_token(&claims, SECRET)
}

async fn send(method: reqwest::Method, url: String, token: &str) -> reqwest::Response {
    let request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    request.send().await.expect("taskgate-local answers")
}

async fn list(on: &Server, user: &str, token: &str) -> u16 {
    let url = format!("{}/api/{user}/tasks", on.base_url);
    send(reqwest::Method::GET, url, token)
        .await
        .status()
        .as_u16()
}

async fn revoke(on: &Server, path: &str, token: &str) -> u16 {
    let url = format!("{}/api/{path}", on.base_url);
    send(reqwest::Method::DELETE, url, token)
        .await
        .status()
        .as_u16()
}

async fn create(on: &Server, token: &str, title: &str) -> u16 {
    let request = reqwest::Client::new()
        .post(format!("{}/api/{USER}/tasks", on.base_url))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({ "title": title }).to_string());
    request.send().await.expect("answers").status().as_u16()
}

/// How long after `since` `on` refuses `token` (a list of `USER`'s tasks is 401), asked every
/// [`POLL`]; fails past the TTL plus a few seconds.
async fn refused_after(on: &Server, token: &str, since: Instant) -> Duration {
    loop {
        let status = list(on, USER, token).await;
        if status == 401 {
            return since.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            since.elapsed() < TTL + Duration::from_secs(5),
            "never refused"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Sleeps until the next whole second has begun: a token minted then has a later `iat`.
async fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let left = 1_000_000_000 - u64::from(now.subsec_nanos());
    tokio::time::sleep(Duration::from_nanos(left)).await;
}

/// The titles of `user`'s tasks in the table, read directly.
async fn stored_titles(table: &str, user: &str) -> Vec<String> {
    let client = dynamodb_local::shared().client().await;
    let output = client
        .query()
        .table_name(table)
        .key_condition_expression("user_id = :user AND task_id >= :lowest")
        .expression_attribute_values(":user", AttributeValue::S(user.into()))
        .expression_attribute_values(":lowest", AttributeValue::S("0".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("a query of the table");
    output
        .items()
        .iter()
        .filter_map(|item| item.get("title")?.as_s().ok().cloned())
        .collect()
}

/// Whether `user`'s revocation item exists in the table.
async fn has_revocation_item(table: &str, user: &str) -> bool {
    let client = dynamodb_local::shared().client().await;
    let output = client
        .get_item()
        .table_name(table)
        .key("user_id", AttributeValue::S(user.into()))
        .key("task_id", AttributeValue::S("#revocation".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("a read of the table");
    output.item.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_reaches_the_other_instance_within_the_ttl() {
    let (here, there, table) = two_instances().await;
    let old = token(USER, "laptop");
    let theirs = token(OTHER_USER, "desk");
    for instance in [&here, &there] {
        assert_eq!(list(instance, OTHER_USER, &theirs).await, 200);
    }
    assert_eq!(create(&there, &old, "before").await, 201);
    // The other instance's cached state is as fresh as it can be when the revocation lands.
    assert_eq!(list(&there, USER, &old).await, 200);

    assert_eq!(revoke(&here, &format!("{USER}/sessions"), &old).await, 204);
    let revoked = Instant::now();
    assert_eq!(
        list(&here, USER, &old).await,
        401,
        "at once where it was revoked"
    );
    let elapsed = refused_after(&there, &old, revoked).await;
    println!(
        "sign out everywhere: the other instance refused the revoked token {:.2} s after the \
         revocation answered (REVOCATION_TTL_S={})",
        elapsed.as_secs_f64(),
        TTL.as_secs()
    );
    assert!(elapsed <= TTL + MARGIN, "{elapsed:?}");

    // Past the bound, the revoked token writes nothing anywhere.
    assert_eq!(create(&there, &old, "revoked").await, 401);
    assert_eq!(create(&here, &old, "revoked").await, 401);
    assert_eq!(stored_titles(&table, USER).await, ["before"]);

    // Another user is not signed out; a token issued after the revocation works on both.
    next_second().await;
    let fresh = token(USER, "laptop");
    for instance in [&here, &there] {
        assert_eq!(list(instance, OTHER_USER, &theirs).await, 200);
        assert_eq!(list(instance, USER, &fresh).await, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_is_refused_on_every_instance_and_another_session_works() {
    let (here, there, _table) = two_instances().await;
    let (laptop, phone) = (token(USER, "laptop"), token(USER, "phone"));
    assert_eq!(list(&there, USER, &laptop).await, 200);

    assert_eq!(
        revoke(&here, &format!("{USER}/sessions/laptop"), &phone).await,
        204
    );
    let revoked = Instant::now();
    assert_eq!(
        list(&here, USER, &laptop).await,
        401,
        "at once where it was revoked"
    );
    let elapsed = refused_after(&there, &laptop, revoked).await;
    println!(
        "one session: the other instance refused the revoked session's token {:.2} s after the \
         revocation answered (REVOCATION_TTL_S={})",
        elapsed.as_secs_f64(),
        TTL.as_secs()
    );
    assert!(elapsed <= TTL + MARGIN, "{elapsed:?}");
    for instance in [&here, &there] {
        assert_eq!(list(instance, USER, &phone).await, 200, "another session");
        let later = token(USER, "laptop");
        assert_eq!(
            list(instance, USER, &later).await,
            401,
            "the session, whatever its iat"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_sessions_cannot_be_revoked_and_nothing_is_stored() {
    let (here, there, table) = two_instances().await;
    let mine = token(USER, "laptop");
    let theirs = token(OTHER_USER, "desk");
    for path in [
        format!("{OTHER_USER}/sessions"),
        format!("{OTHER_USER}/sessions/desk"),
    ] {
        assert_eq!(revoke(&here, &path, &mine).await, 403, "{path}");
    }
    assert!(!has_revocation_item(&table, OTHER_USER).await);
    assert!(!has_revocation_item(&table, USER).await);
    for instance in [&here, &there] {
        assert_eq!(list(instance, OTHER_USER, &theirs).await, 200);
        assert_eq!(list(instance, USER, &mine).await, 200);
    }
}
