//! Isolation the database enforces (`DATA_ISOLATION=iam`): the store acts for each user with
//! credentials from `AssumeRole` on the tenant role, tagged with the verified `sub`, against real
//! stand-ins (moto's STS, DynamoDB Local) behind a front door that records every call. That IAM
//! then allows only the user's partition is proven by evaluating the template's policies
//! (`tests/iam/`).

use std::sync::Arc;

use lambda_http::http::Method;
use serde_json::json;
use taskgate::App;
use taskgate::app::{AUTHORIZER_ITEM_ACCESS, item_access_of};
use taskgate::authorizer::Authorizer;
use taskgate::http::routes::ROUTES;
use taskgate::metrics::Metrics;
use taskgate::tasks::dynamodb::{
    DynamoDbStore, MAX_CONCURRENT_ASSUME_ROLE, TenantClients, USER_TAG, session_policy,
};
use taskgate_tests::aws_front_door::{AwsFrontDoor, Refusal};
use taskgate_tests::dynamodb_local::test_credentials;
use taskgate_tests::iam_stand_ins::IamStandIns;
use taskgate_tests::moto::Moto;
use taskgate_tests::{
    OTHER_USER, TOKEN_PLACEHOLDER, TestApp, USER, hs256_config, repo_path, token_for,
};

const TENANT_ROLE: &str = "arn:aws:iam::123456789012:role/taskgate-tenant-data";

/// An app in `iam` isolation, its AWS front door, and the moto behind it.
struct Isolated {
    app: Arc<TestApp>,
    aws: AwsFrontDoor,
    moto: Moto,
}

async fn isolated_app() -> Isolated {
    let IamStandIns {
        moto,
        table,
        aws,
        config,
    } = IamStandIns::start().await;
    // Primed before any test counts calls, as init does for provisioned concurrency.
    let store = DynamoDbStore::connect(&config, &table);
    store.primed().await;
    let store = store.isolated(TenantClients::new(
        &config,
        TENANT_ROLE,
        &item_access_of(&ROUTES),
    ));
    let authenticator = taskgate::auth::Authenticator::new(&hs256_config())
        .await
        .expect("auth");
    let app = Arc::new(TestApp {
        app: App::new(authenticator, Arc::new(store)),
    });
    Isolated { app, aws, moto }
}

/// The value of a form parameter of a recorded STS call (`Tags.member.1.Value`, ...).
fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| {
            url::form_urlencoded::parse(format!("v={value}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
    })
}

async fn list_status(app: &TestApp, user: &str) -> u16 {
    app.call(Method::GET, &format!("/api/{user}/tasks"))
        .token(&token_for(user))
        .send()
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_api_works_with_per_user_credentials_only() {
    let Isolated {
        app,
        aws,
        moto: _moto,
    } = isolated_app().await;
    let task = app.create_task(USER, "isolated").await;
    let path = format!("/api/{USER}/tasks/{}", task["id"].as_str().unwrap());
    let call = |method: Method, path: &str| app.call(method, path).token(&token_for(USER));
    assert_eq!(call(Method::GET, &path).send().await.status, 200);
    let updated = call(Method::PUT, &path)
        .json(json!({"title": "renamed"}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let toggled = call(Method::PATCH, &format!("{path}/complete"))
        .send()
        .await;
    assert_eq!(toggled.body["completed"], true);
    let listed = call(Method::GET, &format!("/api/{USER}/tasks"))
        .send()
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let replayed = call(Method::POST, &format!("/api/{USER}/tasks"))
        .header("idempotency-key", "k1")
        .json(json!({"title": "once"}))
        .send()
        .await;
    assert_eq!(replayed.status, 201);
    assert_eq!(call(Method::DELETE, &path).send().await.status, 204);

    let assumed = aws.calls_of("AssumeRole");
    assert_eq!(assumed.len(), 1, "one session for the user: {assumed:?}");
    let request = &assumed[0].body;
    assert_eq!(form_value(request, "RoleArn").as_deref(), Some(TENANT_ROLE));
    assert_eq!(
        form_value(request, "Tags.member.1.Key").as_deref(),
        Some(USER_TAG)
    );
    assert_eq!(
        form_value(request, "Tags.member.1.Value").as_deref(),
        Some(USER)
    );
    let policy: serde_json::Value =
        serde_json::from_str(&form_value(request, "Policy").expect("a session policy")).unwrap();
    assert_eq!(
        policy["Statement"][0]["Action"].as_array().unwrap().len(),
        5
    );

    let base_key = test_credentials().access_key_id().to_string();
    let data = aws.data_calls();
    assert!(data.len() >= 7, "{data:?}");
    for call in &data {
        assert_ne!(
            call.access_key, base_key,
            "{call:?} used the function's own credentials"
        );
        assert_eq!(call.access_key, data[0].access_key, "{call:?}");
    }
    let describe = aws.calls_of("DescribeTable");
    assert_eq!(describe.len(), 2, "the cold-start calls");
    assert!(describe.iter().all(|call| call.access_key == base_key));
}

/// The revocation item's key as a recorded DynamoDB request names it.
const REVOCATION_ITEM: &str = r##""task_id":{"S":"#revocation"}"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revocation_item_is_read_and_written_only_with_the_tenant_session() {
    let Isolated {
        app,
        aws,
        moto: _moto,
    } = isolated_app().await;
    let mine = taskgate_tests::hs256_token(
        &json!({"sub": USER, "iss": taskgate_tests::ISSUER, "aud": taskgate_tests::ISSUER,
                "iat": taskgate_tests::now() - 1, "exp": taskgate_tests::now() + 900, "sid": "s1"}),
        taskgate_tests::SECRET,
    );
    assert_eq!(list_status(&app, USER).await, 200);
    let revoked = app
        .call(Method::DELETE, &format!("/api/{USER}/sessions/s1"))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let refused = app
        .call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(&mine)
        .send()
        .await;
    refused.assert_problem(401);
    let everywhere = app
        .call(Method::DELETE, &format!("/api/{USER}/sessions"))
        .token(&token_for(USER))
        .send()
        .await;
    assert_eq!(everywhere.status, 204, "{}", everywhere.body);

    let on_the_item: Vec<_> = aws
        .data_calls()
        .into_iter()
        .filter(|call| call.body.contains(REVOCATION_ITEM))
        .collect();
    let actions: std::collections::BTreeSet<&str> = on_the_item
        .iter()
        .map(|call| call.action.as_str())
        .collect();
    assert_eq!(
        actions,
        ["GetItem", "UpdateItem"].into(),
        "read (the check and before each write) and written: {on_the_item:?}"
    );
    let [assumed] = aws.calls_of("AssumeRole").try_into().expect("one session");
    let tenant_key = aws
        .data_calls()
        .iter()
        .find(|call| call.action == "Query")
        .expect("the list's Query")
        .access_key
        .clone();
    let base_key = test_credentials().access_key_id().to_string();
    for call in &on_the_item {
        assert_ne!(
            call.access_key, base_key,
            "{call:?}: the function's own role"
        );
        assert_eq!(
            call.access_key, tenant_key,
            "{call:?}: the user's tenant session"
        );
    }
    // That session's policy holds the revocation item to its attributes (tests/iam evaluates it).
    let policy: serde_json::Value =
        serde_json::from_str(&form_value(&assumed.body, "Policy").expect("a session policy"))
            .unwrap();
    let restricted: Vec<&serde_json::Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|statement| statement.get("Condition").is_some())
        .collect();
    assert_eq!(restricted.len(), 2, "{policy}");
    for statement in restricted {
        let attributes =
            &statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"];
        assert!(
            attributes
                .as_array()
                .unwrap()
                .contains(&json!("not_before")),
            "{policy}"
        );
        assert!(
            !attributes.as_array().unwrap().contains(&json!("title")),
            "{policy}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_user_makes_no_sts_call_and_concurrent_first_requests_share_one() {
    let Isolated {
        app,
        aws,
        moto: _moto,
    } = isolated_app().await;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let app = app.clone();
        requests.spawn(async move { list_status(&app, USER).await });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(
        aws.calls_of("AssumeRole").len(),
        1,
        "concurrent first requests"
    );
    for _ in 0..5 {
        assert_eq!(list_status(&app, USER).await, 200);
    }
    assert_eq!(aws.calls_of("AssumeRole").len(), 1, "warm requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_get_two_sessions_each_tagged_with_its_verified_sub() {
    let Isolated {
        app,
        aws,
        moto: _moto,
    } = isolated_app().await;
    app.create_task(USER, "mine").await;
    app.create_task(OTHER_USER, "theirs").await;
    let tags: Vec<String> = aws
        .calls_of("AssumeRole")
        .iter()
        .filter_map(|call| form_value(&call.body, "Tags.member.1.Value"))
        .collect();
    assert_eq!(tags.len(), 2);
    assert!(tags.contains(&USER.to_string()) && tags.contains(&OTHER_USER.to_string()));
    let keys: std::collections::BTreeSet<String> = aws
        .data_calls()
        .into_iter()
        .map(|call| call.access_key)
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "each user's data calls carry that user's session: {keys:?}"
    );

    // The other user's token on this user's path never reaches STS or the table.
    let before = aws.calls().len();
    let forbidden = app
        .call(Method::GET, &format!("/api/{USER}/tasks"))
        .token(&token_for(OTHER_USER))
        .send()
        .await;
    forbidden.assert_problem(403);
    assert_eq!(aws.calls().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sts_outage_is_503_and_no_data_is_touched() {
    let Isolated { app, aws, mut moto } = isolated_app().await;
    moto.stop();
    let response = app
        .call(Method::POST, &format!("/api/{USER}/tasks"))
        .token(&token_for(USER))
        .json(json!({"title": "never stored"}))
        .send()
        .await;
    response.assert_problem(503);
    assert!(response.header("retry-after").is_some());
    assert!(!aws.calls_of("AssumeRole").is_empty(), "STS was asked");
    assert!(
        aws.data_calls().is_empty(),
        "no fallback to broader credentials"
    );
}

/// STS throttling the tenant role's `AssumeRole` (a burst of new users past the account's STS
/// quota): each request is a 503 with `Retry-After`, no data call is made with any other
/// credentials, the throttles are counted, and a create retried once STS answers again writes
/// exactly one task. Both throttling codes: `Throttling` (what STS sends) and
/// `ThrottlingException`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sts_throttle_is_503_with_retry_after_and_a_retried_create_writes_one_task() {
    for code in ["Throttling", "ThrottlingException"] {
        let Isolated {
            app,
            aws,
            moto: _moto,
        } = isolated_app().await;
        aws.refuse("AssumeRole", Refusal::sts(code, "Rate exceeded"));
        let create = || {
            app.call(Method::POST, &format!("/api/{USER}/tasks"))
                .token(&token_for(USER))
                .header("idempotency-key", "create-once")
                .json(json!({"title": "kept once"}))
                .send()
        };
        let metrics = Metrics::from_lookup(|_| None, "create-task").expect("metrics");
        for _ in 0..2 {
            let (throttled, line) = metrics.invocation(create()).await;
            throttled.assert_problem(503);
            let retry_after = throttled.header("retry-after").expect("Retry-After");
            assert!(retry_after.parse::<u32>().is_ok_and(|s| s > 0), "{code}");
            let counted: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert!(
                counted["StsThrottles"].as_u64() >= Some(1),
                "{code}: {line}"
            );
            assert_eq!(counted["StsFailures"], counted["StsThrottles"], "{line}");
        }
        let assumed = aws.calls_of("AssumeRole");
        assert!(assumed.iter().all(|call| call.refused), "{code}");
        assert!(
            assumed.len() <= 2 * 3,
            "{code}: each request asks STS at most 3 times (the SDK's attempts): {}",
            assumed.len()
        );
        assert!(
            aws.data_calls().is_empty(),
            "{code}: no data call, with any credentials: {:?}",
            aws.data_calls()
        );

        aws.stop_refusing("AssumeRole");
        let created = create().await;
        assert_eq!(created.status, 201, "{code}: {}", created.body);
        assert_eq!(created.header("idempotent-replayed"), None, "{code}");
        let replayed = create().await;
        assert_eq!(replayed.status, 201, "{code}: {}", replayed.body);
        assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
        assert_eq!(replayed.body["id"], created.body["id"]);
        let listed = app
            .call(Method::GET, &format!("/api/{USER}/tasks"))
            .token(&token_for(USER))
            .send()
            .await;
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "{code}");
        let base_key = test_credentials().access_key_id().to_string();
        assert!(
            aws.data_calls().iter().all(|c| c.access_key != base_key),
            "{code}: only the user's session touched the data"
        );
    }
}

/// `AssumeRole` calls an instance makes at once are capped: a crowd of first requests of new
/// users waits its turn, and all are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_assume_role_calls_are_capped_per_instance() {
    let Isolated {
        app,
        aws,
        moto: _moto,
    } = isolated_app().await;
    aws.hold("AssumeRole");
    let mut requests = tokio::task::JoinSet::new();
    for user in 0..(MAX_CONCURRENT_ASSUME_ROLE + 4) {
        let app = app.clone();
        requests.spawn(async move { list_status(&app, &format!("user{user}")).await });
    }
    aws.until_held(MAX_CONCURRENT_ASSUME_ROLE).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        aws.held(),
        MAX_CONCURRENT_ASSUME_ROLE,
        "the others wait for a turn"
    );
    requests.abort_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_id_iam_cannot_carry_is_refused_before_any_call() {
    let Isolated {
        app,
        aws,
        moto: _moto,
    } = isolated_app().await;
    let user = "a,b"; // a comma is not allowed in a session tag value
    let response = app
        .call(Method::GET, &format!("/api/{user}/tasks"))
        .token(&token_for(user))
        .send()
        .await;
    response.assert_problem(403);
    assert!(
        response.body["type"]
            .as_str()
            .unwrap()
            .ends_with("user-not-isolable")
    );
    assert!(
        aws.calls()
            .iter()
            .all(|call| call.action == "DescribeTable")
    );
}

/// The Lambda authorizer in `iam` isolation, built as `Authorizer::from_config` builds it: its
/// cold start primes the connections with its own role's `DescribeTable`s, as a route's does;
/// then it reads the caller's revocation state only with that user's tenant session, whose
/// session policy allows the attribute-restricted `GetItem` and nothing else, and makes no other
/// DynamoDB call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_reads_the_revocation_state_only_with_the_users_tenant_session() {
    let IamStandIns {
        moto: _moto,
        table,
        aws,
        config,
    } = IamStandIns::start().await;
    let store = DynamoDbStore::connect(&config, &table).isolated(TenantClients::new(
        &config,
        TENANT_ROLE,
        AUTHORIZER_ITEM_ACCESS,
    ));
    store.primed().await;
    let authenticator = taskgate::auth::Authenticator::new(&hs256_config())
        .await
        .expect("auth");
    let authorizer = Authorizer::new(authenticator, Arc::new(store));
    let event = std::fs::read_to_string(repo_path("events/authorizer/valid.json"))
        .unwrap()
        .replace(TOKEN_PLACEHOLDER, &token_for(USER));
    let answer = authorizer.answer(&event, None).await;
    assert!(answer.is_authorized, "{answer:?}");

    let assumed = aws.calls_of("AssumeRole");
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    let request = &assumed[0].body;
    assert_eq!(
        form_value(request, "Tags.member.1.Value").as_deref(),
        Some(USER)
    );
    let policy: serde_json::Value =
        serde_json::from_str(&form_value(request, "Policy").expect("a session policy")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&session_policy(AUTHORIZER_ITEM_ACCESS)).unwrap();
    assert_eq!(policy, expected, "the authorizer's session policy");
    let dynamodb: Vec<_> = aws
        .calls()
        .into_iter()
        .filter(|call| call.service == "dynamodb")
        .collect();
    let actions: Vec<&str> = dynamodb.iter().map(|call| call.action.as_str()).collect();
    assert_eq!(
        actions,
        ["DescribeTable", "DescribeTable", "GetItem"],
        "the cold-start calls, then the revocation state, nothing else"
    );
    let base_key = test_credentials().access_key_id().to_string();
    let [primed @ .., read] = dynamodb.as_slice() else {
        unreachable!("three calls");
    };
    assert!(primed.iter().all(|call| call.access_key == base_key));
    assert_ne!(read.access_key, base_key, "not the function's own role");
    assert!(
        read.body.contains("#revocation") && read.body.contains("not_before"),
        "{}",
        read.body
    );
}
