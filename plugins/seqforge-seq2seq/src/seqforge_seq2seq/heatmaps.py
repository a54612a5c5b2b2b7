"""Attention heatmap PNGs (matplotlib) of a few validation examples, each validation run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from seqforge.api import DecodeConfig


class AttentionHeatmaps(L.Callback):
    """Writes ``<folder>/step<global step>_<k>.png``: target tokens (rows) x source tokens (columns)."""

    def __init__(self, folder: Path, count: int = 3) -> None:
        self.folder = Path(folder)
        self.count = count

    @torch.no_grad()
    def on_validation_epoch_end(self, trainer: L.Trainer, module: Any) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        task, data = module.task, module.data
        sources = [source for source, _ in data.pairs["valid"][: self.count]]
        was_training = module.model.training
        outputs, _ = task.translate(
            module.model, data, sources, DecodeConfig(strategy="greedy", max_len=task.decode.max_len)
        )
        module.model.train(was_training)
        self.folder.mkdir(parents=True, exist_ok=True)
        for k, (source, nbest) in enumerate(zip(sources, outputs)):
            _, hypothesis = nbest[0]
            if hypothesis.attention is None:
                return  # model/attention=none: nothing to draw
            src_tokens = data.source_codec.tokens(data.encode_source([source])[0][0])
            tgt_tokens = data.target_codec.tokens(hypothesis.tokens) + (["<eos>"] if hypothesis.finished else [])
            weights = hypothesis.attention[: len(tgt_tokens), : len(src_tokens)].float().cpu().numpy()  # (T, S)
            figure, axes = plt.subplots(figsize=(max(4, 0.35 * len(src_tokens)), max(3, 0.35 * len(tgt_tokens))))
            axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
            axes.set_xticks(range(len(src_tokens)), [t.replace(" ", "␣") for t in src_tokens], rotation=90, fontsize=8)
            axes.set_yticks(range(len(tgt_tokens)), tgt_tokens[: weights.shape[0]], fontsize=8)
            axes.set_xlabel("source")
            axes.set_ylabel("output")
            axes.set_title(f"step {trainer.global_step}: {source}", fontsize=9)
            figure.tight_layout()
            figure.savefig(self.folder / f"step{trainer.global_step:06d}_{k}.png", dpi=80)
            plt.close(figure)
