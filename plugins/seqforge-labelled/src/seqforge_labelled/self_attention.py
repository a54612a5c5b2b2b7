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
from typing import Any

from torch import Tensor, nn

from seqforge.api import ConfigError, EncoderOutput, RecurrentEncoder


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


class SelfAttentiveEncoder(RecurrentEncoder):
    """The core's ``recurrent`` encoder (any cell), then ``layers`` :class:`MultiHeadSelfAttention` layers.

    Args:
        heads, layers, layer_norm: the self-attention layers.
        attention_dropout: dropout inside them (``model.dropout`` is the recurrent one).
        recurrent: cell, input_size, hidden_size, num_layers, bidirectional, dropout, merge (as ``recurrent``).
    """

    def __init__(
        self,
        *,
        heads: int = 1,
        layers: int = 1,
        layer_norm: bool = True,
        attention_dropout: float = 0.0,
        **recurrent: Any,
    ) -> None:
        super().__init__(**recurrent)
        self.attention = nn.ModuleList(
            MultiHeadSelfAttention(self.output_size, heads=heads, layer_norm=layer_norm, dropout=attention_dropout)
            for _ in range(layers)
        )

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: list[Any] | None = None) -> EncoderOutput:
        """``x`` ``(B, S, I)`` -> outputs ``(B, S, output_size)``, mask ``(B, S)``, the recurrent final states."""
        encoded = super().forward(x, lengths, state)
        outputs = encoded.outputs  # (B, S, H)
        for layer in self.attention:
            outputs = layer(outputs, encoded.mask)  # (B, S, H)
        return EncoderOutput(outputs=outputs, mask=encoded.mask, state=encoded.state)
