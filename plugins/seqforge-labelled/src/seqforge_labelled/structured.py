"""Structured self-attentive sentence embedding (Lin et al. 2017), ``task.pooling=structured``.

With encoder outputs ``H`` ``(T, h)`` of one sequence::

    A = softmax(W_s2 tanh(W_s1 Hᵀ))     (r, T): r attention "hops", each a distribution over the real steps
    M = A H                             (r, h), flattened to the sentence embedding (r·h)
    P = ‖A Aᵀ − I‖_F²                   the penalty that pushes hops to attend to different steps

``W_s1`` is ``(d_a, h)``, ``W_s2`` is ``(r, d_a)``, both without bias (as in the paper). The
classifier adds ``task.pooling_penalty · mean_batch(P)`` to its loss (paper: coefficient 1.0,
r = 30, d_a = 350).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def frobenius_penalty(weights: Tensor) -> Tensor:
    """``‖A Aᵀ − I‖_F²`` per example: ``weights`` ``(B, r, T)`` -> ``(B,)``."""
    gram = weights @ weights.transpose(1, 2)  # (B, r, r)
    identity = torch.eye(weights.shape[1], dtype=weights.dtype, device=weights.device)  # (r, r)
    return ((gram - identity) ** 2).sum(dim=(1, 2))  # (B,)


class StructuredSelfAttention(nn.Module):
    """``(outputs (B, T, h), mask (B, T)) -> (B, r·h)``; weights exactly 0 at padded steps.

    After each call ``last_weights`` holds ``A`` ``(B, r, T)`` and ``last_penalty`` ``P`` ``(B,)``.
    """

    def __init__(self, size: int, *, hops: int, hidden: int) -> None:
        super().__init__()
        self.w_s1 = nn.Linear(size, hidden, bias=False)
        self.w_s2 = nn.Linear(hidden, hops, bias=False)
        self.output_size = hops * size
        self.last_weights: Tensor | None = None
        self.last_penalty: Tensor | None = None

    def forward(self, outputs: Tensor, mask: Tensor) -> Tensor:
        scores = self.w_s2(torch.tanh(self.w_s1(outputs))).transpose(1, 2)  # (B, r, T)
        weights = scores.masked_fill(~mask.unsqueeze(1), float("-inf")).softmax(dim=-1)  # (B, r, T)
        self.last_weights = weights.detach()
        self.last_penalty = frobenius_penalty(weights)  # (B,), kept in the graph: it is a loss term
        return (weights @ outputs).flatten(1)  # (B, r·h)
