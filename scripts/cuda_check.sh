#!/usr/bin/env bash
# The CUDA path, checked on a machine with a GPU (CI has none): installs the CUDA libraries of
# libtorch when missing (EXPLAINER_CUDA=1 scripts/libtorch.sh), builds the CLI, explains the
# same messages with the bundled model on `cpu` and on `cuda` with LIG, DeepLift and
# conductance, and compares every number of the two JSON reports.
#
# Bound: both devices compute in f32; the GPU sums in other orders, so each attribution may
# differ by the rounding of its own computation, about κ·u·R with R the largest |attribution|
# or |F| of the label and κ the method's rounding factor (docs/axioms.md). The check allows
# 1e-4·(R + 1) per number (κ ≈ 800 ≫ any method's factor at u = 6e-8) and prints the worst
# ratio, so a real bug (a tensor left on the CPU, a wrong device copy) shows as an error
# or a ratio far above 1.
set -euo pipefail
cd "$(dirname "$0")/.."
lt="$(EXPLAINER_CUDA=1 bash scripts/libtorch.sh)"
export LIBTORCH="$lt"
cargo build --quiet --release -p explainer-cli
bin=target/release/explainer
out="$(mktemp -d)"
text="Keep this quiet: the merger with Redwood is announced Monday, buy before the news."
for method in layer-integrated-gradients deeplift layer-conductance; do
  for device in cpu cuda; do
    "$bin" explain "$text" --method "$method" --labels all --device "$device" --format json -o "$out/$method.$device.json"
  done
done
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
worst = 0.0
def walk(a, b, path, scale):
    """Every number of the cpu report against the cuda one, within 1e-4·(scale + 1)."""
    global worst
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: fields differ"
        if "token_attributions" in a:  # one explained label: R = its largest |A|, |F(x)|, |F(x0)|
            values = [abs(v) for v in a["token_attributions"]] + [abs(a.get("f_input") or 0), abs(a.get("f_baseline") or 0)]
            scale = max(values)
        for k in a:
            walk(a[k], b[k], f"{path}.{k}", scale)
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", scale)
    elif isinstance(a, float) or isinstance(b, float):
        ratio = abs(a - b) / (1e-4 * (scale + 1.0))
        worst = max(worst, ratio)
        if ratio > 1:
            sys.exit(f"{path}: cpu {a} vs cuda {b}")
    else:
        assert a == b, f"{path}: {a} vs {b}"
for method in ("layer-integrated-gradients", "deeplift", "layer-conductance"):
    cpu = json.load(open(os.path.join(out, f"{method}.cpu.json")))
    gpu = json.load(open(os.path.join(out, f"{method}.cuda.json")))
    walk(cpu["explanations"], gpu["explanations"], method, 1.0)
print(f"cuda vs cpu: every number within its bound (worst ratio {worst:.3g})")
PY
