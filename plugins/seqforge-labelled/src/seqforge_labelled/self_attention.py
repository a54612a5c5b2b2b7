"""``model/encoder=self_attentive``: a recurrent encoder, then layers of multi-head self-attention over its outputs.

Each layer (Vaswani et al. 2017's attention sublayer, over the recurrent states)::

    Q = H W_q,  K = H W_k,  V = H W_v                 split into `heads` heads of size d = H / heads
    A = softmax(Q Kᵀ / √d)   over real key positions   (padded keys get weight exactly 0)
    H' = H + dropout([A_1 V_1; …; A_h V_h] W_o)        residual
    H' = LayerNorm(H')                                 if layer_norm

so every position sees the whole (masked) sequence. Outputs at padded positions are zero, the
recurrent final state is passed on unchanged: the EncoderOutput contract of the recurrent
encoder, usable by classification, tagging and translation alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from seqforge.api import ConfigError, EncoderOutput, RecurrentStack, length_mask


class MultiHeadSelfAttention(nn.Module):
    """One masked multi-head scaled dot-product self-attention layer with a residual connection.

    Args:
        size: ``H``, divisible by ``heads``.
        heads: number of heads.
        layer_norm: LayerNorm after the residual sum.
        dropout: on the attention output before the residual sum.
    """

    def __init__(self, size: int, *, heads: int, layer_norm: bool, dropout: float) -> None:
        super().__init__()
        if heads < 1 or size % heads:
            raise ConfigError(f"model.encoder.heads={heads} must be >= 1 and divide the encoder's output size {size}.")
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(size, size), nn.Linear(size, size), nn.Linear(size, size)
        self.output = nn.Linear(size, size)
        self.norm = nn.LayerNorm(size) if layer_norm else None
        self.dropout = nn.Dropout(dropout)
        self.last_weights: Tensor | None = None  # (B, heads, T, T), for inspection

    def _split(self, x: Tensor) -> Tensor:
        B, T, H = x.shape
        return x.view(B, T, self.heads, H // self.heads).transpose(1, 2)  # (B, heads, T, d)

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        """``h`` ``(B, T, H)``, ``mask`` ``(B, T)`` -> ``(B, T, H)``, zero at padded positions."""
        B, T, H = h.shape
        q, k, v = self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h))  # (B, heads, T, d)
        scores = q @ k.transpose(-1, -2) / math.sqrt(H // self.heads)  # (B, heads, T, T)
        scores = scores.masked_fill(~mask.view(B, 1, 1, T), float("-inf"))
        weights = scores.softmax(dim=-1)  # (B, heads, T, T); rows of padded queries are discarded below
        self.last_weights = weights.detach()
        context = (weights @ v).transpose(1, 2).reshape(B, T, H)  # (B, T, H)
        out = h + self.dropout(self.output(context))  # (B, T, H)
        if self.norm is not None:
            out = self.norm(out)
        return out * mask.unsqueeze(-1).to(out.dtype)  # (B, T, H)


class SelfAttentiveEncoder(nn.Module):
    """Any cell's :class:`RecurrentStack`, then ``layers`` :class:`MultiHeadSelfAttention` layers.

    Args:
        cell, input_size, hidden_size, num_layers, bidirectional, dropout, merge: the recurrent part (as ``recurrent``).
        heads, layers, layer_norm: the self-attention layers.
        attention_dropout: dropout inside them (``model.dropout`` is the recurrent one).
    """

    def __init__(
        self,
        *,
        cell: Callable[..., nn.Module],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        merge: str = "concat",
        heads: int = 1,
        layers: int = 1,
        layer_norm: bool = True,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.stack = RecurrentStack(
            cell,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            merge=merge,
        )
        self.output_size = self.stack.output_size
        self.bidirectional = bidirectional
        self.attention = nn.ModuleList(
            MultiHeadSelfAttention(self.output_size, heads=heads, layer_norm=layer_norm, dropout=attention_dropout)
            for _ in range(layers)
        )

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: list[Any] | None = None) -> EncoderOutput:
        """``x`` ``(B, S, I)`` -> outputs ``(B, S, output_size)``, mask ``(B, S)``, the recurrent final states."""
        outputs, final = self.stack(x, lengths, state)  # (B, S, H)
        B, S = x.shape[:2]
        # (B, S)
        mask = length_mask(lengths.to(x.device), S) if lengths is not None else x.new_ones(B, S, dtype=torch.bool)
        for layer in self.attention:
            outputs = layer(outputs, mask)  # (B, S, H)
        return EncoderOutput(outputs=outputs, mask=mask, state=final)
