//! `moto` in server mode, for the AWS APIs DynamoDB Local does not have (Secrets Manager, STS):
//! the pinned `moto[server]` from `requirements-dev.txt`, in the project's `.venv`, on a port
//! it binds itself and reports back. A missing `.venv` fails the test with the command that
//! installs it; nothing is ever skipped. It stops when its stdin closes: on [`Moto::stop`], on
//! drop, or when the test binary exits.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::Region;

use crate::dynamodb_local::{REGION, scratch_dir, test_credentials};
use crate::repo_path;

/// What to run when moto is missing.
pub const INSTALL_MOTO: &str = "make test-deps (it installs requirements-dev.txt into .venv/)";

/// A running moto server.
pub struct Moto {
    guard: Option<(Child, ChildStdin)>,
    port: u16,
}

impl Moto {
    /// Starts moto and waits until it listens.
    pub fn start() -> Self {
        let python = repo_path(".venv/bin/python");
        assert!(
            python.is_file(),
            "moto runs from the project's .venv, which is missing. Install it: {INSTALL_MOTO}"
        );
        let log = scratch_dir("moto").join("moto.log");
        let log_file = std::fs::File::create(&log).expect("moto's log file");
        let mut child = Command::new(&python)
            .arg(repo_path("tests/tools/moto_server.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first_line)
            .expect("moto's port");
        let port = first_line.trim().parse().unwrap_or_else(|_| {
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("moto did not start (install it: {INSTALL_MOTO}). Its output:\n{output}")
        });
        let stdin = child.stdin.take().expect("piped stdin");
        Self {
            guard: Some((child, stdin)),
            port,
        }
    }

    /// The endpoint URL, for `AWS_ENDPOINT_URL_<SERVICE>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK settings for clients of this moto, with the test region and credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(test_credentials())
            .load()
            .await
    }

    /// Stops moto and waits until it has exited (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.guard.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
