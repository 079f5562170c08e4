#!/usr/bin/env python3
"""Accuracy and cost of the adaptive integration (`--tolerance`) against a many-step reference,
on a real checkpoint (default: all-MiniLM-L6-v2 with the seeded 6-label head of
``make_minilm_classifier.py``), with the ``lig_bench`` example as the only engine.

For each text and layer it runs ``lig_bench --steps 256`` (Gauss-Legendre, the reference; Captum's
rule, parity-tested) and ``lig_bench --tolerance T`` for each T, every label in one call, and prints
per T: the points used, the worst ratio true error / reported estimate (honest: <= a small factor),
the worst true error relative to the label's largest |attribution| (within T), and the median
time of the call against a fixed 50-step run.

    /work/pyref/bin/python scripts/bench/adaptive_accuracy.py --bin target/debug/examples/lig_bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TEXTS = [
    "shares of the small mining company jumped forty percent after a trader posted that a takeover was "
    "certain, although no offer had been made; he sold his position the same afternoon and told a friend to buy "
    "before the news",
    "please send me the client list and their account numbers before friday, I will pay you in cash",
    "the quarterly report is attached, let me know if the figures for the northern region look right to you",
]


def run(binary: str, model: str, text_file: Path, extra: list[str], labels: str, iters: int) -> dict:
    cmd = [binary, "--model", model, "--text-file", str(text_file), "--labels", labels, "--threads", "2",
           "--iters", str(iters), "--warmup", "1", *extra]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--model", default="/tmp/explainer-bench/minilm-6")
    parser.add_argument("--layers", default="embeddings.word,encoder.4")
    parser.add_argument("--tolerances", default="1e-2,1e-3,1e-4")
    parser.add_argument("--iters", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/explainer-bench/adaptive"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(TEXTS):
        text_file = args.workdir / f"text-{i}.txt"
        text_file.write_text(text, encoding="utf-8")
        for layer in args.layers.split(","):
            ref = run(args.bin, args.model, text_file, ["--steps", "256", "--layer", layer], "all", 1)
            fixed = run(args.bin, args.model, text_file, ["--steps", "50", "--layer", layer], "first", args.iters)
            fixed_all = run(args.bin, args.model, text_file, ["--steps", "50", "--layer", layer], "all", 1)
            for t in [float(x) for x in args.tolerances.split(",")]:
                got = run(args.bin, args.model, text_file, ["--tolerance", str(t), "--layer", layer], "all", 1)
                one = run(args.bin, args.model, text_file, ["--tolerance", str(t), "--layer", layer], "first", args.iters)
                worst_ratio, worst_rel = 0.0, 0.0
                for a, b, est in zip(got["attributions"], ref["attributions"], got["error_estimates"]):
                    scale = max(abs(v) for v in b)
                    true = max(abs(x - y) for x, y in zip(a, b))
                    worst_rel = max(worst_rel, true / scale)
                    worst_ratio = max(worst_ratio, true / max(est, 1e-300))
                f50 = [max(abs(x - y) for x, y in zip(a, b)) / max(abs(v) for v in b)
                       for a, b in zip(fixed_all["attributions"], ref["attributions"])]
                row = {"text": i, "tokens": got["tokens"], "layer": layer, "tolerance": t,
                       "points": sorted(set(got["steps_used"])), "worst_true_over_estimate": worst_ratio,
                       "worst_true_relative": worst_rel, "fixed50_true_relative": max(f50),
                       "one_label_adaptive_s": one["median_s"], "one_label_fixed50_s": fixed["median_s"],
                       "ratio": one["median_s"] / fixed["median_s"], "warnings": got["warnings"]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("| text | tokens | layer | tolerance | points | worst true/estimate | worst true error (rel.) | 50-step GL error (rel.) | one label: adaptive / 50 steps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['text']} | {r['tokens']} | {r['layer']} | {r['tolerance']:g} | {','.join(map(str, r['points']))} | "
              f"{r['worst_true_over_estimate']:.3f} | {r['worst_true_relative']:.2e} | {r['fixed50_true_relative']:.2e} | "
              f"{r['one_label_adaptive_s']:.2f} / {r['one_label_fixed50_s']:.2f} s = {r['ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
