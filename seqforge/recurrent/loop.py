"""Run any cell over a padded batch.

The generic loop is what makes a third-party cell work everywhere: it hoists
the cell's input projection out of the time loop when the cell offers one
(``project_input`` + ``step``), iterates with ``unbind`` (indexing a hoisted
tensor per step makes backward quadratic in T), and freezes the state of
sequences that have ended. Cells with a fused kernel (``forward_sequence``)
skip the loop; both paths must agree to 1e-5 (tested).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from seqforge.recurrent.state import select_state


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``(B,)`` lengths -> ``(B, T)`` bool mask, True at real positions."""
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def reverse_padded(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Reverse each sequence of ``x`` (``(B, T, *)``) within its length; padding stays at the end.

    It is its own inverse, so the same call maps backward-direction outputs back.
    """
    if lengths is None:
        return x.flip(1)
    B, T = x.shape[:2]
    steps = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (B, T)
    index = index.view(B, T, *([1] * (x.dim() - 2))).expand_as(x)  # (B, T, *)
    return x.gather(1, index)


def _full_length(lengths: Optional[Tensor], max_len: int) -> bool:
    return lengths is None or bool((lengths >= max_len).all())


def run_cell(
    cell: Any,
    x: Tensor,
    lengths: Optional[Tensor] = None,
    state: Any = None,
    *,
    allow_fused: bool = True,
) -> tuple[Tensor, Any]:
    """Run ``cell`` over ``x``.

    Args:
        cell: any :class:`~seqforge.interfaces.Cell`.
        x: ``(B, T, I)`` inputs, padded after each sequence's length.
        lengths: ``(B,)`` real lengths (>= 1), or None when all are ``T``.
        state: initial state, or None for ``cell.initial_state``.
        allow_fused: use the cell's ``forward_sequence`` when it has one.

    Returns:
        ``outputs`` ``(B, T, H)`` (zero at padded steps) and the final state
        (each sequence's state after its last real step).
    """
    B, T, _ = x.shape
    if state is None:
        state = cell.initial_state(B, device=x.device, dtype=x.dtype)
    if _full_length(lengths, T):
        lengths = None
    fused = getattr(cell, "forward_sequence", None) if allow_fused else None
    if fused is not None:
        return fused(x, state, lengths)

    step, inputs = _hoist(cell, x)
    mask = None if lengths is None else length_mask(lengths, T).transpose(0, 1).unsqueeze(-1)  # (T, B, 1)
    return _steps(step, inputs, mask, state)


def _hoist(cell: Any, x: Tensor) -> tuple[Any, Tensor]:
    """The per-step callable and its ``(T, B, *)`` inputs: projected once when the cell offers ``project_input``."""
    inputs = x.transpose(0, 1)  # (T, B, I)
    step = getattr(cell, "step", None)
    project = getattr(cell, "project_input", None)
    if step is not None and project is not None:
        return step, project(inputs)  # (T, B, G): one matmul for all steps
    return cell, inputs


def _steps(step: Any, inputs: Tensor, mask: Optional[Tensor], state: Any) -> tuple[Tensor, Any]:
    """The time loop over ``inputs`` ``(T, B, *)``; ``mask`` ``(T, B, 1)`` or None -> ``(B, T, H)`` and the state."""
    outputs = []
    keeps = (None,) * inputs.shape[0] if mask is None else mask.unbind(0)
    for x_t, keep in zip(inputs.unbind(0), keeps):
        h_t, new_state = step(x_t, state)  # (B, H)
        if keep is None:
            state = new_state
        else:  # (B, 1): ended sequences keep their state and output zeros
            state = select_state(keep, new_state, state)
            h_t = torch.where(keep, h_t, 0.0)
        outputs.append(h_t)
    return torch.stack(outputs, dim=1), state  # (B, T, H)


class CompiledLoop(torch.nn.Module):
    """PROTOTYPE: the generic loop, ``chunk`` steps at a time compiled as one graph."""

    def __init__(self, cell: Any, *, chunk: int = 16, **compile_options: Any) -> None:
        super().__init__()
        self.cell = cell
        self.input_size = cell.input_size
        self.hidden_size = cell.hidden_size
        self.chunk = chunk
        self._compiled = torch.compile(_steps, dynamic=False, fullgraph=True, **compile_options)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Any:
        return self.cell.initial_state(batch_size, device=device, dtype=dtype)

    def forward(self, x_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        return self.cell(x_t, state)

    def forward_sequence(self, x: Tensor, state: Any, lengths: Optional[Tensor]) -> tuple[Tensor, Any]:
        T = x.shape[1]
        step, inputs = _hoist(self.cell, x)
        mask = None if lengths is None else length_mask(lengths, T).transpose(0, 1).unsqueeze(-1)  # (T, B, 1)
        outputs = []
        for start in range(0, T, self.chunk):
            part = slice(start, start + self.chunk)
            run = self._compiled if inputs[part].shape[0] == self.chunk else _steps
            with torch._dynamo.config.patch(allow_rnn=True):
                out, state = run(step, inputs[part], None if mask is None else mask[part], state)
            outputs.append(out)
        return torch.cat(outputs, dim=1), state  # (B, T, H)
