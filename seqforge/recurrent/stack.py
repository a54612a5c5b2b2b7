"""Stacked and bidirectional recurrent layers built from any cell factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from torch import Tensor, nn

from seqforge.errors import ConfigError
from seqforge.recurrent.loop import reverse_padded, run_cell

MERGES = ("concat", "sum", "mean")

#: Per layer, one state per direction: ``states[layer][direction]``.
StackState = list[list[Any]]


class RecurrentStack(nn.Module):
    """``num_layers`` layers of ``cell_factory`` cells, optionally bidirectional.

    Args:
        cell_factory: ``cell_factory(input_size=..., hidden_size=...)`` returns a new cell.
        input_size: ``I`` of the inputs.
        hidden_size: ``H`` of every cell.
        num_layers: depth; dropout is applied between layers (not after the last).
        bidirectional: run a second cell per layer over each sequence reversed within its length.
        dropout: dropout probability between layers.
        merge: how a bidirectional layer combines directions: ``concat`` (``2H``), ``sum`` or ``mean`` (``H``).
    """

    def __init__(
        self,
        cell_factory: Callable[..., nn.Module],
        *,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        merge: str = "concat",
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"model.num_layers must be >= 1, got {num_layers}.")
        if merge not in MERGES:
            raise ConfigError(f"model.encoder.merge must be one of {', '.join(MERGES)}, got '{merge}'.")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {dropout}.")
        self.num_directions = 2 if bidirectional else 1
        self.merge = merge
        self.hidden_size = hidden_size
        self.layers = nn.ModuleList()
        layer_input = input_size
        for _ in range(num_layers):
            self.layers.append(
                nn.ModuleList(
                    cell_factory(input_size=layer_input, hidden_size=hidden_size) for _ in range(self.num_directions)
                )
            )
            layer_input = self.output_size
        self.dropout = nn.Dropout(dropout)

    @property
    def output_size(self) -> int:
        return self.hidden_size * (2 if self.num_directions == 2 and self.merge == "concat" else 1)

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, state: StackState | None = None
    ) -> tuple[Tensor, StackState]:
        """``x``: ``(B, T, I)`` -> outputs ``(B, T, output_size)`` and the final ``states[layer][direction]``."""
        final: StackState = []
        for index, layer in enumerate(self.layers):
            cells = cast(nn.ModuleList, layer)  # one cell per direction
            if index > 0:
                x = self.dropout(x)
            layer_state = state[index] if state is not None else [None] * len(cells)
            forward_out, forward_state = run_cell(cells[0], x, lengths, layer_state[0])  # (B, T, H)
            if len(cells) == 1:
                x, final_layer = forward_out, [forward_state]
            else:
                backward_out, backward_state = run_cell(cells[1], reverse_padded(x, lengths), lengths, layer_state[1])
                backward_out = reverse_padded(backward_out, lengths)  # (B, T, H), back in time order
                x = self._merge(forward_out, backward_out)
                final_layer = [forward_state, backward_state]
            final.append(final_layer)
        return x, final

    def _merge(self, forward_out: Tensor, backward_out: Tensor) -> Tensor:
        if self.merge == "concat":
            return torch.cat([forward_out, backward_out], dim=-1)  # (B, T, 2H)
        summed = forward_out + backward_out  # (B, T, H)
        return summed if self.merge == "sum" else summed / 2
