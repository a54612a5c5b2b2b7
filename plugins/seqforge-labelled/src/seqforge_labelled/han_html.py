"""``seqforge han-attention``: a doc_classify run's two attention levels on test documents, as HTML.

Each document is shown sentence by sentence: the bar left of a sentence is its sentence weight
``α_i``, each word's background its word weight ``α_it`` within that sentence (scaled to the
sentence's largest weight, as in Yang et al. 2016, Fig. 5-6). Gold and predicted label head each
document.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seqforge.api import UsageError, load_run, parse_key_values


@dataclass
class HanAttentionArgs:
    ckpt: str | None = None  # a doc_classify checkpoint or run directory
    output: str = "han_attention.html"
    count: int = 6  # test documents shown (the first ones of the test split)
    split: str = "test"


def attention_html(documents: Sequence[dict[str, Any]]) -> str:
    """The page for ``documents``: dicts with ``gold``, ``predicted``, ``probability``, ``sentences`` (lists of
    words), ``sentence_weights`` ``[S]`` and ``word_weights`` ``[S][W]``."""
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Hierarchical attention</title>",
        (
            "<style>body{font-family:sans-serif;max-width:60em}.doc{border:1px solid #ccc;margin:1em 0;padding:.5em}"
            ".s{display:flex;align-items:baseline;margin:.2em 0}"
            ".bar{flex:none;width:4em;height:.9em;margin-right:.5em;background:#eee}"
            ".bar i{display:block;height:100%;background:#c33}.w{padding:0 .1em}</style>"
        ),
        "<h1>Hierarchical attention: sentence weights (bars) and word weights (shading)</h1>",
    ]
    for number, doc in enumerate(documents):
        mark = "✓" if doc["gold"] == doc["predicted"] else "✗"
        parts.append(
            f"<div class='doc'><b>{mark} document {number}</b>: gold <b>{html.escape(doc['gold'])}</b>, predicted "
            f"<b>{html.escape(doc['predicted'])}</b> (p={doc['probability']:.2f})"
        )
        for words, sentence_weight, weights in zip(doc["sentences"], doc["sentence_weights"], doc["word_weights"]):
            top = max(weights[: len(words)], default=0.0) or 1.0
            spans = "".join(
                f"<span class='w' title='{w:.3f}' "
                f"style='background:rgba(51,102,204,{w / top:.2f})'>{html.escape(word)}</span> "
                for word, w in zip(words, weights)
            )
            parts.append(
                f"<div class='s'><span class='bar' title='{sentence_weight:.3f}'><i "
                f"style='width:{100 * sentence_weight:.0f}%'></i></span><span>{spans}</span></div>"
            )
        parts.append("</div>")
    return "\n".join(parts) + "\n"


@torch.no_grad()
def attention_records(module: Any, split: str, count: int) -> list[dict[str, Any]]:
    """Run the model on the first ``count`` documents of ``split``; the two levels' weights per document."""
    model, data = module.model, module.data
    model.eval()
    device = next(model.parameters()).device
    examples = data.encoded[split][:count]
    batch = data.collate(examples).to(device)
    probs = model(batch.inputs, batch.lengths).softmax(-1)  # (B, C)
    records = []
    for row, (_, doc, label) in enumerate(examples):
        best = int(probs[row].argmax())
        sentences = [data.codec.tokens([i for i in sentence.tolist() if i != 0]) for sentence in doc]  # 0 = <pad>
        records.append(
            {
                "gold": data.labels[label] if label >= 0 else "(unseen)",
                "predicted": data.labels[best],
                "probability": float(probs[row, best]),
                "sentences": sentences,
                "sentence_weights": model.sentence_weights[row, : len(sentences)].tolist(),
                "word_weights": [model.word_weights[row, i, : len(s)].tolist() for i, s in enumerate(sentences)],
            }
        )
    return records


def main(argv: list[str]) -> None:
    """``seqforge han-attention ckpt=RUN [output=han_attention.html] [count=6] [split=test]``."""
    args, overrides = parse_key_values(argv, HanAttentionArgs, "han-attention")
    if not args.ckpt:
        raise UsageError("`seqforge han-attention` needs ckpt=<checkpoint file or run directory of a task=doc_classify "
                         "run>.")
    if args.split not in ("train", "valid", "test"):
        raise UsageError(f"split must be train, valid or test, got '{args.split}'.")
    module = load_run(args.ckpt, overrides, command="han-attention")
    if not hasattr(module.model, "sentence_weights"):
        raise UsageError(f"the checkpoint {args.ckpt} holds a {type(module.model).__name__}; `seqforge han-attention` "
                         "needs a task=doc_classify run.")
    module.data.prepare()
    Path(args.output).write_text(attention_html(attention_records(module, args.split, args.count)), encoding="utf-8")
    print(f"seqforge: wrote the attention of {min(args.count, len(module.data.encoded[args.split]))} {args.split} "
          f"document(s) to {args.output}")
