#!/usr/bin/env python3
"""Explains the same messages with several model folders and prints a Markdown comparison:
per message and model, the predicted labels with their scores and the three words with the
largest attribution for each (Layer Integrated Gradients, pad baseline, the CLI's defaults).

Used for the "Compared with a pretrained encoder" section of models/compliance-minibert/README.md:

    python3 scripts/compare_models.py models/compliance-minibert ~/.cache/explainer/compliance-minilm

Standard library only; runs the `explainer` binary through cargo (build it first: make run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MESSAGES = [
    "Hi Tom, can you send me the client's passport number and date of birth? Let's move this to WhatsApp.",
    "Keep this quiet: the merger with Redwood is announced Monday, buy before the news.",
    "The gift shop in the lobby closes at five, and the Insider newsletter is on your desk.",
    "Could you remind me what time the quarterly town hall starts?",
    "I'll send the internal audit report to my contact at the competitor, he pays well.",
]


def explain(model: str, text: str) -> dict:
    out = subprocess.run(
        ["cargo", "run", "--quiet", "-p", "explainer-cli", "--", "explain", "--model", model, "--format", "json", text],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)["explanations"][0]


def cell(explanation: dict) -> str:
    words = [w["text"] for w in explanation["words"]]
    parts = []
    for t in explanation["targets"]:
        top = sorted(zip(words, t["word_attributions"]), key=lambda p: -abs(p[1]))[:3]
        shown = ", ".join(f"{w} {a:+.2f}" for w, a in top)
        parts.append(f"**{t['label']}** {t['score']:.3f} ({shown})")
    return "<br>".join(parts)


def main() -> None:
    models = sys.argv[1:]
    if not models:
        sys.exit(__doc__)
    names = [Path(m).name for m in models]
    print("| message | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(models))
    for text in MESSAGES:
        cells = [cell(explain(m, text)) for m in models]
        print(f"| {text.replace('|', '/')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
