"""`make spark`: a local-mode Spark job over a few hundred texts, checked against one
single-process `explainer batch` on the same input (same numbers), plus the failure cases.

    python scripts/spark/check_local.py --binary target/release/explainer [--texts 300]

1. single process: `explainer batch --input texts.jsonl --output single.jsonl`;
2. Spark `local[2]`, 4 partitions, `explainer_spark.explain`: every good row's record equals
   the single run's record (explanation and run stamp, all numbers exactly; `created` aside),
   every bad row (empty text, null text) has an error and no record; throughput printed;
3. faults, `local[2,4]` (4 attempts per task): partition 0's first attempt has its
   `explainer batch` process SIGKILLed mid-run, partition 1's first attempt kills its Python
   worker after it has produced part of its output; the job's result still has every id
   exactly once, with the same records;
4. strict: one bad row fails the job.
Exits 1 on the first check that fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
# The Python workers import the module too (on a cluster: --py-files, docs/spark.md).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "python"), os.environ.get("PYTHONPATH")) if p)

import explainer_spark  # noqa: E402
from explainer_spark import partition  # noqa: E402

# Bad rows added to the input: (id, text, why they fail).
BAD = [("bad-empty", "   ", "the text is empty"), ("bad-null", None, "the text is null")]

# A wrapper around the binary that SIGKILLs it on the first attempt of partition 0, as soon as
# it has written its first record (so the attempt dies with part of its output produced).
KILLER = """#!/bin/sh
if [ "$EXPLAINER_SPARK_PARTITION" = 0 ] && [ "$EXPLAINER_SPARK_ATTEMPT" = 0 ]; then
  out="{marks}/p0-out.$$"
  exec 3<&0  # a background job of sh reads /dev/null unless told otherwise
  "{binary}" "$@" <&3 > "$out" &
  pid=$!
  while kill -0 $pid 2>/dev/null && [ ! -s "$out" ]; do sleep 0.05; done
  kill -9 $pid 2>/dev/null && touch "{marks}/killed-p0-a0"
  cat "$out"
  wait $pid
  exit $?
fi
exec "{binary}" "$@"
"""


def fail(message: str) -> None:
    print(f"make spark: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def comparable(record: dict) -> dict:
    """A record without the run's start time (each run has its own)."""
    out = json.loads(json.dumps(record))
    out["run"].pop("created", None)
    return out


def spark_session(master: str, name: str):
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName(name)
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
            .getOrCreate())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "compliance-minibert"))
    ap.add_argument("--input", default=os.path.join(ROOT, "data", "compliance", "test.jsonl"))
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=40, help="rows per explainer process")
    ap.add_argument("--keep", help="keep the work files in this folder")
    ap.add_argument("--args", default="--method deeplift --batch-size 1",
                    help="explainer batch flags for both runs; --batch-size 1 makes every text's numbers "
                         "independent of which texts share its batch, so the two runs agree bit for bit")
    opts = ap.parse_args()
    binary = os.path.abspath(opts.binary)
    extra = opts.args.split()
    work = opts.keep or tempfile.mkdtemp(prefix="explainer-spark-")
    os.makedirs(work, exist_ok=True)

    rows = []
    with open(opts.input, encoding="utf-8") as f:
        for line in f:
            if len(rows) == opts.texts:
                break
            r = json.loads(line)
            rows.append((r["id"], r["text"]))
    rows.insert(len(rows) // 3, BAD[0][:2])
    rows.insert(2 * len(rows) // 3, BAD[1][:2])
    good_ids = [i for i, t in rows if isinstance(t, str) and t.strip()]
    texts_path = os.path.join(work, "texts.jsonl")
    with open(texts_path, "w", encoding="utf-8") as f:
        for i, t in rows:
            if t is not None:  # batch's own input has no null texts (a JSONL null is malformed)
                f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")

    # 1. single process
    single_path = os.path.join(work, "single.jsonl")
    t0 = time.time()
    proc = subprocess.run([binary, "batch", "--model", opts.model, "--input", texts_path, "--output",
                           single_path, "--overwrite"] + extra, capture_output=True, text=True,
                          # The same libtorch thread count as the Spark runs (threads=1): the
                          # order of a parallel sum's terms changes its rounding.
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    single_s = time.time() - t0
    if proc.returncode not in (0, 3):
        fail(f"explainer batch exited with {proc.returncode}: {proc.stderr[-2000:]}")
    with open(single_path, encoding="utf-8") as f:
        single = {r["id"]: r for r in map(json.loads, f)}
    if sorted(single) != sorted(good_ids):
        fail(f"the single run explained {len(single)} ids, expected {len(good_ids)}")
    print(f"make spark: single process: {len(single)} texts in {single_s:.1f} s "
          f"({len(single) / single_s:.2f} texts/s)")

    def check_result(result_rows, what):
        ids = [r["id"] for r in result_rows]
        if len(ids) != len(rows) or sorted(ids) != sorted(str(i) for i, _ in rows):
            dup = len(ids) - len(set(ids))
            fail(f"{what}: {len(ids)} result rows ({dup} repeated ids) for {len(rows)} input rows")
        for r in result_rows:
            if r["id"] in single:
                if r["error"] is not None or r["record"] is None:
                    fail(f"{what}: id {r['id']} has error {r['error']!r}")
                got, want = comparable(json.loads(r["record"])), comparable(single[r["id"]])
                if got != want:
                    for key in want["explanation"]:
                        if got["explanation"].get(key) != want["explanation"][key]:
                            fail(f"{what}: id {r['id']}: explanation.{key} differs from the single run")
                    fail(f"{what}: id {r['id']}: the record differs from the single run")
                top = max(want["explanation"]["targets"], key=lambda t: t["score"])
                if (r["label"], r["score"], r["delta"]) != (top["label"], top["score"], top["delta"]):
                    fail(f"{what}: id {r['id']}: label/score/delta columns differ from the record")
                if [w["attribution"] for w in r["words"]] != top["word_attributions"]:
                    fail(f"{what}: id {r['id']}: word attributions differ from the record")
            else:
                why = dict((i, w) for i, _, w in BAD)[r["id"]]
                if r["record"] is not None or r["error"] is None or why not in r["error"]:
                    fail(f"{what}: bad row {r['id']} should have error {why!r}, has {r['error']!r}")

    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField("id", StringType()), StructField("text", StringType())])

    # 2. local[2]
    spark = spark_session("local[2]", "explainer-spark-check")
    df = spark.createDataFrame(rows, schema).repartition(opts.partitions)
    df.cache().count()
    t0 = time.time()
    result = explainer_spark.explain(df, binary=binary, model=opts.model, args=extra, chunk=opts.chunk,
                                     threads=1)
    got = [r.asDict(recursive=True) for r in result.collect()]
    spark_s = time.time() - t0
    check_result(got, "local[2]")
    print(f"make spark: local[2], {opts.partitions} partitions, 1 thread per process: {len(good_ids)} texts "
          f"in {spark_s:.1f} s ({len(good_ids) / spark_s:.2f} texts/s); every record equals the single run's, "
          f"{len(BAD)} bad rows carry their error")

    # 4. strict (before the fault session: local[2] makes one attempt per task)
    try:
        explainer_spark.explain(df, binary=binary, model=opts.model, args=extra, chunk=opts.chunk,
                                strict=True).collect()
        fail("strict=True did not fail the job on a bad row")
    except Exception as e:  # noqa: BLE001 - Spark wraps the worker's error
        if "strict" not in str(e):
            fail(f"strict=True failed the job, but not for the bad row: {str(e)[-500:]}")
    print("make spark: strict=True fails the job on the first bad row")
    spark.stop()

    # 3. faults, local[2,4]
    marks = os.path.join(work, "marks")
    shutil.rmtree(marks, ignore_errors=True)
    os.makedirs(marks)
    killer = os.path.join(work, "killer.sh")
    with open(killer, "w") as f:
        f.write(KILLER.format(marks=marks, binary=binary))
    os.chmod(killer, 0o755)
    spark = spark_session("local[2,4]", "explainer-spark-faults")
    df = spark.createDataFrame(rows, schema).repartition(opts.partitions)
    fn = explainer_spark.partition_function(partition.Config(binary=killer, model=opts.model, args=extra,
                                                             chunk=opts.chunk, threads=1))

    def dies_once(rows):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        for n, out in enumerate(fn(rows)):
            if ctx.partitionId() == 1 and ctx.attemptNumber() == 0 and n == opts.chunk + 1:
                open(os.path.join(marks, "worker-died-p1-a0"), "w").close()
                os._exit(1)  # the Python worker dies after yielding a chunk and a row: partial output
            yield out

    faulty = spark.createDataFrame(df.rdd.mapPartitions(dies_once), explainer_spark.RESULT_SCHEMA)
    got = [r.asDict(recursive=True) for r in faulty.collect()]
    spark.stop()
    for mark in ("killed-p0-a0", "worker-died-p1-a0"):
        if not os.path.exists(os.path.join(marks, mark)):
            fail(f"the fault {mark} did not happen (too few rows per partition?)")
    check_result(got, "local[2,4] with killed first attempts")
    print("make spark: local[2,4]: a SIGKILLed explainer process (partition 0) and a dead Python worker after "
          "partial output (partition 1) were retried; every id exactly once, same records")
    if not opts.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("make spark: OK")


if __name__ == "__main__":
    main()
