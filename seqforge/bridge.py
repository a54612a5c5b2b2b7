"""Bridges: the encoder's final state -> the decoder's initial state, for any pair of cells.

States are flattened leaf by leaf, so an LSTM encoder (h, c) can feed a GRU
decoder (h), a bidirectional encoder a unidirectional decoder, and sizes may
differ. The decoder's own ``initial_state`` supplies the target structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from seqforge.errors import ConfigError
from seqforge.recurrent.state import map_state, state_leaves

BRIDGES = ("linear", "zero", "copy")


def state_sizes(cell: Any) -> list[int]:
    """The last-dimension size of each leaf of ``cell.initial_state``: what a flat ``(B, F)`` vector splits into."""
    template = cell.initial_state(1, device=torch.device("cpu"), dtype=torch.float32)
    return [leaf.shape[-1] for leaf in state_leaves(template)]


def unflatten_state(flat: Tensor, cell: Any) -> Any:
    """Split ``(B, F)`` into the structure of ``cell.initial_state``."""
    template = cell.initial_state(flat.shape[0], device=flat.device, dtype=flat.dtype)
    parts = iter(torch.split(flat, state_sizes(cell), dim=-1))
    return map_state(lambda _: next(parts), template)


class StateBridge(nn.Module):
    """Maps ``encoder_states[layer][direction]`` to one state per decoder layer.

    Decoder layer ``i`` takes encoder layer ``i + (L_enc - L_dec)`` (the top
    layers) or, when the decoder is deeper, the top encoder layer.

    Args:
        kind: ``linear`` (tanh(W [all leaves of all directions] + b), split into the
            decoder cell's state), ``zero`` (the decoder's zero state), ``copy``
            (identical structure and sizes required; unidirectional encoder only).
        encoder_cells: ``[layer][direction]`` cells of the encoder.
        decoder_cells: one cell per decoder layer.
    """

    def __init__(self, kind: str, encoder_cells: Sequence[Sequence[Any]], decoder_cells: Sequence[Any]) -> None:
        super().__init__()
        if kind not in BRIDGES:
            raise ConfigError(f"model.decoder.bridge must be one of {', '.join(BRIDGES)}, got '{kind}'.")
        self.kind = kind
        self.decoder_cells = list(decoder_cells)  # not registered as submodules: owned by the decoder
        offset = len(encoder_cells) - len(decoder_cells)
        self.sources = [min(max(i + offset, 0), len(encoder_cells) - 1) for i in range(len(decoder_cells))]
        encoder_sizes = [sum(sum(state_sizes(c)) for c in encoder_cells[s]) for s in self.sources]
        decoder_sizes = [sum(state_sizes(c)) for c in decoder_cells]
        if kind == "copy":
            for layer, source in enumerate(self.sources):
                if len(encoder_cells[source]) != 1 or state_sizes(encoder_cells[source][0]) != state_sizes(
                    decoder_cells[layer]
                ):
                    raise ConfigError(
                        "model.decoder.bridge=copy needs a unidirectional encoder whose cell state matches the "
                        f"decoder's (encoder layer {source}: {[ state_sizes(c) for c in encoder_cells[source]]}, "
                        f"decoder layer {layer}: {state_sizes(decoder_cells[layer])}). Use model.decoder.bridge=linear."
                    )
        self.maps = (
            nn.ModuleList(nn.Linear(e, d) for e, d in zip(encoder_sizes, decoder_sizes)) if kind == "linear" else None
        )

    def forward(
        self, encoder_states: list[list[Any]], batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> list[Any]:
        if self.kind == "zero":
            return [cell.initial_state(batch_size, device=device, dtype=dtype) for cell in self.decoder_cells]
        if self.kind == "copy":
            return [encoder_states[s][0] for s in self.sources]
        maps = cast(nn.ModuleList, self.maps)  # kind == "linear": one map per decoder layer
        out = []
        for layer, source in enumerate(self.sources):
            # (B, F_enc)
            flat = torch.cat([leaf for direction in encoder_states[source] for leaf in state_leaves(direction)], dim=-1)
            # F_dec split per leaf
            out.append(unflatten_state(torch.tanh(maps[layer](flat)), self.decoder_cells[layer]))
        return out
