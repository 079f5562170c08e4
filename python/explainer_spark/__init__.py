"""Explain the texts of a Spark DataFrame with ``explainer batch``: each partition's rows are
piped, a chunk at a time, through one ``explainer batch`` process (``RDD.mapPartitions``).
See docs/spark.md.

    from explainer_spark import explain
    result = explain(df, binary="/opt/explainer/bin/explainer", model="/data/models/fraud-bert",
                     args=["--labels", "all"])

The result has one row per input row: ``id``, ``label`` / ``score`` / ``delta`` / ``words`` of
the explained label with the highest score, the whole JSON ``record`` (``explainer.report/1``,
every explained label) and ``error`` (null, or why the row has no record).

Only pyspark is needed (no pandas or pyarrow on the executors); the executors need the
``explainer`` binary, libtorch and the model folder (shipped or on a shared path).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Sequence, Tuple

from .partition import COLUMNS, Config, ExplainerFailed, explain_rows, run_chunk

__all__ = ["explain", "partition_function", "Config", "ExplainerFailed", "RESULT_SCHEMA", "COLUMNS",
           "run_chunk", "explain_rows"]

#: The result DataFrame's schema (DDL).
RESULT_SCHEMA = (
    "id string, label string, score double, delta double, "
    "words array<struct<word: string, start: int, end: int, attribution: double>>, "
    "record string, error string"
)


def partition_function(config: Config, shipped_model: Optional[str] = None,
                       shipped_binary: Optional[str] = None
                       ) -> Callable[[Iterable[Sequence[Any]]], Iterator[Tuple[Any, ...]]]:
    """The function :func:`explain` gives ``mapPartitions``: ``(id, text)`` rows in, result
    tuples (in :data:`COLUMNS` order) out. ``shipped_*`` name files added with
    ``SparkContext.addFile``, resolved with ``SparkFiles.get`` on the executor."""
    config.check()

    def run(rows: Iterable[Sequence[Any]]) -> Iterator[Tuple[Any, ...]]:
        from pyspark import SparkFiles, TaskContext

        local = Config(**{**config.__dict__})
        if shipped_model is not None:
            local.model = SparkFiles.get(shipped_model)
        if shipped_binary is not None:
            local.binary = SparkFiles.get(shipped_binary)
            if not os.access(local.binary, os.X_OK):
                os.chmod(local.binary, 0o755)
        ctx = TaskContext.get()
        tags: Dict[str, str] = {}
        if ctx is not None:
            tags = {"EXPLAINER_SPARK_PARTITION": str(ctx.partitionId()),
                    "EXPLAINER_SPARK_ATTEMPT": str(ctx.attemptNumber())}
        for row in explain_rows(local, ((r[0], r[1]) for r in rows), tags):
            words = row["words"]
            yield (row["id"], row["label"], row["score"], row["delta"],
                   None if words is None else [(w["word"], w["start"], w["end"], w["attribution"]) for w in words],
                   row["record"], row["error"])

    return run


def explain(df: Any, *, binary: str, model: Optional[str] = None, args: Sequence[str] = (),
            id_col: str = "id", text_col: str = "text", strict: bool = False, chunk: int = 1000,
            threads: Optional[int] = None, env: Optional[Dict[str, str]] = None,
            ship_model: bool = False, ship_binary: bool = False) -> Any:
    """Explains ``df[text_col]`` row by row; returns a DataFrame with :data:`RESULT_SCHEMA`
    (ids as strings), one row per input row, partitioned as ``df``.

    ``binary`` / ``model``: paths every executor sees, or (``ship_binary`` / ``ship_model``)
    local paths added to the job with ``SparkContext.addFile`` (a folder recursively) and
    found on the executors through ``SparkFiles``. ``model=None`` uses the binary's default
    (``EXPLAINER_MODEL``, else the bundled model) or the spec in ``args``. ``chunk`` rows go
    to one ``explainer batch`` process; ``threads`` sets its ``OMP_NUM_THREADS``.

    Failures: a row that cannot be explained keeps its id and gets ``error``; with
    ``strict=True`` it fails the task instead, and the job after Spark's task retries. A
    problem that hits every row (a bad option, an unknown label, a damaged model) fails the
    task too. The result is a pure function of each partition's rows, so a task retried
    after a killed executor produces the same rows again and Spark keeps exactly one
    attempt's output: each input row appears exactly once.
    """
    if id_col not in df.columns or text_col not in df.columns:
        raise ValueError(f"explainer_spark: the DataFrame needs columns {id_col!r} and {text_col!r}; "
                         f"it has {', '.join(df.columns)}")
    config = Config(binary=binary, model=model, args=list(args), chunk=chunk, threads=threads,
                    env=dict(env or {}), strict=strict)
    config.check()
    shipped_model = shipped_binary = None
    spark = df.sparkSession
    sc = spark.sparkContext
    if ship_model:
        if model is None:
            raise ValueError("explainer_spark: ship_model=True needs model")
        sc.addFile(model, recursive=os.path.isdir(model))
        shipped_model = os.path.basename(os.path.normpath(model))
    if ship_binary:
        sc.addFile(binary)
        shipped_binary = os.path.basename(binary)
    fn = partition_function(config, shipped_model, shipped_binary)
    rows = df.select(df[id_col].cast("string"), df[text_col]).rdd
    return spark.createDataFrame(rows.mapPartitions(fn), RESULT_SCHEMA)
