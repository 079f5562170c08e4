"""Unit tests of explainer_spark's partition logic, without Spark (stdlib only).

Run: PYTHONPATH=python EXPLAINER_BIN=target/debug/explainer python3 -m unittest discover -s python/tests
They use the saved tiny test model (crates/testing/assets/tiny, random weights) and skip when
EXPLAINER_BIN is not set.
"""

import json
import os
import unittest

from explainer_spark import partition
from explainer_spark.partition import Config, ExplainerFailed, explain_rows, run_chunk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "crates", "testing", "assets", "tiny")
BINARY = os.environ.get("EXPLAINER_BIN")


def stamp_free(record):
    r = json.loads(record)
    r["run"].pop("created")
    return r


@unittest.skipUnless(BINARY, "set EXPLAINER_BIN to the explainer binary")
class PartitionTest(unittest.TestCase):
    def config(self, **kw):
        return Config(binary=BINARY, model=TINY, args=["--labels", "all", "--steps", "8", "--batch-size", "1"], **kw)

    def test_one_row_per_input_row_in_order(self):
        ids = ["a", "b", "a", "c", "d", 5, None]
        texts = ["the cat sat", 'quote "id":"0" inside', "the cat sat again", "  ", None, "dog", "x"]
        rows = run_chunk(self.config(), ids, texts)
        self.assertEqual([r["id"] for r in rows], ["a", "b", "a", "c", "d", "5", None])
        for r in rows[:3] + rows[5:6]:
            self.assertIsNone(r["error"])
            rec = json.loads(r["record"])
            self.assertEqual(rec["id"], r["id"])
            self.assertEqual(rec["explanation"]["id"], r["id"])
            top = max(rec["explanation"]["targets"], key=lambda t: t["score"])
            self.assertEqual((r["label"], r["score"], r["delta"]), (top["label"], top["score"], top["delta"]))
            self.assertEqual([w["attribution"] for w in r["words"]], top["word_attributions"])
            self.assertEqual([w["word"] for w in r["words"]], [w["text"] for w in rec["explanation"]["words"]])
        self.assertEqual(json.loads(rows[1]["record"])["explanation"]["text"], texts[1])
        self.assertIn("empty", rows[3]["error"])
        self.assertIsNone(rows[3]["record"])
        self.assertEqual(rows[4]["error"], "the text is null")
        self.assertEqual(rows[6]["error"], "the id is null")

    def test_chunking_changes_no_number(self):
        texts = [" ".join(["the cat sat on the mat"] * k) for k in range(1, 8)]
        ids = [f"t{k}" for k in range(len(texts))]
        whole = list(explain_rows(self.config(chunk=100), zip(ids, texts)))
        pieces = list(explain_rows(self.config(chunk=3), zip(ids, texts)))
        self.assertEqual(len(whole), len(texts))
        self.assertEqual([stamp_free(r["record"]) for r in whole], [stamp_free(r["record"]) for r in pieces])

    def test_strict_raises_on_a_bad_row(self):
        with self.assertRaisesRegex(ExplainerFailed, "strict"):
            run_chunk(self.config(strict=True), ["a", "b"], ["fine", " "])
        with self.assertRaisesRegex(ExplainerFailed, "strict"):
            run_chunk(self.config(strict=True), ["a"], [None])

    def test_a_problem_of_every_record_raises(self):
        cfg = Config(binary=BINARY, model=TINY, args=["--labels", "no-such-label"])
        with self.assertRaisesRegex(ExplainerFailed, "exited with code 1"):
            run_chunk(cfg, ["a"], ["text"])


class ConfigTest(unittest.TestCase):
    def test_refuses_the_flags_it_owns(self):
        for flag in ("--output", "-o", "--resume", "--shard=0/2", "--strict", "--input"):
            with self.assertRaisesRegex(ValueError, "do not pass"):
                Config(binary="x", args=[flag, "y"]).check()
        with self.assertRaises(ValueError):
            Config(binary="x", chunk=0).check()

    def test_restore_id_touches_only_the_ids(self):
        line = '{"schema":"s","id":"0","explanation":{"id":"0","text":"a \\"id\\":\\"0\\" b","tokens":[{"id":0}]}}'
        out = json.loads(partition._restore_id(line, "0", "user/7"))
        self.assertEqual(out["id"], "user/7")
        self.assertEqual(out["explanation"]["id"], "user/7")
        self.assertEqual(out["explanation"]["text"], 'a "id":"0" b')
        self.assertEqual(out["explanation"]["tokens"], [{"id": 0}])


if __name__ == "__main__":
    unittest.main()
