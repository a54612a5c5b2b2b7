"""Run any cell over a padded batch.

The generic loop is what makes a third-party cell work everywhere: it hoists
the cell's input projection out of the time loop when the cell offers one
(``project_input`` + ``step``), iterates with ``unbind`` (indexing a hoisted
tensor per step makes backward quadratic in T), and freezes the state of
sequences that have ended. Cells with a fused kernel (``forward_sequence``)
skip the loop; both paths must agree to 1e-5 (tested).

:class:`CompiledLoop` is the opt-in fast path for cells without a fused
kernel: the same loop, compiled a chunk of steps at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn

from seqforge.errors import ContractViolation
from seqforge.provenance import describe
from seqforge.recurrent.state import map_state, select_state, state_leaves


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``(B,)`` lengths -> ``(B, T)`` bool mask, True at real positions."""
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
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


def _full_length(lengths: Tensor | None, max_len: int) -> bool:
    return lengths is None or bool((lengths >= max_len).all())


def run_cell(
    cell: Any,
    x: Tensor,
    lengths: Tensor | None = None,
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
    try:
        if fused is not None:
            outputs, state = fused(x, state, lengths)
        else:
            step, inputs = _hoist(cell, x)
            # (T, B, 1)
            mask = None if lengths is None else length_mask(lengths.to(x.device), T).transpose(0, 1).unsqueeze(-1)
            outputs, state = _steps(step, inputs, mask, state)
    except RuntimeError as exc:
        # Blame the cell only for what its own code raised (or a state it returned malformed); anything
        # else — a back-end limitation, seqforge's own bug — propagates unchanged, with its traceback.
        if isinstance(exc, torch.OutOfMemoryError):
            raise
        where = _frame_in_package(exc.__traceback__, _own_code(cell))
        if where is not None:
            raise _violation(
                cell, f"raised {type(exc).__name__} in its own code ({where}): {str(exc).splitlines()[0]}"
            ) from exc
        problem = None if fused is not None else _state_problem(cell, x, state)
        if problem is not None:
            raise _violation(
                cell, f"{problem}, which broke seqforge's recurrent loop: {str(exc).splitlines()[0]}"
            ) from exc
        raise
    hidden = getattr(cell, "hidden_size", None)
    if outputs.shape[:2] != (B, T) or (hidden is not None and outputs.shape[-1] != hidden):
        raise _violation(
            cell, f"returned outputs of shape {tuple(outputs.shape)} for inputs {tuple(x.shape)}; expected (B, T, "
                  f"hidden_size) = {(B, T, hidden)}"
        )
    return outputs, state


def _violation(cell: Any, what: str) -> Exception:
    """A :class:`~seqforge.errors.ContractViolation` naming the cell.

    If the cell was built from the registry, the message names its plugin too.
    """
    return ContractViolation(
        f"The {describe(cell)} {what}. This is a bug in that component, not in your config: run "
        "`seqforge plugins check <its distribution>` for a full report, or choose another model/cell."
    )


def _state_problem(cell: Any, x: Tensor, state: Any) -> str | None:
    """One eager step of ``cell``: does it return its state in the shapes it was given? (Asked only after a failure.)"""

    def shapes(s: Any) -> list[tuple[int, ...]]:
        return [tuple(leaf.shape) for leaf in state_leaves(s)]

    try:
        with torch.no_grad():
            step, inputs = _hoist(cell, x[:, :1])
            _, new_state = step(inputs[0], state)
        before, after = shapes(state), shapes(new_state)
    except Exception:  # noqa: BLE001 - a diagnosis only; the original error is raised either way
        return None
    if before == after:
        return None
    return (
        f"returned a state of shape(s) {after} from a state of shape(s) {before} (a step must keep its state's shapes)"
    )


def _own_code(cell: Any) -> Path | None:
    """Where ``cell``'s own code lives: its top-level package's folder (one module's file for seqforge's own
    classes, or a top-level module), or None if it has no file. A wrapper (``CompiledLoop``) is judged by what it
    wraps."""
    inner = getattr(cell, "cell", None)
    if inner is not None and inner is not cell and hasattr(inner, "initial_state"):
        cell = inner
    name = type(cell).__module__
    root = sys.modules.get(name.partition(".")[0])
    module = root if root is not None and root.__name__ != "seqforge" else sys.modules.get(name)
    path = getattr(module, "__path__", None)
    if path:
        return Path(next(iter(path))).resolve()
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _frame_in_package(tb: TracebackType | None, package: Path | None) -> str | None:
    """``file:line in function`` of the innermost traceback frame inside ``package`` (a folder or a file), or None."""
    found = None
    while tb is not None and package is not None:
        code = tb.tb_frame.f_code
        file = Path(code.co_filename)
        if file.is_absolute() and (file.resolve() == package or package in file.resolve().parents):
            found = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return found


def _hoist(cell: Any, x: Tensor) -> tuple[Any, Tensor]:
    """The per-step callable and its ``(T, B, *)`` inputs: projected once when the cell offers ``project_input``."""
    inputs = x.transpose(0, 1)  # (T, B, I)
    step = getattr(cell, "step", None)
    project = getattr(cell, "project_input", None)
    if step is not None and project is not None:
        return step, project(inputs)  # (T, B, G): one matmul for all steps
    return cell, inputs


def _steps(step: Any, inputs: Tensor, mask: Tensor | None, state: Any) -> tuple[Tensor, Any]:
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


_COMPILED_STEPS: dict[str, Any] = {}


def _compiled_steps(options: dict[str, Any]) -> Any:
    """``_steps`` under ``torch.compile``, one wrapper per option set (Dynamo keys its graph cache on the code)."""
    key = repr(sorted(options.items()))
    if key not in _COMPILED_STEPS:
        _COMPILED_STEPS[key] = torch.compile(_steps, fullgraph=True, **options)
    return _COMPILED_STEPS[key]


class CompiledLoop(nn.Module):
    """Opt-in speed-up of the generic loop for any cell: ``chunk`` steps traced and compiled as one graph.

    Compiling one step at a time does not pay (the per-call overhead of a compiled
    region is about what fusing a step saves) and compiling the whole unrolled
    sequence takes minutes and recompiles for every ``T``. A fixed chunk of steps
    amortises the call overhead, lets the compiler fuse across steps, and compiles
    once for all sequence lengths (the last ``T % chunk`` steps run eagerly).
    Measured in ``bench/cells.py``: about 1.3-1.6x faster training steps for a
    forward-only LSTM cell, after a one-off compile of roughly 25-60 s on 2 cores
    (cached on disk by PyTorch for later runs).

    It wraps the cell as a whole-sequence path (``forward_sequence``), so
    ``run_cell`` and ``RecurrentStack`` use it unchanged:
    ``RecurrentStack(lambda **kw: CompiledLoop(MyCell(**kw)), ...)``.

    Only training steps are compiled: with gradients disabled (evaluation) the
    eager loop runs, so evaluation triggers no second compile. Cells of one class
    share compiled graphs; each new batch size, dtype or cell class costs one
    (re)compile, within Dynamo's ``cache_size_limit``. Second-order gradients are
    whatever ``torch.compile`` supports.

    Args:
        cell: any :class:`~seqforge.interfaces.Cell`; its parameters stay its own
            (``state_dict`` keys gain a ``cell.`` prefix).
        chunk: steps per compiled call; longer chunks run faster and compile slower.
        **compile_options: passed to ``torch.compile`` (e.g. ``backend="aot_eager"``).
    """

    def __init__(self, cell: Any, *, chunk: int = 16, **compile_options: Any) -> None:
        super().__init__()
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self.cell = cell
        self.input_size = cell.input_size
        self.hidden_size = cell.hidden_size
        self.chunk = chunk
        self.compile_options = compile_options

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Any:
        return self.cell.initial_state(batch_size, device=device, dtype=dtype)

    def forward(self, x_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One eager step of the wrapped cell (decoders step one token at a time)."""
        step: tuple[Tensor, Any] = self.cell(x_t, state)
        return step

    def forward_sequence(self, x: Tensor, state: Any, lengths: Tensor | None) -> tuple[Tensor, Any]:
        """``x`` ``(B, T, I)`` -> ``(B, T, H)`` and the final state; same numbers as the eager loop."""
        B, T, _ = x.shape
        step, inputs = _hoist(self.cell, x)  # (T, B, *)
        # (T, B, 1)
        mask = None if lengths is None else length_mask(lengths.to(x.device), T).transpose(0, 1).unsqueeze(-1)
        if not torch.is_grad_enabled() or self.chunk > T:
            return _steps(step, inputs, mask, state)
        # One graph for padded and unpadded batches, and for the first chunk (fresh
        # state) and later ones (state with history): always a mask, always a grad-tracking state.
        chunk_mask = mask if mask is not None else torch.ones(T, B, 1, dtype=torch.bool, device=x.device)
        state = map_state(
            lambda s: s.detach().requires_grad_() if s.is_floating_point() and not s.requires_grad else s, state
        )
        compiled = _compiled_steps(self.compile_options)
        outputs = []
        for start in range(0, T, self.chunk):
            part = slice(start, start + self.chunk)
            if inputs[part].shape[0] == self.chunk:
                with torch._dynamo.config.patch(allow_rnn=True):  # cells may keep weights in nn.LSTM/nn.GRU
                    out, state = compiled(step, inputs[part], chunk_mask[part], state)
            else:
                out, state = _steps(step, inputs[part], None if mask is None else mask[part], state)
            outputs.append(out)  # (B, chunk, H)
        return torch.cat(outputs, dim=1), state  # (B, T, H)
