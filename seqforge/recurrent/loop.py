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

    inputs = x.transpose(0, 1)  # (T, B, I)
    step = getattr(cell, "step", None)
    project = getattr(cell, "project_input", None)
    if step is not None and project is not None:
        inputs = project(inputs)  # (T, B, G): one matmul for all steps
    else:
        step = cell
    mask = None if lengths is None else length_mask(lengths, T).transpose(0, 1).unsqueeze(-1)  # (T, B, 1)

    outputs = []
    for t, x_t in enumerate(inputs.unbind(0)):
        h_t, new_state = step(x_t, state)  # (B, H)
        if mask is None:
            state = new_state
        else:
            keep = mask[t]  # (B, 1)
            state = select_state(keep, new_state, state)
            h_t = h_t * keep
        outputs.append(h_t)
    return torch.stack(outputs, dim=1), state  # (B, T, H)


class _CompiledStep:
    """PROTOTYPE"""

    def __init__(self, cell, compiler):
        self.cell = cell
        self.input_size = cell.input_size
        self.hidden_size = cell.hidden_size
        self.initial_state = cell.initial_state
        step, project = getattr(cell, "step", None), getattr(cell, "project_input", None)
        if step is not None and project is not None:
            self.project_input = project
            self._step = compiler(step)
        else:
            self.project_input = lambda x: x
            self._step = compiler(cell.forward)

    def step(self, x_t, state):
        with torch._dynamo.config.patch(allow_rnn=True):
            return self._step(x_t, state)


def compile_step(cell, **options):
    return _CompiledStep(cell, lambda fn: torch.compile(fn, dynamic=False, **options))


def script_step(cell):
    wrapper = _CompiledStep(cell, lambda fn: fn)
    wrapper._step = torch.jit.script(cell)
    wrapper.step = wrapper._step
    return wrapper
