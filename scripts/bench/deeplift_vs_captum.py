#!/usr/bin/env python3
"""DeepLift speed and completeness: explainer vs Captum, same checkpoint, text, baseline, threads.

Captum's ``DeepLift`` runs one paired forward (input and baseline rows) and one backward per
``attribute`` call, so explaining every label means one call per label; explainer's ``deeplift``
computes every requested label from one paired forward (one backward per label).  This script
times both on the same random checkpoint (BERT: ``scripts/bench/make_random_checkpoint.py``,
DistilBERT: ``scripts/bench/make_random_distilbert.py``) and the same text, for (a) one label and
(b) all labels (Captum looping over the targets, explainer in one call); it prints the ratio
``Captum median / explainer median`` (>= 1.0: explainer is faster) and both sides' completeness
gaps ``|sum(attributions) - (F(x) - F(x0))| / |F(x) - F(x0)|``, worst over the labels.

From the repository root, with the fixtures venv (torch 2.13.0, transformers 5.23.0, captum 0.9.0)::

    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py --size minilm   # once
    /work/pyenv-fixtures/bin/python scripts/bench/make_random_distilbert.py                 # once
    /work/pyenv-fixtures/bin/python scripts/bench/deeplift_vs_captum.py --model /tmp/explainer-bench/minilm-random
    /work/pyenv-fixtures/bin/python scripts/bench/deeplift_vs_captum.py --model /tmp/explainer-bench/distilbert-base-random

What both sides run:

* checkpoint: ``AutoModelForSequenceClassification.from_pretrained(dir, attn_implementation="eager")``,
  float32, ``eval()`` / ``HfClassifier::load(dir)``; the same ``tokenizer.json``;
* text: built from a fixed word list to exactly ``--tokens`` tokens ([CLS], [SEP] included;
  ``make_text`` of ``lig_vs_captum.py``), written to ``--workdir/text-<model>-<tokens>.txt``; both
  tokenise that file (the script stops if the example's ids differ from the Python tokenizer's);
* baseline: [PAD] everywhere but [CLS] / [SEP] (explainer's ``pad``; the script checks that the
  example's reference ids are the same);
* Captum: ``captum.attr.DeepLift`` on a wrapper ``nn.Module`` whose ``forward(inputs_embeds,
  attention_mask)`` returns ``nn.Sigmoid()(model(inputs_embeds=..., attention_mask=...).logits)``
  (the sigmoid as a module, so that Captum's rescale rule applies to it);
  ``attribute(inputs=word_embeddings, baselines=pad_word_embeddings, target=label,
  additional_forward_args=(mask,), return_convergence_delta=True)``, where the embeddings are
  ``model.get_input_embeddings()(ids)`` (detached); per-token scores are the sums over the hidden
  dimension; explainer: ``DeepLift`` (layer ``embeddings.word``, ``multiply_by_inputs``) with the
  probability output;
* threads: ``torch.set_num_threads(--threads)`` / ``tch::set_num_threads`` (default 2).

F(x0), the output at the baseline: explainer runs the input's ids with the reference's word
embeddings put in place of the lookup (positions, token types and mask from the input); Captum's
delta and this script's check run the wrapper on ``inputs_embeds = pad_word_embeddings`` with the
input's mask, to which BERT and DistilBERT add the same positions (and BERT token type 0) as for
the input -- the same F(x0).  The gaps: Captum's from the returned attributions and a separate
forward of the wrapper for F(x) and F(x0) (the script also reports Captum's own delta); explainer's
from its ``delta`` (f64 sum of the attributions minus F(x) - F(x0)).  The script also checks that
both sides' F(x) and F(x0) agree.

Timing: ``--rounds`` rounds; in each round, for each case (one label, all labels), Captum then
explainer, each preceded by a wait (up to ``--quiet-wait`` s) until the CPUs are <= 10 % busy.
Captum times ``--iters`` calls in-process (after ``--warmup`` untimed calls, once); explainer runs
``crates/methods/deeplift/examples/deeplift_bench.rs`` (release) as a subprocess with ``--warmup``
and ``--iters`` (model loading is not timed).  The table gives the median over all timed calls,
the minimum and the mean.  With ``--profile`` (default on) the script also times, after the rounds,
plain PyTorch forward/backward passes of the same 2-row batch and runs the example with
``--profile 1`` for the same stages on explainer's side.  ``--json FILE`` keeps every timing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lig_vs_captum import cpu_model, make_text, peak_rss_mb, stats, wait_quiet  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = "/tmp/explainer-bench/minilm-random"
DEFAULT_BIN = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "examples" / "deeplift_bench"


class CaptumSide:
    def __init__(self, model_dir: str, torch):
        from captum.attr import DeepLift  # noqa: PLC0415
        from transformers import AutoModelForSequenceClassification  # noqa: PLC0415

        self.torch = torch
        self.model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, attn_implementation="eager", dtype=torch.float32)
        self.model.eval()
        self.config = self.model.config
        assert self.config.problem_type == "multi_label_classification", self.config.problem_type
        self.num_labels = self.config.num_labels
        inner = self.model

        class Wrapper(torch.nn.Module):
            """forward(inputs_embeds, attention_mask) -> sigmoid probabilities."""

            def __init__(self):
                super().__init__()
                self.model = inner
                self.sigmoid = torch.nn.Sigmoid()

            def forward(self, inputs_embeds, attention_mask):
                return self.sigmoid(self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits)

        self.wrapper = Wrapper().eval()
        self.dl = DeepLift(self.wrapper)

    def prepare(self, ids: list[int], kept: set[int], pad: int) -> list[int]:
        torch = self.torch
        self.ids = torch.tensor([ids], dtype=torch.int64)
        reference = [i if i in kept else pad for i in ids]
        embed = self.model.get_input_embeddings()
        with torch.no_grad():
            self.emb = embed(self.ids).detach()
            self.base = embed(torch.tensor([reference], dtype=torch.int64)).detach()
        self.mask = torch.ones_like(self.ids)
        return reference

    def explain(self, targets: list[int]) -> dict:
        """Captum's way: one attribute() call per label."""
        out = {}
        for target in targets:
            attributions, delta = self.dl.attribute(
                inputs=self.emb,
                baselines=self.base,
                target=target,
                additional_forward_args=(self.mask,),
                return_convergence_delta=True,
            )
            out[target] = (attributions.sum(dim=-1)[0].double().tolist(), float(delta))
        return out

    def outputs(self) -> tuple[list[float], list[float]]:
        """F(x) and F(x0) from plain forwards of the wrapper (no hooks)."""
        with self.torch.no_grad():
            fx = self.wrapper(self.emb, self.mask)[0].double().tolist()
            fx0 = self.wrapper(self.base, self.mask)[0].double().tolist()
        return fx, fx0

    def profile(self, labels: list[int], warmup: int, iters: int) -> dict:
        """Plain PyTorch passes of the same 2-row batch (input, baseline embeddings), no Captum."""
        torch = self.torch
        both = torch.cat([self.emb, self.base])
        mask2 = torch.cat([self.mask, self.mask])

        def timed(f) -> float:
            for _ in range(warmup):
                f()
            times = []
            for _ in range(iters):
                start = time.perf_counter()
                f()
                times.append(time.perf_counter() - start)
            return {"median": statistics.median(times), "min": min(times)}

        def nograd():
            with torch.no_grad():
                self.wrapper(both, mask2)

        def fwd_bwd(targets):
            x = both.clone().requires_grad_(True)
            out = self.wrapper(x, mask2)
            for k, t in enumerate(targets):
                torch.autograd.grad(out[0, t], x, retain_graph=k + 1 < len(targets))

        def per_label():
            for t in labels:
                fwd_bwd([t])

        def captum_one_call():
            self.explain(labels[:1])

        def captum_one_call_no_delta():
            self.dl.attribute(inputs=self.emb, baselines=self.base, target=labels[0],
                              additional_forward_args=(self.mask,), return_convergence_delta=False)

        return {"torch_forward_nograd_s": timed(nograd), "torch_forward_backward_s": timed(lambda: fwd_bwd(labels)),
                "torch_per_label_forward_backward_s": timed(per_label),
                "captum_one_attribute_call_s": timed(captum_one_call),
                "captum_one_attribute_call_without_delta_s": timed(captum_one_call_no_delta)}


def run_explainer(binary: Path, model_dir: str, text_file: Path, labels: str, threads: int, iters: int,
                  warmup: int, profile: bool = False) -> dict:
    cmd = [str(binary), "--model", model_dir, "--text-file", str(text_file), "--labels", labels,
           "--threads", str(threads), "--iters", str(iters), "--warmup", str(warmup), "--profile",
           "1" if profile else "0"]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder")
    parser.add_argument("--tokens", type=int, default=66)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default="one,all", help="one (label 0), all (every label), or both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=3, help="timed calls per implementation, case and round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (explainer: per subprocess)")
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--profile", type=int, default=1, help="1: also time the stages on both sides")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/explainer-bench"))
    parser.add_argument("--bin", type=Path, default=None, help="a built deeplift_bench (skips cargo build)")
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",")]
    if not set(cases) <= {"one", "all"}:
        parser.error("--cases takes one, all")

    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--example", "deeplift_bench", "-p", "explainer-deeplift"],
                       cwd=REPO, check=True)
        binary = DEFAULT_BIN

    import captum  # noqa: PLC0415
    import torch  # noqa: PLC0415
    import transformers  # noqa: PLC0415
    from tokenizers import Tokenizer  # noqa: PLC0415

    warnings.filterwarnings("ignore", module="captum")
    torch.set_num_threads(args.threads)
    tokenizer = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    kept = {tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")}
    pad = tokenizer.token_to_id("[PAD]")
    captum_side = CaptumSide(args.model, torch)
    config = captum_side.config
    model_name = Path(args.model).name
    all_labels = list(range(captum_side.num_labels))
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", None)

    machine = {
        "cpu": cpu_model(), "nproc": os.cpu_count(), "loadavg_before": os.getloadavg(),
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "captum": captum.__version__, "threads": args.threads, "model": args.model,
        "model_type": config.model_type, "layers": layers, "hidden": hidden,
    }
    print(f"# {machine['cpu']}, nproc {machine['nproc']}, load {machine['loadavg_before'][0]:.2f}; torch "
          f"{machine['torch']}, transformers {machine['transformers']}, captum {machine['captum']}; "
          f"{model_name} ({config.model_type}): {layers} layers, hidden {hidden}; threads {args.threads}",
          file=sys.stderr, flush=True)

    args.workdir.mkdir(parents=True, exist_ok=True)
    text = make_text(tokenizer, args.tokens)
    text_file = args.workdir / f"text-{model_name}-{args.tokens}.txt"
    text_file.write_text(text, encoding="utf-8")
    ids = tokenizer.encode(text).ids
    reference = captum_side.prepare(ids, kept, pad)
    for _ in range(args.warmup):
        captum_side.explain(all_labels)

    times = {(impl, case): [] for impl in ("captum", "explainer") for case in cases}
    raw = []
    last = {}
    for r in range(args.rounds):
        for case in cases:
            targets = [0] if case == "one" else all_labels
            busy = wait_quiet(args.quiet_wait)
            for _ in range(args.iters):
                start = time.perf_counter()
                result = captum_side.explain(targets)
                elapsed = time.perf_counter() - start
                times[("captum", case)].append(elapsed)
                raw.append({"impl": "captum", "case": case, "round": r, "s": elapsed, "busy_before": busy})
            last[("captum", case)] = result
            print(f"#   round {r} {case:>3}: captum    {elapsed:7.3f} s (busy before {busy or 0:.0%})",
                  file=sys.stderr, flush=True)
            busy = wait_quiet(args.quiet_wait)
            ours = run_explainer(binary, args.model, text_file, "first" if case == "one" else "all",
                                 args.threads, args.iters, args.warmup)
            if ours["ids"] != ids:
                raise SystemExit("the example tokenised the text differently")
            if ours["reference_ids"] != reference:
                raise SystemExit("the example's pad baseline differs from this script's")
            if ours["labels"] != targets:
                raise SystemExit(f"the example explained labels {ours['labels']}, not {targets}")
            times[("explainer", case)].extend(ours["times_s"])
            for t in ours["times_s"]:
                raw.append({"impl": "explainer", "case": case, "round": r, "s": t, "busy_before": busy,
                            "vm_hwm_mb": ours["vm_hwm_mb"]})
            last[("explainer", case)] = ours
            print(f"#   round {r} {case:>3}: explainer {statistics.median(ours['times_s']):7.3f} s "
                  f"(busy before {busy or 0:.0%}, peak RSS {ours['vm_hwm_mb']:.0f} MiB)", file=sys.stderr, flush=True)

    # Completeness gaps and cross-checks.
    fx, fx0 = captum_side.outputs()
    summary_rows, checks = [], []
    for case in cases:
        c, e = stats(times[("captum", case)]), stats(times[("explainer", case)])
        labels_n = 1 if case == "one" else len(all_labels)
        summary_rows.append({"model": model_name, "tokens": args.tokens, "case": case, "labels": labels_n,
                             "captum": c, "explainer": e, "ratio": c["median_s"] / e["median_s"],
                             "ratio_min": c["min_s"] / e["min_s"]})
        captum_result = last[("captum", case)]
        ours = last[("explainer", case)]
        captum_gaps, captum_own, ours_gaps, change = [], [], [], []
        for i, t in enumerate(ours["labels"]):
            true_change = fx[t] - fx0[t]
            change.append(abs(true_change))
            attributions, delta = captum_result[t]
            captum_gaps.append(abs(sum(attributions) - true_change) / abs(true_change))
            captum_own.append(abs(delta) / abs(true_change))
            ours_change = ours["f_input"][i] - ours["f_baseline"][i]
            ours_gaps.append(abs(ours["deltas"][i]) / abs(ours_change))
        f_gap = max(max(abs(ours["f_input"][i] - fx[t]), abs(ours["f_baseline"][i] - fx0[t]))
                    for i, t in enumerate(ours["labels"]))
        a, b = ours["label0_attributions"], captum_result[0][0]
        rel0 = max(abs(x - y) for x, y in zip(a, b, strict=True)) / max(max(abs(y) for y in b), 1e-30)
        checks.append({"model": model_name, "case": case, "captum_gap": max(captum_gaps),
                       "captum_gap_from_own_delta": max(captum_own), "explainer_gap": max(ours_gaps),
                       "explainer_max_abs_delta": max(abs(d) for d in ours["deltas"]),
                       "captum_max_abs_delta": max(abs(v[1]) for v in captum_result.values()),
                       "min_abs_change": min(change), "max_abs_change": max(change), "max_f_diff": f_gap,
                       "label0_rel_diff": rel0, "captum_gaps": captum_gaps, "explainer_gaps": ours_gaps})

    profile = None
    if args.profile:
        wait_quiet(args.quiet_wait)
        profile = {"torch": captum_side.profile(all_labels, args.warmup, max(args.iters, 5))}
        wait_quiet(args.quiet_wait)
        ours = run_explainer(binary, args.model, text_file, "all", args.threads, max(args.iters, 5), args.warmup,
                             profile=True)
        profile["explainer"] = ours["profile"]

    load_after = os.getloadavg()
    print(f"\n{model_name} ({config.model_type}, {layers} layers, hidden {hidden}), {args.tokens} tokens, "
          f"{args.threads} threads, {args.rounds} rounds x {args.iters} timed call(s)")
    header = ("| model | tokens | labels | Captum median (s) | explainer median (s) | **ratio Captum / explainer** "
              "| Captum min (s) | explainer min (s) | ratio of mins | Captum mean (s) | explainer mean (s) |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for s in summary_rows:
        c, e = s["captum"], s["explainer"]
        print(f"| {s['model']} | {s['tokens']} | {s['labels']} | {c['median_s']:.3f} | {e['median_s']:.3f} "
              f"| **{s['ratio']:.2f}** | {c['min_s']:.3f} | {e['min_s']:.3f} | {s['ratio_min']:.2f} | {c['mean_s']:.3f} | {e['mean_s']:.3f} |")
    print("\n| model | case | completeness gap Captum (worst label) | Captum's own delta / change | gap explainer "
          "(worst label) | max abs delta Captum | max abs delta explainer | abs(F(x) - F(x0)) min..max "
          "| max abs diff of F(x), F(x0) between sides | label-0 max abs diff / max abs Captum attribution |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in checks:
        print(f"| {k['model']} | {k['case']} | {k['captum_gap']:.3g} | {k['captum_gap_from_own_delta']:.3g} "
              f"| {k['explainer_gap']:.2e} | {k['captum_max_abs_delta']:.2e} | {k['explainer_max_abs_delta']:.2e} "
              f"| {k['min_abs_change']:.2e}..{k['max_abs_change']:.2e} "
              f"| {k['max_f_diff']:.1e} | {k['label0_rel_diff']:.2f} |")
    if profile:
        print("\nstages, all labels, 2 rows (input, baseline); seconds, median / min:")
        print("| side | stage | median (s) | min (s) |")
        print("| --- | --- | --- | --- |")
        for side, stages in profile.items():
            for name, v in stages.items():
                print(f"| {side} | {name} | {v['median']:.4f} | {v['min']:.4f} |")
    busy = [r["busy_before"] for r in raw if r.get("busy_before") is not None]
    noisy = sum(b > 0.10 for b in busy)
    print(f"\nload average {machine['loadavg_before'][0]:.2f} before, {load_after[0]:.2f} after; {noisy} of "
          f"{len(busy)} measurements started with the CPUs > 10% busy; Python peak RSS {peak_rss_mb():.0f} MiB.")
    if args.json:
        machine["loadavg_after"] = load_after
        args.json.write_text(json.dumps({"machine": machine, "summary": summary_rows, "checks": checks,
                                         "profile": profile, "runs": raw}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
