# The commands the README names. `make dev` runs the API locally; `make test` runs every test.
.PHONY: dev test check bench

## dev: every route on http://127.0.0.1:$${PORT:-8000}, in-memory store, development auth unless AUTH_* is set
dev:
	cargo run -p taskgate-local

## test: everything CI runs: formatting, clippy, every test
test: check
	cargo test --workspace --all-targets

check:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## bench: criterion benchmarks (verification, whole requests), then a load run of taskgate-local
bench:
	cargo bench -p taskgate-tests --bench requests
	scripts/load-run.sh
