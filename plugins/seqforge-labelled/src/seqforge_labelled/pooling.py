"""Pooling encoder outputs over time into one vector per sequence, always masked.

A many-to-one head needs a fixed-size summary of ``(B, T, H)`` encoder outputs.
Every pooling here reads only real positions (``mask`` True), so padding a
batch never changes any sequence's result — even if the padded outputs are
not zero.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqforge.api import ConfigError
from seqforge_labelled.structured import StructuredSelfAttention

POOLINGS = ("last", "mean", "max", "attention", "structured")


def last_pool(outputs: Tensor, mask: Tensor, *, bidirectional: bool = False) -> Tensor:
    """The output at each sequence's last real step: ``(B, T, H) -> (B, H)``.

    For a bidirectional (concat) encoder the backward half has read the whole
    sequence at its *first* step, so that half is taken there instead:
    ``[forward(T_b - 1); backward(0)]``.
    """
    lengths = mask.sum(dim=1).clamp(min=1)  # (B,)
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])  # (B, 1, H)
    last = outputs.gather(1, index).squeeze(1)  # (B, H)
    if not bidirectional:
        return last
    half = outputs.shape[-1] // 2
    return torch.cat([last[:, :half], outputs[:, 0, half:]], dim=-1)  # (B, H)


def mean_pool(outputs: Tensor, mask: Tensor) -> Tensor:
    """Average over real steps: ``(B, T, H) -> (B, H)``."""
    weights = mask.unsqueeze(-1).to(outputs.dtype)  # (B, T, 1)
    return (outputs * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)  # (B, H)


def max_pool(outputs: Tensor, mask: Tensor) -> Tensor:
    """Element-wise maximum over real steps: ``(B, T, H) -> (B, H)``."""
    return outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)  # (B, H)


class AttentionPooling(nn.Module):
    """A learned weighted average (Yang et al. 2016): ``a = softmax_t(v^T tanh(W h_t + b))``, ``p = sum_t a_t h_t``.

    Weights are exactly zero at padded steps.
    """

    def __init__(self, size: int, hidden: int = 0) -> None:
        super().__init__()
        self.project = nn.Linear(size, hidden or size)
        self.score = nn.Linear(hidden or size, 1, bias=False)
        self.last_weights: Tensor | None = None  # (B, T), for inspection

    def forward(self, outputs: Tensor, mask: Tensor) -> Tensor:
        scores = self.score(torch.tanh(self.project(outputs))).squeeze(-1)  # (B, T)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)  # (B, T)
        self.last_weights = weights.detach()
        return torch.einsum("bt,bth->bh", weights, outputs)  # (B, H)


class Pooling(nn.Module):
    """``kind`` in ``last|mean|max|attention|structured`` as a module: ``(outputs (B, T, H), mask (B, T)) -> (B,
    output_size)``.

    ``output_size`` is ``H``, except ``structured`` (Lin et al. 2017, :mod:`structured`): ``hops · H``,
    and its penalty ``‖AAᵀ − I‖_F²`` per example is left in ``penalty`` after each call.

    Args:
        kind: the pooling.
        size: ``H`` (learned attention pooling needs it).
        bidirectional: the encoder is bidirectional with concatenated directions (``last`` then takes
            the backward half at step 0).
        hops, hidden: ``r`` and ``d_a`` of ``structured``.
    """

    def __init__(self, kind: str, size: int, *, bidirectional: bool = False, hops: int = 4, hidden: int = 64) -> None:
        super().__init__()
        if kind not in POOLINGS:
            raise ConfigError(f"task.pooling must be one of {', '.join(POOLINGS)}, got '{kind}'.")
        self.kind, self.bidirectional = kind, bidirectional
        self.attention = AttentionPooling(size) if kind == "attention" else None
        self.structured = StructuredSelfAttention(size, hops=hops, hidden=hidden) if kind == "structured" else None
        self.output_size = self.structured.output_size if self.structured is not None else size

    @property
    def penalty(self) -> Tensor | None:
        """``(B,)`` ``‖AAᵀ − I‖_F²`` of the last call (``structured`` only), else None."""
        return self.structured.last_penalty if self.structured is not None else None

    def forward(self, outputs: Tensor, mask: Tensor) -> Tensor:
        if self.kind == "last":
            return last_pool(outputs, mask, bidirectional=self.bidirectional)
        if self.kind == "mean":
            return mean_pool(outputs, mask)
        if self.kind == "max":
            return max_pool(outputs, mask)
        if self.kind == "structured":
            return self.structured(outputs, mask)
        return self.attention(outputs, mask)
