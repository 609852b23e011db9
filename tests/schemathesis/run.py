"""Schemathesis against taskgate-local, as `make test` runs it (after `cargo test`, which built the
binary): the API's contract, openapi.yaml, attacked through every operation, with positive and
negative data, then stateful sequences through its links.

Three runs on one taskgate-local in HS256 mode (its in-memory store), each request with a fresh
token (tests/schemathesis/hooks.py), every phase, the conformance checks and one of their own:

1. `other-task`: the other user's token on its own path, with the owner's task id in every
   `{task_id}`: the task is never shown, changed or deleted (404); its owner then reads it back
   unchanged.
2. `other-path`: the other user's token on the owner's path: every answer 403 `forbidden`.
3. `own`: the owner's token on its own path: also invalid data refused with a 4xx, a method a
   path does not have answered 405 with `Allow`, a deleted task never found again, and requests
   without a token refused.

Arguments are passed on to each `st run` (e.g. `--seed 7` or `--max-examples 500` to explore
further than the configuration's fixed seed and budget). Exits non-zero on any failure, and
always stops the server it started.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ISSUER = "taskgate-schemathesis"
OWNER = "schemathesis-owner"
OTHER = "schemathesis-other"
CONFORMANCE = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]
RUNS = [
    # (name, the token's user, the path's user, extra checks)
    ("other-task", OTHER, OTHER, ["other_users_task_unseen"]),
    ("other-path", OTHER, OWNER, ["refused_on_another_users_path"]),
    ("own", OWNER, OWNER, [
        "negative_data_rejection", "missing_required_header", "unsupported_method",
        "allow_header_conformance", "use_after_free", "ignored_auth",
    ]),
]
sys.path.insert(0, str(HERE))
from hooks import mint_token  # noqa: E402


def fail(message: str) -> NoReturn:
    print(f"schemathesis: {message}", file=sys.stderr)
    sys.exit(1)


def binary() -> Path:
    """The taskgate-local that `cargo test` (or `cargo build -p taskgate-local`) built."""
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    path = Path(json.loads(metadata.stdout)["target_directory"]) / "debug" / "taskgate-local"
    if not path.is_file():
        fail(f"{path} is missing: build it with `cargo build -p taskgate-local` (make test does)")
    return path


class Server:
    """taskgate-local on a free port (PORT=0, read back from its log), killed on exit."""

    def __init__(self, secret: str, log_dir: Path):
        env = {
            name: value for name, value in os.environ.items()
            if not name.startswith(("AUTH_", "AWS_")) and name not in ("TASKS_TABLE", "REVOCATION_TTL_S")
        }
        env.update(
            PORT="0", RUST_LOG="info",
            AUTH_HS256_SECRET=secret, AUTH_ISSUER=ISSUER, AUTH_AUDIENCE=ISSUER,
        )
        self.log_dir = log_dir
        log = log_dir / "taskgate-local.log"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [binary()], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        listening = threading.Event()
        self.url = ""

        def drain():
            for line in self.process.stdout:
                self.log.write(line)
                found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
                if found and not listening.is_set():
                    self.url = found.group(1)
                    listening.set()
            listening.set()

        threading.Thread(target=drain, daemon=True).start()
        if not listening.wait(60) or not self.url:
            self.stop()
            fail(f"taskgate-local did not start; its log: {log}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def call(url: str, token: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    """One request to the API with `token`: its status and JSON body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def summary(seen: Path) -> str:
    """What each operation answered, e.g. `POST /api/{user_id}/tasks: 201, 400 invalid-body, ...`."""
    answers: dict[str, set[str]] = {}
    for line in seen.read_text().splitlines() if seen.exists() else []:
        answer = json.loads(line)
        method = "" if answer["method"] == answer["operation"].split()[0] else f" (as {answer['method']})"
        answers.setdefault(answer["operation"], set()).add(f"{answer['status']} {answer['kind']}".strip() + method)
    return "\n".join(f"   {operation}: {', '.join(sorted(got))}" for operation, got in sorted(answers.items()))


def schemathesis(name: str, sub: str, path_user: str, checks: list[str], server: Server, env: dict) -> bool:
    st = ROOT / ".venv" / "bin" / "st"
    if not st.is_file():
        fail(f"{st} is missing: `make test-deps` installs requirements-dev.txt into .venv/")
    seen = server.log_dir / f"{name}.answers.jsonl"
    seen.unlink(missing_ok=True)
    env = {
        **os.environ, **env, "TASKGATE_RUN": name, "TASKGATE_SUB": sub, "TASKGATE_PATH_USER": path_user,
        "TASKGATE_SEEN": str(seen),
        # Hypothesis's own files (its Unicode tables), out of the working tree.
        "HYPOTHESIS_STORAGE_DIRECTORY": str(server.log_dir / "hypothesis"),
    }
    command = [
        str(st), "--config-file", str(HERE / "schemathesis.toml"), "run", "openapi.yaml",
        "--url", server.url, "--checks", ",".join(CONFORMANCE + checks), *sys.argv[1:],
    ]
    print(f"\n== schemathesis run `{name}`: token of {sub}, path of {path_user}", flush=True)
    started = time.monotonic()
    passed = subprocess.run(command, cwd=ROOT, env=env).returncode == 0
    print(f"== `{name}` {'passed' if passed else 'FAILED'} in {time.monotonic() - started:.0f} s; answered:")
    print(summary(seen), flush=True)
    return passed


def main() -> None:
    if shutil.which("cargo") is None:
        fail("cargo is not on PATH")
    secret = secrets.token_urlsafe(32)
    log_dir = ROOT / "target" / "schemathesis"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = Server(secret, log_dir)
    env = {"TASKGATE_SECRET": secret, "TASKGATE_ISSUER": ISSUER}
    results = []
    started = time.monotonic()
    try:
        tasks = f"{server.url}/api/{OWNER}/tasks"
        _, task = call(tasks, mint_token(OWNER, secret, ISSUER), "POST", {"title": "the owner's own"})
        env["TASKGATE_OTHER_TASK"] = task["id"]
        for name, sub, path_user, checks in RUNS:
            results.append(schemathesis(name, sub, path_user, checks, server, env))
            if name == "other-task":
                status, after = call(f"{tasks}/{task['id']}", mint_token(OWNER, secret, ISSUER))
                unchanged = status == 200 and after == task
                print(f"== the owner's task after `other-task`: {'unchanged' if unchanged else after}")
                results.append(unchanged)
    finally:
        server.stop()
    failed = results.count(False)
    print(f"\nschemathesis: {len(results) - failed} passed, {failed} failed "
          f"({time.monotonic() - started:.0f} s; server log: {log_dir / 'taskgate-local.log'})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
