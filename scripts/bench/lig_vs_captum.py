#!/usr/bin/env python3
"""Layer Integrated Gradients speed: explainer vs Captum, same checkpoint, text, steps, threads.

Captum's ``LayerIntegratedGradients`` runs the whole path integral once per label; explainer's
``LayerIntegratedGradients`` computes every requested label from one forward per chunk of
interpolation steps (one backward per label).  This script times both on the same random BERT
checkpoint (``scripts/bench/make_random_checkpoint.py``) and the same text, for (a) one label and
(b) all labels (Captum looping over the targets, explainer in one call), prints a table with the
ratio ``Captum median / explainer median`` (>= 1.0: explainer is faster) and cross-checks label 0's
per-token attributions (max |diff| relative to the largest |attribution|) and the deltas.

From the repository root, with the fixtures venv (torch 2.13.0, transformers 5.23.0, captum 0.9.0)::

    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py      # once, ~440 MB in /tmp
    /work/pyenv-fixtures/bin/python scripts/bench/lig_vs_captum.py               # BERT-base, 66 tokens
    /work/pyenv-fixtures/bin/python scripts/bench/lig_vs_captum.py --tokens 512 --rounds 1 --warmup 0
    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py --size minilm
    /work/pyenv-fixtures/bin/python scripts/bench/lig_vs_captum.py --model /tmp/explainer-bench/minilm-random

What both sides run:

* checkpoint: ``BertForSequenceClassification.from_pretrained(dir, attn_implementation="eager")``,
  float32, ``eval()`` / ``HfClassifier::load(dir)``; the same ``tokenizer.json``;
* text: built by this script from a fixed word list to exactly ``--tokens`` tokens ([CLS] and
  [SEP] included) and written to ``--workdir/text-<model>-<tokens>.txt``; both tokenise that file
  (the example echoes its ids and the script stops if they differ from the Python tokenizer's);
* forward function: sigmoid probabilities of the 6 labels; layer: the word embeddings
  (Captum: ``model.bert.embeddings.word_embeddings``, attention mask and token types as
  additional forward args); baseline: [PAD] everywhere but [CLS] / [SEP] (explainer's ``pad``);
  ``n_steps`` 50 Gauss-Legendre (``method="gausslegendre"``); Captum with
  ``return_convergence_delta=True`` (explainer always computes the deltas);
* Captum's ``internal_batch_size``: ``None`` (all steps in one batch) up to ``--long`` tokens
  (default 128); above, ``--internal-batch-size`` (default: the chunk explainer's memory estimate
  gives at that length with the default 6 GiB budget, 7 rows at 512 tokens for BERT-base), so that
  both run the steps in chunks of the same size;
* threads: ``torch.set_num_threads(--threads)`` / ``tch::set_num_threads`` (default 2).

Timing: per length, ``--rounds`` rounds; in each round, for each case (one label, all labels),
Captum then explainer, each preceded by a wait (up to ``--quiet-wait`` s) until the CPUs are <= 10 %
busy.  Captum times ``--iters`` calls in-process (after ``--warmup`` untimed calls, once per
length); explainer runs ``crates/methods/integrated-gradients/examples/lig_bench.rs`` (release)
as a subprocess with ``--warmup`` and ``--iters`` (model loading is not timed).  The table gives
the median over all timed calls, the minimum and the mean.  ``--json FILE`` keeps every timing.
Options: ``--help``.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = "/tmp/explainer-bench/bert-base-random"
DEFAULT_BIN = REPO / "target" / "release" / "examples" / "lig_bench"
WORDS = (
    "the payment was refunded twice and the customer said the card had been charged again without any "
    "notice from the bank so she called the support line where nobody answered for an hour"
).split()


# ------------------------------------------------------------------------------------------------
# Machine state (same approach as forward_vs_pytorch.py)
# ------------------------------------------------------------------------------------------------


def cpu_busy(interval: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over ``interval`` seconds (Linux /proc/stat), or None."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]

    try:
        total1, idle1 = sample()
        time.sleep(interval)
        total2, idle2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle2 - idle1) / max(total2 - total1, 1)


def wait_quiet(limit_s: float, threshold: float = 0.10) -> float | None:
    deadline = time.monotonic() + limit_s
    while True:
        busy = cpu_busy()
        if busy is None or busy <= threshold or time.monotonic() >= deadline:
            return busy
        time.sleep(2.0)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# ------------------------------------------------------------------------------------------------
# Text, estimate, statistics
# ------------------------------------------------------------------------------------------------


def make_text(tokenizer, tokens: int) -> str:
    """A text of exactly ``tokens`` tokens ([CLS] and [SEP] included) from WORDS, topped up with '.'."""
    words: list[str] = []
    i = 0
    while len(tokenizer.encode(" ".join(words + [WORDS[i % len(WORDS)]])).ids) <= tokens:
        words.append(WORDS[i % len(WORDS)])
        i += 1
    text = " ".join(words)
    while len(tokenizer.encode(text).ids) < tokens:
        text += " ."
    if len(tokenizer.encode(text).ids) != tokens:
        raise SystemExit(f"could not build a text of exactly {tokens} tokens")
    return text


def estimated_chunk_rows(config, tokens: int, budget_mb: int = 6 * 1024) -> int:
    """explainer's ``rows_per_chunk`` (engine.rs ``bytes_per_row``) for a float32 BERT."""
    layers = config.num_hidden_layers + 1
    hidden = config.hidden_size
    heads = max(hidden // 64, 1)
    per_row = 4 * tokens * layers * (18 * hidden + 3 * heads * tokens)
    return max(budget_mb * (1 << 20) // per_row, 1)


def stats(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "min_s": min(times), "mean_s": statistics.fmean(times),
            "n": len(times)}


# ------------------------------------------------------------------------------------------------
# The two implementations
# ------------------------------------------------------------------------------------------------


class CaptumSide:
    def __init__(self, model_dir: str, torch):
        from captum.attr import LayerIntegratedGradients  # noqa: PLC0415
        from transformers import BertForSequenceClassification  # noqa: PLC0415

        self.torch = torch
        self.model = BertForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager",
                                                                   dtype=torch.float32)
        self.model.eval()
        self.config = self.model.config
        assert self.config.problem_type == "multi_label_classification", self.config.problem_type
        self.num_labels = self.config.num_labels
        model = self.model

        def forward(input_ids, attention_mask, token_type_ids):
            logits = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
            return torch.sigmoid(logits)

        self.lig = LayerIntegratedGradients(forward, model.bert.embeddings.word_embeddings)

    def prepare(self, ids: list[int], kept: set[int], pad: int) -> None:
        torch = self.torch
        self.ids = torch.tensor([ids], dtype=torch.int64)
        self.baseline = torch.tensor([[i if i in kept else pad for i in ids]], dtype=torch.int64)
        self.mask = torch.ones_like(self.ids)
        self.types = torch.zeros_like(self.ids)

    def explain(self, targets: list[int], steps: int, internal_batch_size: int | None) -> dict:
        """Captum's way: one full attribute() call per label."""
        out = {}
        for target in targets:
            attributions, delta = self.lig.attribute(
                inputs=self.ids,
                baselines=self.baseline,
                target=target,
                additional_forward_args=(self.mask, self.types),
                n_steps=steps,
                method="gausslegendre",
                internal_batch_size=internal_batch_size,
                return_convergence_delta=True,
            )
            out[target] = (attributions.sum(dim=-1)[0].double().tolist(), float(delta))
        return out


def run_explainer(binary: Path, model_dir: str, text_file: Path, labels: str, steps: int, threads: int,
                  iters: int, warmup: int, extra: list[str] | None = None) -> dict:
    cmd = [str(binary), "--model", model_dir, "--text-file", str(text_file), "--labels", labels,
           "--steps", str(steps), "--threads", str(threads), "--iters", str(iters), "--warmup", str(warmup),
           *(extra or [])]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def relative_diff(a: list[float], b: list[float]) -> tuple[float, float]:
    scale = max(abs(x) for x in b)
    diff = max(abs(x - y) for x, y in zip(a, b, strict=True))
    return diff / max(scale, 1e-30), scale


# ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder (make_random_checkpoint.py)")
    parser.add_argument("--tokens", default="66", help="comma-separated text lengths in tokens, e.g. 66,512")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default="one,all", help="one (label 0), all (every label), or both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=1, help="timed calls per implementation, case and round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (explainer: per subprocess)")
    parser.add_argument("--explainer-args", default="",
                        help="extra lig_bench arguments, e.g. '--tolerance 1e-3' (the adaptive mode)")
    parser.add_argument("--long", type=int, default=128, help="texts above this many tokens use --internal-batch-size")
    parser.add_argument("--internal-batch-size", type=int, default=None,
                        help="Captum's internal_batch_size for long texts (default: explainer's chunk)")
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/explainer-bench"))
    parser.add_argument("--bin", type=Path, default=None, help="a built lig_bench (skips cargo build)")
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    args = parser.parse_args()
    lengths = [int(v) for v in args.tokens.split(",")]
    cases = [c.strip() for c in args.cases.split(",")]
    if not set(cases) <= {"one", "all"}:
        parser.error("--cases takes one, all")

    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--example", "lig_bench", "-p",
                        "explainer-integrated-gradients"], cwd=REPO, check=True)
        binary = DEFAULT_BIN

    import captum  # noqa: PLC0415
    import torch  # noqa: PLC0415
    import transformers  # noqa: PLC0415
    from tokenizers import Tokenizer  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    tokenizer = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    kept = {tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")}
    pad = tokenizer.token_to_id("[PAD]")
    captum_side = CaptumSide(args.model, torch)
    config = captum_side.config
    model_name = Path(args.model).name
    all_labels = list(range(captum_side.num_labels))

    machine = {
        "cpu": cpu_model(), "nproc": os.cpu_count(), "loadavg_before": os.getloadavg(),
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "captum": captum.__version__, "threads": args.threads, "model": args.model,
        "layers": config.num_hidden_layers, "hidden": config.hidden_size,
    }
    print(f"# {machine['cpu']}, nproc {machine['nproc']}, load {machine['loadavg_before'][0]:.2f}; torch "
          f"{machine['torch']}, transformers {machine['transformers']}, captum {machine['captum']}; "
          f"{model_name}: {config.num_hidden_layers} layers, hidden {config.hidden_size}; threads {args.threads}",
          file=sys.stderr, flush=True)

    args.workdir.mkdir(parents=True, exist_ok=True)
    summary_rows = []
    checks = []
    raw = []
    for tokens in lengths:
        text = make_text(tokenizer, tokens)
        text_file = args.workdir / f"text-{model_name}-{tokens}.txt"
        text_file.write_text(text, encoding="utf-8")
        ids = tokenizer.encode(text).ids
        captum_side.prepare(ids, kept, pad)
        if tokens > args.long:
            ibs = args.internal_batch_size or estimated_chunk_rows(config, tokens)
        else:
            ibs = None
        ours_chunk = min(estimated_chunk_rows(config, tokens), args.steps)
        print(f"# {tokens} tokens: Captum internal_batch_size {ibs}, explainer chunk {ours_chunk} rows "
              f"(text: {text_file})", file=sys.stderr, flush=True)
        for _ in range(args.warmup):
            captum_side.explain([0], args.steps, ibs)

        times = {(impl, case): [] for impl in ("captum", "explainer") for case in cases}
        last = {}
        for r in range(args.rounds):
            for case in cases:
                targets = [0] if case == "one" else all_labels
                busy = wait_quiet(args.quiet_wait)
                for _ in range(args.iters):
                    start = time.perf_counter()
                    result = captum_side.explain(targets, args.steps, ibs)
                    elapsed = time.perf_counter() - start
                    times[("captum", case)].append(elapsed)
                    raw.append({"impl": "captum", "tokens": tokens, "case": case, "round": r, "s": elapsed,
                                "busy_before": busy})
                last[("captum", case)] = result
                print(f"#   round {r} {case:>3}: captum {elapsed:8.2f} s (busy before {busy or 0:.0%})",
                      file=sys.stderr, flush=True)
                busy = wait_quiet(args.quiet_wait)
                ours = run_explainer(binary, args.model, text_file, "first" if case == "one" else "all",
                                     args.steps, args.threads, args.iters, args.warmup,
                                     args.explainer_args.split())
                if ours["ids"] != ids:
                    raise SystemExit(f"{tokens} tokens: the example tokenised the text differently")
                if ours["labels"] != targets:
                    raise SystemExit(f"{tokens} tokens: the example explained labels {ours['labels']}, not {targets}")
                times[("explainer", case)].extend(ours["times_s"])
                for t in ours["times_s"]:
                    raw.append({"impl": "explainer", "tokens": tokens, "case": case, "round": r, "s": t,
                                "busy_before": busy, "vm_hwm_mb": ours["vm_hwm_mb"]})
                last[("explainer", case)] = ours
                print(f"#   round {r} {case:>3}: explainer {statistics.median(ours['times_s']):8.2f} s "
                      f"(busy before {busy or 0:.0%}, peak RSS {ours['vm_hwm_mb']:.0f} MiB)",
                      file=sys.stderr, flush=True)

        for case in cases:
            c, e = stats(times[("captum", case)]), stats(times[("explainer", case)])
            summary_rows.append({"model": model_name, "tokens": tokens, "case": case,
                                 "labels": 1 if case == "one" else len(all_labels), "ibs": ibs,
                                 "chunk": ours_chunk, "captum": c, "explainer": e,
                                 "ratio": c["median_s"] / e["median_s"]})
            captum_result = last[("captum", case)]
            ours = last[("explainer", case)]
            rel, scale = relative_diff(ours["label0_attributions"], captum_result[0][0])
            delta_gap = max(abs(ours["deltas"][i] - captum_result[t][1]) for i, t in enumerate(ours["labels"]))
            checks.append({"model": model_name, "tokens": tokens, "case": case, "rel_diff": rel, "scale": scale,
                           "captum_delta0": captum_result[0][1], "explainer_delta0": ours["deltas"][0],
                           "max_delta_gap": delta_gap,
                           "max_abs_delta_captum": max(abs(v[1]) for v in captum_result.values()),
                           "max_abs_delta_explainer": max(abs(d) for d in ours["deltas"])})
        print(f"# after {tokens} tokens: Python peak RSS {peak_rss_mb():.0f} MiB", file=sys.stderr, flush=True)

    load_after = os.getloadavg()
    print(f"\n{model_name} ({config.num_hidden_layers} layers, hidden {config.hidden_size}), {args.steps} "
          f"Gauss-Legendre steps, {args.threads} threads, {args.rounds} rounds x {args.iters} timed call(s)")
    header = ("| model | tokens | labels | Captum internal_batch_size | explainer chunk | Captum median (s) "
              "| explainer median (s) | **ratio Captum / explainer** | Captum min (s) | explainer min (s) "
              "| Captum mean (s) | explainer mean (s) |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for s in summary_rows:
        c, e = s["captum"], s["explainer"]
        print(f"| {s['model']} | {s['tokens']} | {s['labels']} | {s['ibs']} | {s['chunk']} | {c['median_s']:.2f} "
              f"| {e['median_s']:.2f} | **{s['ratio']:.2f}** | {c['min_s']:.2f} | {e['min_s']:.2f} "
              f"| {c['mean_s']:.2f} | {e['mean_s']:.2f} |")
    print("\n| model | tokens | case | label-0 max abs diff / max abs attribution | max abs attribution "
          "| delta label 0: Captum | delta label 0: explainer | max abs delta over labels: Captum "
          "| max abs delta: explainer |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in checks:
        print(f"| {k['model']} | {k['tokens']} | {k['case']} | {k['rel_diff']:.2e} | {k['scale']:.3e} "
              f"| {k['captum_delta0']:.2e} | {k['explainer_delta0']:.2e} | {k['max_abs_delta_captum']:.2e} "
              f"| {k['max_abs_delta_explainer']:.2e} |")
    busy = [r["busy_before"] for r in raw if r.get("busy_before") is not None]
    noisy = sum(b > 0.10 for b in busy)
    print(f"\nload average {machine['loadavg_before'][0]:.2f} before, {load_after[0]:.2f} after; {noisy} of "
          f"{len(busy)} measurements started with the CPUs > 10% busy; Python peak RSS {peak_rss_mb():.0f} MiB.")
    if args.json:
        machine["loadavg_after"] = load_after
        args.json.write_text(json.dumps({"machine": machine, "summary": summary_rows, "checks": checks,
                                         "runs": raw}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
