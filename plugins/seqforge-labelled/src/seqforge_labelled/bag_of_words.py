"""``model/encoder=bag_of_words``: a sequence as the mean or sum of its token vectors, word order ignored.

With ``model.embedding.kind=onehot`` and ``reduce=sum`` the vector is the bag of word *counts*;
with a learned embedding it is the averaged-embedding baseline (the classifier's linear layer
does the rest). The encoder returns a single "step" per sequence, so any ``task.pooling`` of the
classifier is the identity on it; tasks that need one output per position refuse it
(``many_to_one``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from seqforge.api import ConfigError, EncoderOutput, length_mask

REDUCTIONS = ("mean", "sum")


def bag_of_words(x: Tensor, mask: Tensor, reduce: str) -> Tensor:
    """``x`` ``(B, T, I)``, ``mask`` ``(B, T)`` -> ``(B, I)``: the sum, or mean, over real positions only."""
    weights = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    total = (x * weights).sum(dim=1)  # (B, I)
    return total if reduce == "sum" else total / weights.sum(dim=1).clamp(min=1.0)  # (B, I)


class BagOfWordsEncoder(nn.Module):
    """No parameters: ``outputs`` ``(B, 1, I)`` is the reduced sequence, ``mask`` ``(B, 1)`` all True.

    The core's wiring (cell, hidden size, layers, ...) is accepted and ignored: there is no recurrence.
    """

    many_to_one = True

    def __init__(self, *, input_size: int, reduce: str = "mean", **_wiring: Any) -> None:
        super().__init__()
        if reduce not in REDUCTIONS:
            raise ConfigError(f"model.encoder.reduce must be one of {', '.join(REDUCTIONS)}, got '{reduce}'.")
        self.reduce = reduce
        self.output_size = input_size

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: list[Any] | None = None) -> EncoderOutput:
        B, T = x.shape[:2]
        mask = length_mask(lengths.to(x.device), T) if lengths is not None else x.new_ones(B, T, dtype=bool)  # (B, T)
        pooled = bag_of_words(x, mask, self.reduce).unsqueeze(1)  # (B, 1, I)
        return EncoderOutput(outputs=pooled, mask=mask.new_ones(B, 1), state=None)
