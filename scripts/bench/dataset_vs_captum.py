#!/usr/bin/env python3
"""Issue 17's workloads side by side: explainer vs Captum's LayerIntegratedGradients, one run.

Model: the real all-MiniLM-L6-v2 encoder with a seeded 6-label multi-label head
(``scripts/bench/make_minilm_classifier.py`` → ``/tmp/explainer-bench/minilm-6``). Captum runs as
its users run it: ``AutoModelForSequenceClassification.from_pretrained(dir)`` with transformers'
default attention (sdpa), float32, ``eval()``, sigmoid outputs, ``LayerIntegratedGradients`` on the
word embeddings (or ``bert.encoder.layer[4]``), ``n_steps=50``, ``method="gausslegendre"``, the
[PAD] baseline with [CLS]/[SEP] kept, one ``attribute()`` call per label (the loop users write).
explainer runs ``crates/cli/examples/dataset_bench.rs`` (in-process, warm: what ``explainer
batch`` does, texts sorted by length, 8 per method call) and ``explainer batch`` (whole process).

Workloads:

* ``dataset``: 40 texts of 6–60 words built by ``make_texts`` (seeded, from a fixed word list),
  every predicted label of each (sigmoid ≥ 0.5, else the top label: explainer's ``predicted``).
  Captum 50 steps vs explainer at 50 steps (one text per pass, the default), at 50 steps with
  packed batches (``pack_token_rows`` 16384), and with ``--tolerance 1e-3``;
* ``one``: one label (label 0) of the 66-token text of ``lig_vs_captum.py``: Captum 50 steps vs
  explainer ``--tolerance 1e-3``; both compared with explainer's 256-step result;
* ``layer4``: the 66-token text, its predicted labels, LIG at ``encoder.4`` (Captum:
  ``model.bert.encoder.layer[4]``), 50 steps each.

In-process times are warm (one untimed call first) and the median of ``--rounds``; whole-process
times (``/usr/bin/time``: wall seconds and peak RSS) run ``explainer batch`` and this script's own
``--captum-only`` mode (Python start, imports, model load, the loop) on the data set. Every
explainer attribution is compared with Captum's (max |diff| relative to the label's largest
|attribution|). Prints a Markdown table; ``--json FILE`` keeps everything.

    /work/pyref/bin/python scripts/bench/make_minilm_classifier.py       # once
    cargo build --release -p explainer-cli --bin explainer --example dataset_bench
    /work/pyref/bin/python scripts/bench/dataset_vs_captum.py
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
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "bench"))
from lig_vs_captum import cpu_model, make_text  # noqa: E402

VOCAB = (
    "the payment was refunded twice and customer said card had been charged again without any notice "
    "from bank so she called support line where nobody answered for an hour please send wire transfer "
    "account password now urgent invoice attached shares buy before announcement tomorrow insider "
    "deal confidential meeting client data leak email address phone number complaint service poor "
    "manager gift dinner contract approval offshore fund cash quickly"
).split()


def make_texts(n: int = 40, seed: int = 17) -> list[str]:
    """``n`` texts of 6–60 words, seeded (the same on every machine and Python ≥ 3.8)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words = rng.randint(6, 60)
        texts.append(" ".join(rng.choice(VOCAB) for _ in range(words)))
    return texts


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Captum:
    def __init__(self, model_dir: str, layer: str, threads: int):
        import torch  # noqa: PLC0415
        from captum.attr import LayerIntegratedGradients  # noqa: PLC0415
        from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: PLC0415

        torch.set_num_threads(threads)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.attn = self.model.config._attn_implementation
        model = self.model

        def forward(input_ids, attention_mask):
            return torch.sigmoid(model(input_ids=input_ids, attention_mask=attention_mask).logits)

        self.forward = forward
        module = model.bert.embeddings.word_embeddings if layer == "embeddings.word" else (
            model.bert.encoder.layer[int(layer.split(".")[1])])
        self.lig = LayerIntegratedGradients(forward, module)

    def predicted(self, ids) -> list[int]:
        with self.torch.no_grad():
            scores = self.forward(ids, self.torch.ones_like(ids))[0]
        labels = [i for i, s in enumerate(scores.tolist()) if s >= 0.5]
        return labels or [int(scores.argmax())]

    def explain(self, text: str, labels: str, steps: int = 50) -> dict:
        torch = self.torch
        enc = self.tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
        ids = enc["input_ids"]
        pad = self.tokenizer.pad_token_id
        kept = enc["special_tokens_mask"][0].tolist()  # [CLS], [SEP]: explainer's pad keeps them
        base = torch.tensor([[i if k else pad for i, k in zip(ids[0].tolist(), kept, strict=True)]])
        targets = [0] if labels == "first" else self.predicted(ids)
        out = {}
        for target in targets:
            attributions, delta = self.lig.attribute(
                inputs=ids, baselines=base, target=target, additional_forward_args=(torch.ones_like(ids),),
                n_steps=steps, method="gausslegendre", return_convergence_delta=True)
            out[target] = attributions.sum(dim=-1)[0].double().tolist()
        return {"ids": ids[0].tolist(), "targets": out}


def write_jsonl(path: Path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))


def timed(f, rounds: int) -> tuple[list[float], object]:
    f()  # warm
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - start)
    return times, result


def run_bench(binary: Path, model: str, texts: Path, method: dict, labels: str, threads: int, rounds: int,
              batch_size: int, out: Path) -> dict:
    cmd = [str(binary), "--model", model, "--texts", str(texts), "--method", json.dumps(method),
           "--labels", labels, "--threads", str(threads), "--iters", str(rounds), "--warmup", "1",
           "--batch-size", str(batch_size), "--attributions", str(out)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["attributions"] = json.loads(out.read_text())
    return result


def compare(ours: list[dict], captum: list[dict]) -> tuple[float, int]:
    """Worst max|diff| / max|A| over every label, and the number of labels compared."""
    worst, n = 0.0, 0
    for mine, theirs in zip(ours, captum, strict=True):
        assert mine["ids"] == theirs["ids"], "the two tokenisations differ"
        got = {t["label"]: t["tokens"] for t in mine["targets"]}
        assert set(got) == set(theirs["targets"]), (sorted(got), sorted(theirs["targets"]))
        for label, ref in theirs["targets"].items():
            scale = max(abs(x) for x in ref) or 1e-30
            worst = max(worst, max(abs(a - b) for a, b in zip(got[label], ref, strict=True)) / scale)
            n += 1
    return worst, n


def whole_process(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` through /usr/bin/time."""
    done = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], check=True, capture_output=True, text=True)
    line = [x for x in done.stderr.splitlines() if x.startswith("TIME ")][-1].split()
    return float(line[1]), float(line[2]) / 1024.0


def captum_only(args) -> int:
    """The whole-process Captum run: load, loop over the data set, print the seconds of the loop."""
    captum = Captum(args.model, "embeddings.word", args.threads)
    texts = [json.loads(line)["text"] for line in Path(args.captum_only).read_text().splitlines()]
    start = time.perf_counter()
    for text in texts:
        captum.explain(text, "predicted")
    print(json.dumps({"loop_s": time.perf_counter() - start}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="/tmp/explainer-bench/minilm-6")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of the one-text workloads")
    parser.add_argument("--dataset-rounds", type=int, default=1, help="timed rounds of the data set")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/explainer-bench"))
    parser.add_argument("--bin", type=Path, default=REPO / "target" / "release" / "examples" / "dataset_bench")
    parser.add_argument("--explainer", type=Path, default=REPO / "target" / "release" / "explainer")
    parser.add_argument("--workloads", default="dataset,one,layer4")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--captum-only", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.captum_only:
        return captum_only(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    workloads = set(args.workloads.split(","))
    captum = Captum(args.model, "embeddings.word", args.threads)
    rows, record = [], {"cpu": cpu_model(), "threads": args.threads, "attn": captum.attn, "model": args.model}
    print(f"machine: {record['cpu']}, {args.threads} threads; Captum attention: {captum.attn}", file=sys.stderr)

    def row(workload, what, captum_s, ours_s, points, labels, worst, rss=None):
        rows.append({"workload": workload, "explainer": what, "captum_s": captum_s, "explainer_s": ours_s,
                     "ratio": ours_s / captum_s, "points": points, "labels": labels, "vs_captum": worst, **(rss or {})})
        print(f"  {workload} / {what}: {ours_s:.2f} s vs Captum {captum_s:.2f} s = {ours_s / captum_s:.2f}x, "
              f"{points} points, max diff {worst:.1e}", file=sys.stderr)

    if "dataset" in workloads:
        texts = make_texts()
        data = args.workdir / "dataset-40.jsonl"
        write_jsonl(data, texts)
        times, captum_out = timed(lambda: [captum.explain(t, "predicted") for t in texts], args.dataset_rounds)
        captum_s = statistics.median(times)
        labels = sum(len(c["targets"]) for c in captum_out)
        print(f"dataset: Captum {captum_s:.1f} s for {labels} labels", file=sys.stderr)
        for what, method, batch in [
            ("50 steps", {"method": "layer-integrated-gradients"}, 8),
            ("50 steps, packed (pack_token_rows 16384)",
             {"method": "layer-integrated-gradients", "pack_token_rows": 16384}, 8),
            ("--tolerance 1e-3", {"method": "layer-integrated-gradients", "tolerance": 1e-3}, 8),
        ]:
            ours = run_bench(args.bin, args.model, data, method, "predicted", args.threads, args.dataset_rounds,
                             batch, args.workdir / "dataset-attributions.json")
            worst, _ = compare(ours["attributions"], captum_out)
            row("dataset", what, captum_s, statistics.median(ours["seconds"]), ours["points"], ours["labels"], worst,
                {"explainer_rss_mb": ours["peak_rss_mb"]})
        # Whole process: load + the data set, peak RSS.
        captum_wall, captum_rss = whole_process(
            [sys.executable, __file__, "--model", args.model, "--threads", str(args.threads), "--captum-only",
             str(data)])
        for what, extra in [("batch, 50 steps", []), ("batch, --tolerance 1e-3", ["--tolerance", "1e-3"])]:
            out = args.workdir / "dataset-batch.jsonl"
            wall, rss = whole_process([str(args.explainer), "batch", "--model", args.model, "--input", str(data),
                                       "--method", "layer-integrated-gradients", "--baseline", "pad",
                                       "--overwrite", "-o", str(out), *extra])
            rows.append({"workload": "dataset (whole process)", "explainer": what, "captum_s": captum_wall,
                         "explainer_s": wall, "ratio": wall / captum_wall, "captum_rss_mb": captum_rss,
                         "explainer_rss_mb": rss})
            print(f"  whole process {what}: {wall:.1f} s ({rss:.0f} MB) vs Captum {captum_wall:.1f} s "
                  f"({captum_rss:.0f} MB) = {wall / captum_wall:.2f}x", file=sys.stderr)

    text = make_text(captum.tokenizer._tokenizer if hasattr(captum.tokenizer, "_tokenizer") else captum.tokenizer, 66)
    one = args.workdir / "text-66.jsonl"
    write_jsonl(one, [text])
    if "one" in workloads:
        times, captum_out = timed(lambda: [captum.explain(text, "first")], args.rounds)
        captum_s = statistics.median(times)
        reference = run_bench(args.bin, args.model, one, {"method": "layer-integrated-gradients", "n_steps": 256},
                              "first", args.threads, 1, 1, args.workdir / "one-256.json")["attributions"]
        ref = [{"ids": r["ids"], "targets": {t["label"]: t["tokens"] for t in r["targets"]}} for r in reference]
        captum_vs_256, _ = compare(reference, captum_out)
        for what, method in [("50 steps", {"method": "layer-integrated-gradients"}),
                             ("--tolerance 1e-3", {"method": "layer-integrated-gradients", "tolerance": 1e-3})]:
            ours = run_bench(args.bin, args.model, one, method, "first", args.threads, args.rounds, 1,
                             args.workdir / "one-attributions.json")
            worst, _ = compare(ours["attributions"], captum_out)
            vs_256, _ = compare(ours["attributions"], ref)
            row("one label, 66 tokens", what, captum_s, statistics.median(ours["seconds"]), ours["points"], 1, worst,
                {"vs_256_steps": vs_256, "captum_vs_256_steps": captum_vs_256})

    if "layer4" in workloads:
        deep = Captum(args.model, "encoder.4", args.threads)
        times, captum_out = timed(lambda: [deep.explain(text, "predicted")], args.rounds)
        ours = run_bench(args.bin, args.model, one, {"method": "layer-integrated-gradients", "layer": "encoder.4"},
                         "predicted", args.threads, args.rounds, 1, args.workdir / "layer4-attributions.json")
        worst, labels = compare(ours["attributions"], captum_out)
        row("encoder.4, 66 tokens", "50 steps", statistics.median(times), statistics.median(ours["seconds"]),
            ours["points"], labels, worst)

    print("| workload | explainer | Captum (s) | explainer (s) | ratio | points | labels | max diff vs Captum |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        extra = ""
        if "explainer_rss_mb" in r:
            extra = f" (RSS {r['explainer_rss_mb']:.0f} MB" + (
                f" vs {r['captum_rss_mb']:.0f} MB)" if "captum_rss_mb" in r else ")")
        if "vs_256_steps" in r:
            extra += f"; vs 256 steps {r['vs_256_steps']:.1e} (Captum-50: {r['captum_vs_256_steps']:.1e})"
        diff = f"{r['vs_captum']:.1e}" if "vs_captum" in r else "—"
        print(f"| {r['workload']} | {r['explainer']}{extra} | {r['captum_s']:.2f} | {r['explainer_s']:.2f} | "
              f"{r['ratio']:.2f}× | {r.get('points', '—')} | {r.get('labels', '—')} | {diff} |")
    print(f"\nCaptum in-process peak RSS {peak_rss_mb():.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({**record, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
