# The two set-up commands (see README.md). Both install libtorch on first use
# (scripts/libtorch.sh: torch 2.13.0 from PyPI into .libtorch/, or your LIBTORCH).

.PHONY: run test fmt lint

# The main job: until the bundled default model exists, a smoke run that loads a small
# model and prints its label scores.
run:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; LIBTORCH="$$lt" cargo run --quiet -p explainer-cli -- smoke

# The whole test suite. Also installs Debian's Chromium once (scripts/chromium.sh) for the
# HTML report's real-browser test.
test:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; ch="$$(bash scripts/chromium.sh)"; LIBTORCH="$$lt" EXPLAINER_CHROMIUM="$$ch" cargo test --workspace --no-fail-fast

fmt:
	cargo fmt --all

lint:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; LIBTORCH="$$lt" cargo clippy --workspace --all-targets -- -D warnings
