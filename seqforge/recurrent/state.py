"""Helpers over recurrent states: a tensor, or nested tuples/lists of tensors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor


def map_state(fn: Callable[..., Tensor], state: Any, *others: Any) -> Any:
    """Apply ``fn`` leaf-wise over states of the same structure (tensors in tuples, lists, dataclasses; scalars pass
    through)."""
    if isinstance(state, Tensor):
        return fn(state, *others)
    if isinstance(state, (tuple, list)):
        mapped = [map_state(fn, s, *(o[i] for o in others)) for i, s in enumerate(state)]
        return type(state)(*mapped) if hasattr(state, "_fields") else type(state)(mapped)  # NamedTuple takes fields
    if state is None or isinstance(state, (int, float, bool, str)):
        return state
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return dataclasses.replace(
            state,
            **{
                f.name: map_state(fn, getattr(state, f.name), *(getattr(o, f.name) for o in others))
                for f in dataclasses.fields(state)
                if f.init
            },
        )
    raise TypeError(f"a recurrent state must be a tensor or nested tuples/lists of tensors, got {type(state).__name__}")


def state_leaves(state: Any) -> list[Tensor]:
    """The tensors of ``state`` in :func:`map_state`'s order (a bridge flattens them; search finds the device)."""
    leaves: list[Tensor] = []

    def collect(leaf: Tensor) -> Tensor:
        leaves.append(leaf)
        return leaf

    map_state(collect, state)
    return leaves


def detach_state(state: Any) -> Any:
    """Cut the graph at a chunk boundary (truncated BPTT) while keeping the values."""
    return map_state(lambda t: t.detach(), state)


def select_state(keep: Tensor, new: Any, old: Any) -> Any:
    """``new`` where ``keep`` (``(B, 1)`` bool) is True, else ``old``: padded steps leave the state inert."""
    return map_state(lambda n, o: torch.where(keep, n, o), new, old)
