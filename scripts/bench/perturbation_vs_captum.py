#!/usr/bin/env python3
"""Perturbation methods' speed: explainer vs Captum, same checkpoint, text, threads.

Times Occlusion (tokens, window 3, stride 1), FeatureAblation (word groups) and KernelSHAP
(word groups, 512 coalitions) on one text and one label, pad baseline ([PAD] everywhere but
[CLS]/[SEP]), sigmoid/softmax probabilities:

* Captum in-process: ``Occlusion`` / ``FeatureAblation`` / ``KernelShap`` on the token ids with
  ``perturbations_per_eval`` = 1 (Captum's default: one forward per perturbed input) and = 64
  (batched), after one untimed call;
* explainer in-process: ``crates/methods/perturbation/examples/perturbation_bench.rs`` (the
  binary given by ``--bench-bin``, built with ``cargo build --release -p explainer-perturbation
  --example perturbation_bench``) timing ``--iters`` calls after one warm-up;
* whole process: the wall time of a fresh ``python -c`` doing imports, model load and one call,
  and of the explainer binary doing load and one call (``--iters 1 --warmup 0``).

Both use ``--threads`` intra-op threads (default 2). Prints a table with the ratios
``Captum / explainer`` (>= 1: explainer faster) and the largest difference of label 0's word
scores relative to the largest |score| (the same numbers should come out: parity).

    /work/pyref/bin/python scripts/bench/perturbation_vs_captum.py \
        --model models/compliance-minibert --bench-bin target/release/examples/perturbation_bench
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEXT = ("Please wire the outstanding invoice amount to the new account today, the bank details "
        "changed and the payment must clear before Friday or the contract is cancelled.")

CAPTUM_CALL = r'''
import os, sys, time, json
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from captum.attr import Occlusion, FeatureAblation, KernelShap
from transformers import AutoModelForSequenceClassification, AutoTokenizer
model_dir, text, method, threads, ppe, iters = sys.argv[1:7]
threads, ppe, iters = int(threads), int(ppe), int(iters)
torch.set_num_threads(threads)
model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()  # transformers default attention (sdpa)
tok = AutoTokenizer.from_pretrained(model_dir)
enc = tok(text, return_tensors="pt")
ids = enc["input_ids"]
special = tok.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)
baseline = torch.tensor([[i if s else tok.pad_token_id for i, s in zip(ids[0].tolist(), special)]])
multi = model.config.problem_type == "multi_label_classification"
def forward(x):
    with torch.no_grad():
        logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits
    return torch.sigmoid(logits) if multi else torch.softmax(logits, -1)
words, mask, last, extra = 0, [], None, None
wids = enc.word_ids()
nw = len({w for w in wids if w is not None})
for w in wids:
    if w is None:
        mask.append(nw + len([m for m in mask if m >= nw])); last = None
    else:
        if w != last: words += 1; last = w
        mask.append(words - 1)
fmask = torch.tensor([mask])
def call():
    if method == "occlusion":
        return Occlusion(forward).attribute(ids, baselines=baseline, target=0, sliding_window_shapes=(3,), strides=1, perturbations_per_eval=ppe)
    if method == "feature-ablation":
        return FeatureAblation(forward).attribute(ids, baselines=baseline, target=0, feature_mask=fmask, perturbations_per_eval=ppe)
    torch.manual_seed(0)
    return KernelShap(forward).attribute(ids, baselines=baseline, target=0, feature_mask=fmask, n_samples=512, perturbations_per_eval=ppe)
out = call()
times = []
for _ in range(iters):
    t = time.perf_counter(); out = call(); times.append(time.perf_counter() - t)
print(json.dumps({"times_s": times, "tokens": ids.shape[1], "attr": out[0].tolist(), "mask": mask, "words": nw}))
'''


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/compliance-minibert")
    p.add_argument("--bench-bin", default="target/release/examples/perturbation_bench")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--methods", default="occlusion,feature-ablation,kernel-shap")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="perturbation-bench-"))
    text_file = work / "text.txt"
    text_file.write_text(TEXT + "\n")
    rows = []
    for method in a.methods.split(","):
        captum = {}
        for ppe in (1, 64):
            out = subprocess.run([sys.executable, "-c", CAPTUM_CALL, a.model, TEXT, method, str(a.threads), str(ppe),
                                  str(a.iters)], check=True, capture_output=True, text=True)
            captum[ppe] = json.loads(out.stdout.strip().splitlines()[-1])
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", CAPTUM_CALL, a.model, TEXT, method, str(a.threads), "64", "0"],
                       check=True, capture_output=True, text=True)
        captum_process = time.perf_counter() - t0
        env = dict(os.environ)
        ours = json.loads(subprocess.run([a.bench_bin, "--model", a.model, "--text-file", str(text_file), "--method",
                                          method, "--threads", str(a.threads), "--iters", str(a.iters)],
                                         check=True, capture_output=True, text=True, env=env).stdout.strip())
        t0 = time.perf_counter()
        subprocess.run([a.bench_bin, "--model", a.model, "--text-file", str(text_file), "--method", method,
                        "--threads", str(a.threads), "--iters", "1", "--warmup", "0"], check=True,
                       capture_output=True, text=True, env=env)
        ours_process = time.perf_counter() - t0
        # Parity of label 0: per word (Captum repeats a group's score on its tokens; ours splits it).
        c = captum[64]
        mask = c["mask"]
        if method == "occlusion":
            theirs, mine = c["attr"], ours["label0_attributions"]
        else:
            theirs = [c["attr"][mask.index(g)] for g in range(c["words"])]
            mine = [sum(v for v, m in zip(ours["label0_attributions"], mask) if m == g) for g in range(c["words"])]
        scale = max(abs(x) for x in theirs) or 1.0
        diff = max(abs(x - y) for x, y in zip(mine, theirs)) / scale
        rows.append((method, ours["tokens"], median(captum[1]["times_s"]), median(captum[64]["times_s"]),
                     ours["median_s"], captum_process, ours_process, diff))
    print(f"threads {a.threads}, text of {rows[0][1]} tokens, label 0, model {a.model}")
    print("| method | Captum ppe=1 (s) | Captum ppe=64 (s) | explainer (s) | ratio vs ppe=1 | ratio vs ppe=64 | "
          "whole process Captum / explainer (s) | ratio | label-0 max diff / max |A| |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m, _, c1, c64, o, cp, op, d in rows:
        print(f"| {m} | {c1:.3f} | {c64:.3f} | {o:.3f} | {c1 / o:.1f} | {c64 / o:.1f} | {cp:.2f} / {op:.2f} | "
              f"{cp / op:.1f} | {d:.1e} |")


if __name__ == "__main__":
    main()
