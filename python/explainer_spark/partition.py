"""The per-partition work, without Spark: rows in, one result row per input row out.

Spark calls :func:`explain_rows` (through :func:`explainer_spark.partition_function`) once per
partition; it imports nothing from pyspark, so it can be tested and reused without Spark.

Each chunk of rows is written as JSON Lines to one ``explainer batch`` process (stdin →
stdout). Rows are keyed by their position in the chunk (``"0"``, ``"1"``, …), so repeated or
non-string ids cannot be confused; the caller's id is put back into each record. A row that
``explainer batch`` reports as failed (``explainer: line N (id "K"): PROBLEM; skipped`` on
stderr) gets that problem in its ``error`` field; a problem that hits every record (exit code
1: an unknown label, a bad option, a damaged model) or a killed process raises, which fails
the Spark task (and, after its retries, the job).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

#: ``explainer batch`` exit codes (crates/cli/src/main.rs): all explained / some records failed.
EXIT_OK = 0
EXIT_PARTIAL = 3

#: The result columns, in order (see :data:`explainer_spark.RESULT_SCHEMA` for their types).
COLUMNS = ("id", "label", "score", "delta", "words", "record", "error")

_FAILED = re.compile(r'^explainer: line (\d+)(?: \(id "((?:[^"\\]|\\.)*)"\))?: (.*); skipped$')


class ExplainerFailed(RuntimeError):
    """``explainer batch`` stopped for every record (a configuration problem) or was killed."""


@dataclass
class Config:
    """How to run ``explainer batch`` on a partition.

    ``binary`` and ``model`` are paths on the machine that runs the partition (an executor):
    either paths every executor sees, or resolved from ``SparkFiles`` by the Spark wrapper.
    ``args`` are further ``explainer batch`` flags (``["--labels", "all"]``, ``["--method",
    "deeplift"]``, ``["--spec", "audit.yaml"]`` …); ``--input``, ``--output``, ``--resume`` and
    ``--shard`` are the wrapper's business and refused there. ``chunk`` is the number of rows
    given to one process; ``threads`` sets ``OMP_NUM_THREADS`` (libtorch's intra-op threads)
    for it; ``env`` adds environment variables (``LD_LIBRARY_PATH`` for a libtorch shipped
    beside the binary). ``strict`` makes the first bad row raise instead of filling ``error``.
    """

    binary: str
    model: Optional[str] = None
    args: Sequence[str] = ()
    chunk: int = 1000
    threads: Optional[int] = None
    env: Dict[str, str] = field(default_factory=dict)
    strict: bool = False

    def check(self) -> None:
        """Refuses settings the wrapper owns or cannot honour, naming them."""
        owned = {"--input", "-i", "--output", "-o", "--resume", "--overwrite", "--shard", "--strict"}
        for a in self.args:
            flag = a.split("=", 1)[0]
            if flag in owned:
                raise ValueError(
                    f"explainer_spark: do not pass {flag} in args: the Spark wrapper feeds each partition "
                    f"through stdin/stdout and handles failures itself (use strict=True for --strict)"
                )
        if self.model is not None and "--spec" in self.args:
            raise ValueError("explainer_spark: give either model or --spec in args, not both (a spec names its model)")
        if self.chunk < 1:
            raise ValueError(f"explainer_spark: chunk must be at least 1, got {self.chunk}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"explainer_spark: threads must be at least 1, got {self.threads}")

    def command(self) -> List[str]:
        """The ``explainer batch`` command line for one chunk."""
        cmd = [self.binary, "batch"]
        if self.model is not None:
            cmd += ["--model", self.model]
        cmd += list(self.args)
        return cmd

    def environment(self, tags: Dict[str, str]) -> Dict[str, str]:
        """The process environment: ours, plus threads, ``env`` and the partition's tags."""
        env = dict(os.environ)
        if self.threads is not None:
            env["OMP_NUM_THREADS"] = str(self.threads)
        env.update(self.env)
        env.update(tags)
        return env


def _row(id_: Any, error: Optional[str] = None, record: Optional[str] = None) -> Dict[str, Any]:
    """A result row: columns from the record when there is one, else only the error."""
    out: Dict[str, Any] = {"id": id_, "label": None, "score": None, "delta": None, "words": None,
                           "record": record, "error": error}
    if record is None:
        return out
    parsed = json.loads(record)
    explanation = parsed["explanation"]
    targets = explanation.get("targets") or []
    if targets:
        top = max(targets, key=lambda t: t["score"])
        out["label"] = top["label"]
        out["score"] = float(top["score"])
        out["delta"] = None if top["delta"] is None else float(top["delta"])
        out["words"] = [
            {"word": w["text"], "start": int(w["start"]), "end": int(w["end"]), "attribution": float(a)}
            for w, a in zip(explanation["words"], top["word_attributions"])
        ]
    return out


def _restore_id(line: str, key: str, id_: str) -> str:
    """The record line with the chunk key replaced by the caller's id.

    Only string values of an ``"id"`` key can match ``"id":"KEY"`` (a quote inside a JSON
    string is escaped, token ids are numbers), so the replacement touches exactly the record's
    and the explanation's id and leaves every other byte as ``explainer batch`` wrote it.
    """
    return line.replace(f'"id":"{key}"', '"id":' + json.dumps(id_, ensure_ascii=False))


def run_chunk(config: Config, ids: Sequence[Any], texts: Sequence[Any],
              tags: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
    """Explains one chunk in one ``explainer batch`` process: one result row per input row,
    in input order."""
    rows: List[Optional[Dict[str, Any]]] = [None] * len(ids)
    lines: List[str] = []
    keys: List[int] = []
    for i, (id_, text) in enumerate(zip(ids, texts)):
        problem = None
        if id_ is None:
            problem = "the id is null"
        elif not isinstance(text, str):
            problem = "the text is null" if text is None else f"the text is not a string ({type(text).__name__})"
        if problem is not None:
            if config.strict:
                raise ExplainerFailed(f"explainer_spark: row with id {id_!r}: {problem} (strict)")
            rows[i] = _row(None if id_ is None else str(id_), error=problem)
            continue
        keys.append(i)
        lines.append(json.dumps({"id": str(len(keys) - 1), "text": text}, ensure_ascii=False))
    if lines:
        data = ("\n".join(lines) + "\n").encode("utf-8")
        proc = subprocess.run(config.command(), input=data, capture_output=True,
                              env=config.environment(tags or {}), check=False)
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if proc.returncode not in (EXIT_OK, EXIT_PARTIAL):
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            raise ExplainerFailed(f"explainer batch exited with code {proc.returncode}: {tail}")
        problems: Dict[int, str] = {}
        for err in stderr.splitlines():
            m = _FAILED.match(err)
            if m:
                problems[int(m.group(1)) - 1] = m.group(3)
        for out in proc.stdout.decode("utf-8").splitlines():
            if not out.strip():
                continue
            key = json.loads(out)["id"]
            k = int(key)
            i = keys[k]
            uid = str(ids[i])
            rows[i] = _row(uid, record=_restore_id(out, key, uid))
        for k, i in enumerate(keys):
            if rows[i] is None:
                problem = problems.get(k, "explainer batch wrote no record for it (see the executor's log)")
                if config.strict:
                    raise ExplainerFailed(f"explainer_spark: row with id {str(ids[i])!r}: {problem} (strict)")
                rows[i] = _row(str(ids[i]), error=problem)
    return [r for r in rows if r is not None]


def explain_rows(config: Config, rows: Iterable[Sequence[Any]],
                 tags: Optional[Dict[str, str]] = None) -> Iterator[Dict[str, Any]]:
    """Explains ``(id, text)`` pairs (a partition's rows), ``config.chunk`` rows per
    ``explainer batch`` process, yielding one result row per input row, in input order."""
    ids: List[Any] = []
    texts: List[Any] = []
    for id_, text in rows:
        ids.append(None if _is_missing(id_) else id_)
        texts.append(None if _is_missing(text) else text)
        if len(ids) == config.chunk:
            yield from run_chunk(config, ids, texts, tags)
            ids, texts = [], []
    if ids:
        yield from run_chunk(config, ids, texts, tags)


def _is_missing(value: Any) -> bool:
    """Whether a cell is missing (None, or a float NaN)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False
