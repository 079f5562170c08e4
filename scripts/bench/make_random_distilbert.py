#!/usr/bin/env python3
"""Writes a RANDOM-initialised DistilBERT-base-sized classifier checkpoint for benchmarks.

``scripts/bench/make_random_checkpoint.py`` writes BERT checkpoints only; the DeepLift benchmark
against Captum (``scripts/bench/deeplift_vs_captum.py``) also needs a DistilBERT-base-sized one.
Speed does not depend on the weights, so a seeded random ``DistilBertForSequenceClassification``
does and nothing has to be downloaded.  Size: distilbert-base-uncased's -- ``dim`` 768,
``n_layers`` 6, ``n_heads`` 12, ``hidden_dim`` 3072, ``max_position_embeddings`` 512,
``vocab_size`` 30522, learned positions (``sinusoidal_pos_embds`` false), gelu; 6 labels,
``problem_type = multi_label_classification``, float32, ``torch.manual_seed(--seed)`` (default 0).

The folder gets ``config.json`` and ``model.safetensors`` (``save_pretrained(dir,
safe_serialization=True)``) plus the tokenizer of the committed tiny fixture
``crates/transformers/tests/fixtures/bert-tiny-multilabel`` (WordPiece, 400 entries <= 30522
embedding rows, the same vocabulary as the DistilBERT fixtures), with ``model_max_length`` raised
to 512, as ``make_random_checkpoint.py`` does for BERT.

Run from the repository root with the fixtures venv (torch 2.13.0, transformers 5.23.0)::

    /work/pyenv-fixtures/bin/python scripts/bench/make_random_distilbert.py

The output folder is the first positional argument (default
``/tmp/explainer-bench/distilbert-base-random``); keep it OUTSIDE the repository (~270 MB).
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
DEFAULT_OUT = "/tmp/explainer-bench/distilbert-base-random"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", nargs="?", default=DEFAULT_OUT, help="output folder (created; files replaced)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    if out == REPO or REPO in out.parents:
        parser.error(f"{out} is inside the repository; write the checkpoint elsewhere (e.g. /tmp)")

    import torch  # noqa: PLC0415
    from transformers import DistilBertConfig, DistilBertForSequenceClassification  # noqa: PLC0415

    config = DistilBertConfig(
        vocab_size=30522,
        max_position_embeddings=512,
        sinusoidal_pos_embds=False,
        n_layers=6,
        n_heads=12,
        dim=768,
        hidden_dim=3072,
        dropout=0.1,
        attention_dropout=0.1,
        activation="gelu",
        initializer_range=0.02,
        qa_dropout=0.1,
        seq_classif_dropout=0.2,
        pad_token_id=0,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
        problem_type="multi_label_classification",
        architectures=["DistilBertForSequenceClassification"],
    )
    torch.manual_seed(args.seed)
    model = DistilBertForSequenceClassification(config).to(torch.float32).eval()

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    shutil.copyfile(TOKENIZER_DIR / "tokenizer.json", out / "tokenizer.json")
    tok_config = json.loads((TOKENIZER_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
    tok_config["model_max_length"] = config.max_position_embeddings
    (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n", encoding="utf-8")

    params = sum(p.numel() for p in model.parameters())
    files = sorted(p.name for p in out.iterdir())
    print(f"wrote {out}: distilbert ({config.n_layers} layers, dim {config.dim}, {config.n_heads} heads, "
          f"hidden_dim {config.hidden_dim}), {params / 1e6:.1f} M parameters, seed {args.seed}; files {files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
