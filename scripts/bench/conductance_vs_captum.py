#!/usr/bin/env python3
"""Layer Conductance speed: explainer vs Captum, same checkpoint, text, layer, steps, threads.

Times, on the same random BERT checkpoint (``scripts/bench/make_random_checkpoint.py``) and text:

* Captum: ``LayerConductance(forward, model.bert.encoder.layer[L]).attribute(...)`` with the word
  embeddings as inputs (one ``attribute`` call per label);
* explainer ``layer-conductance`` at ``encoder.L`` (every label from one forward per chunk);
* explainer ``conductance-sweep``: the embeddings and EVERY encoder layer from one set of passes;

for (a) one label and (b) all labels, and prints a table with ``Captum / explainer-layer``
(>= 1.0: explainer is faster) and ``explainer-sweep / Captum`` (how many one-layer Captum runs
the whole sweep costs), and cross-checks label 0's per-token attributions at ``encoder.L``
(max |diff| relative to the largest |attribution|) for both explainer runs.

From the repository root, with the fixtures venv (torch 2.13.0, transformers 5.23.0, captum 0.9.0)::

    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py               # BERT-base, once
    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py --size minilm
    /work/pyenv-fixtures/bin/python scripts/bench/conductance_vs_captum.py                # BERT-base
    /work/pyenv-fixtures/bin/python scripts/bench/conductance_vs_captum.py --model /tmp/explainer-bench/minilm-random

What both sides run: ``BertForSequenceClassification.from_pretrained(dir, attn_implementation="eager")``,
float32, eval / ``HfClassifier::load(dir)``; a text of exactly ``--tokens`` tokens (default 66,
written to ``--workdir``; both tokenise the same file and the script checks the ids); sigmoid
probabilities of the 6 labels; inputs: the word embeddings of the ids, baselines: the word
embeddings of [PAD] everywhere but [CLS]/[SEP] (explainer's ``pad``); ``forward(inputs_embeds,
attention_mask, token_type_ids)``; ``--steps`` (default 50) with Gauss-Legendre points
(``method="gausslegendre"``), ``return_convergence_delta=True``; Captum's
``internal_batch_size=None``; ``--threads`` (default 2) for both.

Timing: ``--rounds`` rounds; in each, for each case, Captum then explainer-layer then
explainer-sweep, each preceded by a wait (up to ``--quiet-wait`` s) until the CPUs are <= 10 %
busy. Captum is timed in-process after ``--warmup`` untimed calls; explainer runs the release
example ``crates/methods/conductance/examples/conductance_bench.rs`` as a subprocess (model
loading not timed). The table gives medians over all timed calls. ``--json FILE`` keeps them all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lig_vs_captum import cpu_model, make_text, peak_rss_mb, relative_diff, stats, wait_quiet  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = "/tmp/explainer-bench/bert-base-random"


class CaptumSide:
    def __init__(self, model_dir: str, layer: int, torch):
        from captum.attr import LayerConductance  # noqa: PLC0415
        from transformers import BertForSequenceClassification  # noqa: PLC0415

        self.torch = torch
        self.model = BertForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager",
                                                                   dtype=torch.float32)
        self.model.eval()
        self.config = self.model.config
        assert self.config.problem_type == "multi_label_classification", self.config.problem_type
        self.num_labels = self.config.num_labels
        model = self.model

        def forward(inputs_embeds, attention_mask, token_type_ids):
            logits = model(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).logits
            return torch.sigmoid(logits)

        self.lc = LayerConductance(forward, model.bert.encoder.layer[layer])

    def prepare(self, ids: list[int], kept: set[int], pad: int) -> None:
        torch = self.torch
        ids_t = torch.tensor([ids], dtype=torch.int64)
        base_t = torch.tensor([[i if i in kept else pad for i in ids]], dtype=torch.int64)
        with torch.no_grad():
            self.x = self.model.bert.embeddings.word_embeddings(ids_t)
            self.x0 = self.model.bert.embeddings.word_embeddings(base_t)
        self.mask = torch.ones_like(ids_t)
        self.types = torch.zeros_like(ids_t)

    def explain(self, targets: list[int], steps: int) -> dict:
        """Captum's way: one attribute() call per label."""
        out = {}
        for target in targets:
            attributions, delta = self.lc.attribute(
                self.x,
                baselines=self.x0,
                target=target,
                additional_forward_args=(self.mask, self.types),
                n_steps=steps,
                method="gausslegendre",
                return_convergence_delta=True,
            )
            out[target] = (attributions.detach().sum(dim=-1)[0].double().tolist(), float(delta))
        return out


def run_explainer(binary: Path, mode: str, layer: int, model_dir: str, text_file: Path, labels: str, steps: int,
                  threads: int, iters: int, warmup: int) -> dict:
    cmd = [str(binary), "--model", model_dir, "--text-file", str(text_file), "--mode", mode,
           "--layer", f"encoder.{layer}", "--labels", labels, "--steps", str(steps), "--threads", str(threads),
           "--iters", str(iters), "--warmup", str(warmup)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=66)
    parser.add_argument("--layer", type=int, default=3, help="encoder layer index")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default="one,all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/explainer-bench"))
    parser.add_argument("--bin", type=Path, default=None, help="a built conductance_bench (skips cargo build)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",")]
    if not set(cases) <= {"one", "all"}:
        parser.error("--cases takes one, all")

    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--example", "conductance_bench", "-p",
                        "explainer-conductance"], cwd=REPO, check=True)
        target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        binary = target_dir / "release" / "examples" / "conductance_bench"

    import captum  # noqa: PLC0415
    import torch  # noqa: PLC0415
    import transformers  # noqa: PLC0415
    from tokenizers import Tokenizer  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    tokenizer = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    kept = {tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")}
    pad = tokenizer.token_to_id("[PAD]")
    captum_side = CaptumSide(args.model, args.layer, torch)
    config = captum_side.config
    model_name = Path(args.model).name
    all_labels = list(range(captum_side.num_labels))
    print(f"# {cpu_model()}, nproc {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, captum {captum.__version__}; {model_name}: "
          f"{config.num_hidden_layers} layers, hidden {config.hidden_size}; layer {args.layer}; "
          f"threads {args.threads}", file=sys.stderr, flush=True)

    args.workdir.mkdir(parents=True, exist_ok=True)
    text = make_text(tokenizer, args.tokens)
    text_file = args.workdir / f"text-{model_name}-{args.tokens}.txt"
    text_file.write_text(text, encoding="utf-8")
    ids = tokenizer.encode(text).ids
    captum_side.prepare(ids, kept, pad)
    for _ in range(args.warmup):
        captum_side.explain([0], args.steps)

    impls = ("captum", "layer", "sweep")
    times = {(impl, case): [] for impl in impls for case in cases}
    last = {}
    raw = []
    for r in range(args.rounds):
        for case in cases:
            targets = [0] if case == "one" else all_labels
            busy = wait_quiet(args.quiet_wait)
            for _ in range(args.iters):
                start = time.perf_counter()
                result = captum_side.explain(targets, args.steps)
                elapsed = time.perf_counter() - start
                times[("captum", case)].append(elapsed)
                raw.append({"impl": "captum", "case": case, "round": r, "s": elapsed, "busy_before": busy})
            last[("captum", case)] = result
            print(f"#   round {r} {case:>3}: captum {elapsed:8.2f} s (busy before {busy or 0:.0%})",
                  file=sys.stderr, flush=True)
            for mode in ("layer", "sweep"):
                busy = wait_quiet(args.quiet_wait)
                ours = run_explainer(binary, mode, args.layer, args.model, text_file,
                                     "first" if case == "one" else "all", args.steps, args.threads, args.iters,
                                     args.warmup)
                if ours["ids"] != ids:
                    raise SystemExit("the example tokenised the text differently")
                if ours["labels"] != targets:
                    raise SystemExit(f"the example explained labels {ours['labels']}, not {targets}")
                times[(mode, case)].extend(ours["times_s"])
                for t in ours["times_s"]:
                    raw.append({"impl": mode, "case": case, "round": r, "s": t, "busy_before": busy,
                                "vm_hwm_mb": ours["vm_hwm_mb"]})
                last[(mode, case)] = ours
                print(f"#   round {r} {case:>3}: explainer {mode:>5} {statistics.median(ours['times_s']):8.2f} s "
                      f"(busy before {busy or 0:.0%}, peak RSS {ours['vm_hwm_mb']:.0f} MiB)",
                      file=sys.stderr, flush=True)

    print(f"\n{model_name} ({config.num_hidden_layers} layers, hidden {config.hidden_size}), {args.tokens} tokens, "
          f"layer encoder.{args.layer}, {args.steps} Gauss-Legendre steps, {args.threads} threads, "
          f"{args.rounds} rounds x {args.iters} timed call(s); medians in seconds")
    print("| model | labels | Captum one layer | explainer one layer | **Captum / explainer layer** "
          "| explainer sweep (all layers) | **sweep / Captum one layer** |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    for case in cases:
        c, lay, sw = (stats(times[(i, case)]) for i in impls)
        row = {"model": model_name, "case": case, "labels": 1 if case == "one" else len(all_labels), "captum": c,
               "layer": lay, "sweep": sw, "captum_over_layer": c["median_s"] / lay["median_s"],
               "sweep_over_captum": sw["median_s"] / c["median_s"]}
        summary.append(row)
        print(f"| {model_name} | {row['labels']} | {c['median_s']:.2f} | {lay['median_s']:.2f} "
              f"| **{row['captum_over_layer']:.2f}** | {sw['median_s']:.2f} | **{row['sweep_over_captum']:.2f}** |")
    print("\n| case | run | label-0 max abs diff / max abs attribution | max abs delta gap over labels |")
    print("| --- | --- | --- | --- |")
    checks = []
    for case in cases:
        captum_result = last[("captum", case)]
        for mode in ("layer", "sweep"):
            ours = last[(mode, case)]
            rel, _ = relative_diff(ours["label0_attributions"], captum_result[0][0])
            gap = max(abs(ours["deltas"][i] - captum_result[t][1]) for i, t in enumerate(ours["labels"]))
            checks.append({"case": case, "mode": mode, "rel_diff": rel, "delta_gap": gap})
            print(f"| {case} | {mode} | {rel:.2e} | {gap:.2e} |")
    busy = [r["busy_before"] for r in raw if r.get("busy_before") is not None]
    print(f"\n{sum(b > 0.10 for b in busy)} of {len(busy)} measurements started with the CPUs > 10% busy; "
          f"Python peak RSS {peak_rss_mb():.0f} MiB.")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "checks": checks, "runs": raw}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
