//! `make dynamodb` and `make watch`: AWS DynamoDB Local on `127.0.0.1:$DYNAMODB_PORT` (default
//! 8001), data persisted under `.dynamodb/` (git-ignored), and the tasks table created from
//! `template.yaml` if missing.
//!
//! Without arguments it runs until interrupted. With a command (`-- cargo lambda watch`), it runs
//! that command with the environment that points the functions at the table, plus development
//! auth (a fresh HS256 secret and a printed token for `demo-user`) unless an `AUTH_*` variable
//! is set, and stops DynamoDB Local when the command exits.

use std::process::{Command, ExitCode};

use serde_json::json;
use taskgate::config::{auth_variables_set, process_env as env, process_vars};
use taskgate_tests::dynamodb_local::{DynamoDbLocal, REGION};
use taskgate_tests::{ISSUER, hs256_token, now, repo_path};

/// The user the printed development token is for.
const DEMO_USER: &str = "demo-user";

#[tokio::main]
async fn main() -> ExitCode {
    let configured = match auth_variables_set(process_vars()) {
        Ok(configured) => configured,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let port = env("DYNAMODB_PORT").map_or(8001, |port| {
        port.parse().expect("DYNAMODB_PORT must be a port number")
    });
    let table = env("TASKS_TABLE").unwrap_or_else(|| "taskgate-tasks".into());
    let local = DynamoDbLocal::persisted_on(&repo_path(".dynamodb"), port);
    local.create_table(&table).await;
    eprintln!(
        "DynamoDB Local: {} (data in .dynamodb/), table {table}",
        local.endpoint()
    );

    let mut args = std::env::args().skip(1);
    let Some(program) = args.next() else {
        eprintln!("Ctrl-C stops it.");
        loop {
            std::thread::park();
        }
    };
    let mut command = Command::new(&program);
    command
        .args(args)
        .env("TASKS_TABLE", &table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint());
    // DynamoDB Local accepts any credentials; real ones in the environment are left alone.
    for (name, value) in [
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ] {
        if env(name).is_none() {
            command.env(name, value);
        }
    }
    if !configured {
        let secret = format!("{}{}", ulid::Ulid::new(), ulid::Ulid::new());
        let claims = json!({
            "sub": DEMO_USER, "iss": ISSUER, "aud": ISSUER, "iat": now(), "exp": now() + 12 * 3600,
        });
        let token = hs256_token(&claims, secret.as_bytes());
        command
            .env("AUTH_HS256_SECRET", &secret)
            .env("AUTH_ISSUER", ISSUER)
            .env("AUTH_AUDIENCE", ISSUER);
        eprintln!(
            "Development auth: a token for {DEMO_USER}, valid 12 hours:\n\n  export TOKEN={token}\n\n  \
             curl -s -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:9000/api/{DEMO_USER}/tasks\n"
        );
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    drop(local);
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
