#!/usr/bin/env bash
# The methods × baselines table of docs/evaluation.md, one `explainer evaluate` process per
# method (so a long grid can be stopped and resumed method by method, and the methods that
# finished are kept), then merged into one Markdown table by scripts/eval/merge.py.
#
#   scripts/eval/grid.sh OUT_DIR [LIMIT] [METHOD ...]
#
# Every row's numbers are the ones a single `explainer evaluate --methods M` run gives; the
# control row and the randomisation columns come from each method's own run (the control row
# of the first is shown). Uses the release binary (EXPLAINER_BIN to choose another).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:?usage: scripts/eval/grid.sh OUT_DIR [LIMIT] [METHOD ...]}"
limit="${2:-200}"
shift $(( $# >= 2 ? 2 : $# ))
bin="${EXPLAINER_BIN:-}"
if [ -z "$bin" ]; then
  lt="$(bash scripts/libtorch.sh)"; export LIBTORCH="$lt"
  cargo build --quiet --release -p explainer-cli
  bin=target/release/explainer
fi
methods=("$@")
if [ "${#methods[@]}" -eq 0 ]; then
  mapfile -t methods < <("$bin" methods --json | python3 -c 'import json,sys; print("\n".join(m["name"] for m in json.load(sys.stdin)))')
fi
mkdir -p "$out"
for m in "${methods[@]}"; do
  if [ -s "$out/$m.json" ]; then echo "grid: $m done already" >&2; continue; fi
  start=$(date +%s)
  "$bin" evaluate --data data/compliance/test.jsonl --limit "$limit" --methods "$m" \
    ${EVAL_ARGS:-} --format json -o "$out/$m.json.partial"
  mv "$out/$m.json.partial" "$out/$m.json"
  echo "grid: $m in $(( $(date +%s) - start )) s" >&2
done
"$bin" evaluate --merge "$out"/*.json --format markdown -o "$out/table.md"
echo "grid: table in $out/table.md" >&2
