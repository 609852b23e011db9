//! `make dev` as a newcomer meets it: the real `taskgate-local` binary, started with no auth
//! configuration, called over HTTP with the token it prints.

mod server;

use serde_json::Value;
use server::{Server, command as local_command};

/// The binary in development mode: no `AUTH_*`, no `TASKS_TABLE`; the token it prints.
struct DevServer {
    _server: Server,
    base_url: String,
    token: String,
}

fn start_dev_server() -> DevServer {
    let server = server::start(local_command());
    let banner = &server.banner;
    assert!(banner.contains("DEVELOPMENT MODE"), "{banner}");
    assert!(
        banner.contains(&format!("{}/api/", server.base_url)),
        "{banner}"
    );
    let token = banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("export TOKEN="))
        .unwrap_or_else(|| panic!("no token in the banner:\n{banner}"))
        .to_string();
    DevServer {
        base_url: server.base_url.clone(),
        _server: server,
        token,
    }
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_printed_token_creates_and_lists_tasks_for_the_demo_user() {
    let server = start_dev_server();
    let client = reqwest::Client::new();
    let tasks = format!("{}/api/demo-user/tasks", server.base_url);

    let created = client
        .post(&tasks)
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body(r#"{"title":"Try taskgate"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.headers()["etag"], "\"1\"");
    let (status, task) = json(created).await;
    assert_eq!(status, 201);
    assert_eq!(task["title"], "Try taskgate");

    let (status, list) = json(
        client
            .get(&tasks)
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0], task);
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_printed_token() {
    let server = start_dev_server();
    let client = reqwest::Client::new();
    let sessions = format!("{}/api/demo-user/sessions", server.base_url);
    let tasks = format!("{}/api/demo-user/tasks", server.base_url);
    let list = || client.get(&tasks).bearer_auth(&server.token).send();
    assert_eq!(list().await.unwrap().status(), 200);

    let signed_out = client
        .delete(&sessions)
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    let (status, problem) = json(list().await.unwrap()).await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(problem["detail"], "invalid token");
    let again = client.delete(&sessions).bearer_auth(&server.token).send();
    assert_eq!(
        again.await.unwrap().status(),
        401,
        "a revoked token cannot revoke"
    );
}

/// `POST /authorizer` answers an authorizer event as `functions/authorizer` does, with this
/// server's verifier and revocation check: the printed token is authorized as `demo-user`, and
/// refused at once after that user signs out everywhere on the same server.
#[tokio::test]
async fn the_authorizer_answers_events_with_the_servers_verifier_and_revocations() {
    let server = start_dev_server();
    let client = reqwest::Client::new();
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/authorizer/valid.json"
    ))
    .unwrap();
    let authorize = |token: &str| {
        client
            .post(format!("{}/authorizer", server.base_url))
            .body(fixture.replace("REPLACE_WITH_TOKEN", token))
            .send()
    };
    let response = authorize(&server.token).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, answer) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        serde_json::json!({"isAuthorized": true, "context": {"sub": "demo-user"}})
    );
    let (_, refused) = json(authorize("not.a.jwt").await.unwrap()).await;
    assert_eq!(refused, serde_json::json!({"isAuthorized": false}));

    let signed_out = client
        .delete(format!("{}/api/demo-user/sessions", server.base_url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    let (_, revoked) = json(authorize(&server.token).await.unwrap()).await;
    assert_eq!(revoked, serde_json::json!({"isAuthorized": false}));
    let (status, _) = json(
        client
            .get(format!("{}/authorizer", server.base_url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "only POST");
}

#[tokio::test]
async fn bad_requests_over_http_get_precise_problems() {
    let server = start_dev_server();
    let client = reqwest::Client::new();
    let tasks = format!("{}/api/demo-user/tasks", server.base_url);
    let post = |body: Vec<u8>| {
        client
            .post(&tasks)
            .bearer_auth(&server.token)
            .header("content-type", "application/json")
            .body(body)
    };

    let cases = [
        (post(b"{\"title\": ".to_vec()), 400),
        (post(vec![b' '; 1024 * 1024]), 413),
        (
            post(format!("{{\"title\":\"{}\"}}", "x".repeat(10_000)).into_bytes()),
            400,
        ),
        (
            client
                .post(&tasks)
                .bearer_auth(&server.token)
                .body("{\"title\":\"t\"}"),
            415,
        ),
        (client.delete(&tasks).bearer_auth(&server.token), 405),
        (client.get(format!("{}/nowhere", server.base_url)), 404),
        (client.get(&tasks), 401),
        (
            client
                .get(format!("{}/api/someone-else/tasks", server.base_url))
                .bearer_auth(&server.token),
            403,
        ),
    ];
    for (request, expected) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let (status, problem) = json(response).await;
        assert_eq!(status, expected, "{problem}");
        assert_eq!(problem["status"], expected);
    }
}

#[tokio::test]
async fn the_next_js_dev_server_may_call_it_from_the_browser() {
    let server = start_dev_server();
    let client = reqwest::Client::new();
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/demo-user/tasks", server.base_url),
        )
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("idempotency-key"), "{allowed}");
}

#[test]
fn development_mode_is_refused_inside_lambda() {
    let output = local_command()
        .env("AWS_LAMBDA_FUNCTION_NAME", "list-tasks")
        .env("PORT", "0")
        .output()
        .expect("taskgate-local runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("development mode is refused inside AWS Lambda"),
        "{stderr}"
    );
}

/// Starts the binary with `vars` (in development mode otherwise) and expects it to stop at
/// once; returns its one line of output.
fn refused_start(vars: &[(&str, &str)]) -> String {
    let mut command = local_command();
    command
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("PORT", "0");
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("taskgate-local runs");
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{vars:?} started:\n{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{vars:?}: not one line:\n{text}");
    lines[0].to_string()
}

#[test]
fn a_bad_port_or_a_wildcard_origin_stops_the_start_with_one_line() {
    for port in ["abc", "65536", "-1", "80x"] {
        let line = refused_start(&[("PORT", port)]);
        assert!(line.contains("PORT") && line.contains(port), "{line}");
    }
    for origins in [
        "*",
        "http://localhost:3000,*",
        "localhost:3000",
        "http://a/path",
    ] {
        let line = refused_start(&[("CORS_ALLOWED_ORIGINS", origins)]);
        assert!(line.contains("CORS_ALLOWED_ORIGINS"), "{line}");
    }
}

#[test]
fn any_auth_variable_means_configured_mode_and_what_is_wrong_is_named() {
    let cases = [
        (vec![("AUTH_ISSUER", "x")], "AUTH_JWKS_URL"),
        (vec![("AUTH_HS256_SECRET", "")], "AUTH_HS256_SECRET"),
        (
            vec![("AUTH_JWKS_URI", "https://auth.example.com/jwks")],
            "AUTH_JWKS_URI",
        ),
        (
            vec![("AUTH_JWKS", "{\"keys\":[]}"), ("AUTH_ISSUER", "x")],
            "AUTH_AUDIENCE",
        ),
    ];
    for (vars, named) in cases {
        let line = refused_start(&vars);
        assert!(line.contains(named), "{vars:?}: {line}");
        assert!(!line.contains("DEVELOPMENT MODE"), "{line}");
    }
}

#[test]
fn a_table_without_a_region_is_one_line_without_metadata_warnings() {
    let line = refused_start(&[("TASKS_TABLE", "taskgate-tasks")]);
    assert!(line.contains("AWS_REGION"), "{line}");
}

#[tokio::test]
async fn every_answer_has_the_standard_headers_and_a_request_id() {
    let server = start_dev_server();
    let client = reqwest::Client::new();
    let tasks = format!("{}/api/demo-user/tasks", server.base_url);
    let preflight = client
        .request(reqwest::Method::OPTIONS, &tasks)
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST");
    // (request, whether it reaches the handlers, which give it a request id)
    let requests = [
        (client.get(&tasks).bearer_auth(&server.token), true),
        (client.get(&tasks), true),
        (client.get(format!("{}/nowhere", server.base_url)), true),
        (client.delete(&tasks).bearer_auth(&server.token), true),
        (preflight, false),
    ];
    let mut ids = std::collections::HashSet::new();
    for (request, handled) in requests {
        let response = request.send().await.unwrap();
        let headers = response.headers();
        let what = format!("{} {:?}", response.status(), headers);
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        if handled {
            let id = headers["apigw-requestid"].to_str().unwrap().to_string();
            assert!(!id.is_empty() && ids.insert(id), "{what}");
        }
    }
}
