"""Small tensor helpers shared by the contracts: state leaves, structure, exact and close comparisons."""

from __future__ import annotations

import io
import pickle
from typing import Any

import torch
from torch import Tensor

from seqforge.testing._contracts import Broken


def leaves(state: Any) -> list[Tensor]:
    """The tensors of a state (a tensor, or nested tuples/lists of tensors), in order."""
    if isinstance(state, Tensor):
        return [state]
    if isinstance(state, (tuple, list)):
        return [leaf for part in state for leaf in leaves(part)]
    raise Broken(
        f"a state contains a {type(state).__name__}, but a recurrent state must be a tensor or (nested) tuples of "
        "tensors",
        "return a (B, H) tensor, or a tuple of (B, *) tensors such as (h, c), from initial_state and forward",
    )


def structure(state: Any) -> Any:
    """The nesting of a state with each tensor replaced by its shape: compares structure and shapes at once."""
    if isinstance(state, Tensor):
        return tuple(state.shape)
    return (type(state).__name__, tuple(structure(part) for part in state))


def shape(t: Any) -> str:
    return str(tuple(t.shape)) if isinstance(t, Tensor) else type(t).__name__


def max_difference(a: Any, b: Any) -> float:
    """The largest absolute difference between two tensors (or states) of the same structure."""
    pairs = list(zip(leaves(a), leaves(b)))
    return max(((x.detach() - y.detach()).abs().max().item() if x.numel() else 0.0) for x, y in pairs) if pairs else 0.0


def pickled(module: Any) -> Any:
    """``module`` through ``pickle`` (what ``ddp_spawn`` and ``DataLoader`` workers do)."""
    return pickle.loads(pickle.dumps(module))


def through_checkpoint(state_dict: dict[str, Any]) -> dict[str, Any]:
    """A state dict through ``torch.save`` and ``torch.load(weights_only=True)``, as seqforge loads checkpoints."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    loaded: dict[str, Any] = torch.load(buffer, weights_only=True)
    return loaded


def trainable(module: Any) -> list[tuple[str, Tensor]]:
    return (
        [(n, p) for n, p in module.named_parameters() if p.requires_grad] if isinstance(module, torch.nn.Module) else []
    )


def gradient_problems(module: Any) -> list[str]:
    """Parameters whose gradient is missing, not finite, or exactly zero after a backward pass."""
    problems = []
    for name, parameter in trainable(module):
        if parameter.grad is None:
            problems.append(f"{name} (no gradient)")
        elif not torch.isfinite(parameter.grad).all():
            problems.append(f"{name} (non-finite gradient)")
        elif not parameter.grad.abs().sum() > 0:
            problems.append(f"{name} (gradient exactly zero)")
    return problems


def require_useful_gradients(module: Any, where: str = "") -> None:
    """Raise :class:`Broken` naming every parameter of ``module`` without a useful gradient (call after ``backward``).

    ``where`` opens the message (e.g. ``"after 3 steps "``) so the author knows which backward pass it was.
    """
    problems = gradient_problems(module)
    if problems:
        raise Broken(f"{where}these parameters got no useful gradient: {', '.join(problems)}")


def mixed_lengths(batch: int, steps: int) -> Tensor:
    """``(B,)`` lengths with the longest first, a short one and a one-step one: exercises every masking case."""
    pattern = [steps, max(1, steps - 2), 1, max(1, steps // 2)]
    return torch.tensor([pattern[i % len(pattern)] for i in range(batch)])
