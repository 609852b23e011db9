//! The real `taskgate-local` binary for tests: started on a port the system picks (`PORT=0`),
//! read back from its "listening on" line, and killed on drop. It listens before it prints that
//! line, so the first request is answered: no readiness polling.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `taskgate-local`, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Its output up to and including the "listening on" line (the development banner, if any).
    pub banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary at INFO, without the caller's `AUTH_*`, table and Lambda variables: each test sets
/// what it means.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskgate-local"));
    command.env("RUST_LOG", "info");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AUTH_") {
            command.env_remove(name);
        }
    }
    for name in [
        "TASKS_TABLE",
        "REVOCATION_TTL_S",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_LEVEL",
    ] {
        command.env_remove(name);
    }
    command
}

/// Starts `command` on a free port and waits for its "listening on" line; stdout is drained
/// from then on, so the server never writes to a closed pipe.
pub fn start(mut command: Command) -> Server {
    let mut child = command
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskgate-local starts");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (lines, banner_lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut banner = String::new();
    while let Ok(line) = banner_lines.recv_timeout(Duration::from_secs(60)) {
        banner.push_str(&line);
        banner.push('\n');
        if let Some(base_url) = line.contains("listening on").then(|| listening_url(&line)) {
            let base_url = base_url.unwrap_or_else(|| panic!("no port in {line:?}"));
            return Server {
                child,
                base_url,
                banner,
            };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no \"listening on\" line:\n{banner}");
}

/// `http://127.0.0.1:<port>` from the server's "listening on" line.
fn listening_url(line: &str) -> Option<String> {
    const PREFIX: &str = "http://127.0.0.1:";
    let rest = &line[line.find(PREFIX)? + PREFIX.len()..];
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let port: u16 = rest[..digits].parse().ok().filter(|&port| port != 0)?;
    Some(format!("{PREFIX}{port}"))
}
