"""Minimal reference components the checks plug into the component under test.

An encoder is checked with :class:`ElmanCell` as its cell, a decoder with
:class:`GeneralAttention` as its attention: both are small, exact and obey
their contracts (tested), so a failure points at the component under test.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn


class ElmanCell(nn.Module):
    """``h_t = tanh(W x_t + U h_{t-1} + b)``."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.input = nn.Linear(input_size, hidden_size)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.input(x_t) + self.recurrent(h))  # (B, H)
        return h, h


class GeneralAttention(nn.Module):
    """Luong's *general* score ``h_t^T W h̄_s`` with a masked softmax."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.query_size, self.memory_size = query_size, memory_size
        self.w = nn.Linear(memory_size, query_size, bias=False)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        keys = self.w(memory) if keys is None else keys  # (B, S, Hq)
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights  # (B, Hm), (B, S)
