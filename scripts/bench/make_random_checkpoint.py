#!/usr/bin/env python3
"""Writes a RANDOM-initialised BERT classifier checkpoint for benchmarks (not a trained model).

The benchmark of Layer Integrated Gradients against Captum (``scripts/bench/lig_vs_captum.py``)
needs a BERT-base-sized classifier; its speed does not depend on the weights, so a seeded random
``BertForSequenceClassification`` does, and nothing has to be downloaded.  Sizes:

* ``--size base`` (default): BERT-base -- hidden 768, 12 layers, 12 heads, intermediate 3072;
* ``--size minilm``: all-MiniLM-L6-v2-sized -- hidden 384, 6 layers, 12 heads, intermediate 1536;

both with max_position_embeddings 512, vocab_size 30522, type_vocab_size 2, 6 labels,
``problem_type = multi_label_classification``, float32, ``torch.manual_seed(--seed)`` (default 0).
The folder gets ``config.json`` and ``model.safetensors`` (``save_pretrained(dir,
safe_serialization=True)``) plus the tokenizer of the committed tiny fixture
``crates/transformers/tests/fixtures/bert-tiny-multilabel`` (``tokenizer.json`` and
``tokenizer_config.json``, WordPiece, 400 entries <= 30522 embedding rows; only
``model_max_length`` is raised from 64 to 512 so that transformers does not warn about long texts
-- the Rust loader takes its limit from ``max_position_embeddings``).

Run from the repository root with the fixtures venv (torch 2.13.0, transformers 5.23.0)::

    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py                 # BERT-base
    /work/pyenv-fixtures/bin/python scripts/bench/make_random_checkpoint.py --size minilm   # 6 layers

The output folder is the first positional argument (default ``/tmp/explainer-bench/bert-base-random``,
or ``/tmp/explainer-bench/minilm-random`` for ``--size minilm``); keep it OUTSIDE the repository
(BERT-base is ~440 MB).  The same seed gives the same weights on the same torch version.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKENIZER_DIR = REPO / "crates" / "transformers" / "tests" / "fixtures" / "bert-tiny-multilabel"
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
SIZES = {
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    "minilm": {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536},
}
DEFAULT_OUT = {"base": "/tmp/explainer-bench/bert-base-random", "minilm": "/tmp/explainer-bench/minilm-random"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", nargs="?", default=None, help="output folder (created; existing files are replaced)")
    parser.add_argument("--size", choices=sorted(SIZES), default="base")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out or DEFAULT_OUT[args.size]).resolve()
    if out == REPO or REPO in out.parents:
        parser.error(f"{out} is inside the repository; write the checkpoint elsewhere (e.g. /tmp)")

    import torch  # noqa: PLC0415
    from transformers import BertConfig, BertForSequenceClassification  # noqa: PLC0415

    config = BertConfig(
        vocab_size=30522,
        max_position_embeddings=512,
        type_vocab_size=2,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        pad_token_id=0,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
        problem_type="multi_label_classification",
        architectures=["BertForSequenceClassification"],
        **SIZES[args.size],
    )
    torch.manual_seed(args.seed)
    model = BertForSequenceClassification(config).to(torch.float32).eval()

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    shutil.copyfile(TOKENIZER_DIR / "tokenizer.json", out / "tokenizer.json")
    tok_config = json.loads((TOKENIZER_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
    tok_config["model_max_length"] = config.max_position_embeddings
    (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n", encoding="utf-8")

    params = sum(p.numel() for p in model.parameters())
    files = sorted(p.name for p in out.iterdir())
    print(f"wrote {out}: {args.size} ({config.num_hidden_layers} layers, hidden {config.hidden_size}), "
          f"{params / 1e6:.1f} M parameters, seed {args.seed}; files {files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
