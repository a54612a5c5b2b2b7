"""The generic recurrent encoder: any registered cell, stacked, optionally bidirectional."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from seqforge.interfaces import EncoderOutput
from seqforge.recurrent.loop import length_mask
from seqforge.recurrent.stack import RecurrentStack


class RecurrentEncoder(nn.Module):
    """Wraps :class:`~seqforge.recurrent.RecurrentStack` behind the Encoder interface.

    Args:
        cell: ``cell(input_size=..., hidden_size=...)`` builds one cell (the
            configured ``model.cell``, partially applied).
        input_size, hidden_size, num_layers, bidirectional, dropout, merge: see RecurrentStack.
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

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: list[Any] | None = None) -> EncoderOutput:
        """``x``: ``(B, S, I)`` -> outputs ``(B, S, output_size)``, mask ``(B, S)``, per-layer states."""
        outputs, final = self.stack(x, lengths, state)
        B, S = x.shape[:2]
        # (B, S)
        mask = length_mask(lengths.to(x.device), S) if lengths is not None else x.new_ones(B, S, dtype=torch.bool)
        return EncoderOutput(outputs=outputs, mask=mask, state=final)
