# The two set-up commands (see README.md). Both install libtorch on first use
# (scripts/libtorch.sh: torch 2.13.0 from PyPI into .libtorch/, or your LIBTORCH).

.PHONY: run test fmt lint models minilm spark

# Realistic messages for the main job (not from the corpus templates).
MSG1 = Hi Tom, can you send me the client's passport number and date of birth? Let's move this to WhatsApp.
MSG2 = Keep this quiet: the merger with Redwood is announced Monday, buy before the news.
MSG3 = The gift shop in the lobby closes at five, and the Insider newsletter is on your desk.

# The main job: the bundled multi-label model (models/compliance-minibert) explains three
# messages: every predicted label's score, highlighted words, F(x), F(x0) and the delta.
run:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; export LIBTORCH="$$lt"; \
	cargo build --quiet -p explainer-cli; \
	for text in "$(MSG1)" "$(MSG2)" "$(MSG3)"; do cargo run --quiet -p explainer-cli -- explain "$$text" --tolerance 1e-3; echo; done

# The whole test suite. Also installs Debian's Chromium once (scripts/chromium.sh) for the
# HTML report's real-browser test. No incremental cache: a one-shot test build does not
# reuse it, and it costs ~3 GB of disk.
test:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; ch="$$(bash scripts/chromium.sh)"; LIBTORCH="$$lt" EXPLAINER_CHROMIUM="$$ch" CARGO_INCREMENTAL=0 cargo test --workspace --no-fail-fast

fmt:
	cargo fmt --all

lint:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; LIBTORCH="$$lt" cargo clippy --workspace --all-targets -- -D warnings

# Retrain the two bundled models (minutes on 2 cores; the same weights each time on the same
# CPU kind): data/ is regenerated first, then models/*/ and their cards.
models:
	@set -e; lt="$$(bash scripts/libtorch.sh)"; export LIBTORCH="$$lt"; \
	cargo run --quiet --release -p explainer-corpus -- --out data; \
	cargo run --quiet --release -p explainer-train -- model --task compliance --out models/compliance-minibert; \
	cargo run --quiet --release -p explainer-train -- model --task business-line --out models/business-line-minibert

# Fine-tune the real all-MiniLM-L6-v2 on the compliance corpus, into a folder outside git
# (scripts/finetune_minilm.sh; not part of make test).
minilm:
	@bash scripts/finetune_minilm.sh

# A local-mode Spark job (local[2]) over 300 texts with the bundled model, checked against a
# single-process `explainer batch` (same numbers), plus killed-task retries and strict mode
# (docs/spark.md). Installs Java 17 (Debian) and pyspark (PyPI, .venv-spark/) when missing.
# Not part of make test (two Spark sessions: minutes on 2 cores).
spark:
	@bash scripts/spark/run.sh
