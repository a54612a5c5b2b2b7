"""State helpers work leaf-wise over every state shape a cell may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from seqforge.recurrent import detach_state, map_state, run_cell, select_state
from seqforge.recurrent.state import state_leaves


class LSTMState(NamedTuple):
    h: Tensor
    c: Tensor


@dataclass
class Memory:
    h: Tensor
    steps: int = 0


def test_map_state_keeps_tuples_lists_and_namedtuples() -> None:
    """Tuples, lists and NamedTuples come back as the same type with mapped leaves"""
    a, b = torch.ones(2, 3), torch.zeros(2, 3)
    assert isinstance(map_state(lambda t: t, (a, [b])), tuple)
    assert isinstance(map_state(lambda t: t, (a, [b]))[1], list)
    doubled = map_state(lambda t: t * 2, LSTMState(a, b))
    assert isinstance(doubled, LSTMState)
    assert torch.equal(doubled.h, a * 2) and torch.equal(doubled.c, b)


def test_state_leaves_lists_every_tensor_in_map_state_order() -> None:
    """Nested tuples, lists, NamedTuples and dataclasses give their tensors in order; scalars and None are skipped"""
    a, b, c = torch.zeros(1), torch.ones(1), torch.full((1,), 2.0)
    leaves = state_leaves([LSTMState(a, b), (Memory(c, steps=3), None)])
    assert [leaf.item() for leaf in leaves] == [0.0, 1.0, 2.0] and leaves[0] is a
    assert state_leaves(None) == []


def test_map_state_over_dataclasses_passes_scalars_through() -> None:
    """A dataclass state maps its tensor fields and keeps scalar fields"""
    mapped = map_state(lambda t: t + 1, Memory(torch.zeros(2, 3), steps=4))
    assert isinstance(mapped, Memory) and mapped.steps == 4 and torch.equal(mapped.h, torch.ones(2, 3))


def test_select_state_picks_rows_leafwise() -> None:
    """select_state takes new rows where keep is True and old rows elsewhere, in every leaf"""
    keep = torch.tensor([[True], [False]])
    new, old = LSTMState(torch.ones(2, 3), torch.ones(2, 3)), LSTMState(torch.zeros(2, 3), torch.zeros(2, 3))
    picked = select_state(keep, new, old)
    assert picked.h.tolist() == [[1, 1, 1], [0, 0, 0]] and picked.c.tolist() == [[1, 1, 1], [0, 0, 0]]


def test_detach_state_keeps_values_and_cuts_the_graph() -> None:
    """detach_state returns equal values that no longer require grad"""
    h = torch.randn(2, 3, requires_grad=True) * 2
    detached = detach_state((h, [h]))
    assert torch.equal(detached[0], h) and not detached[0].requires_grad and not detached[1][0].requires_grad


def test_run_cell_masks_a_namedtuple_state() -> None:
    """A cell whose state is a NamedTuple runs over a padded batch; ended rows keep their state"""

    class NamedCell(nn.Module):
        input_size, hidden_size = 2, 3

        def initial_state(self, batch_size, *, device, dtype):
            zeros = torch.zeros(batch_size, 3, device=device, dtype=dtype)
            return LSTMState(zeros, zeros.clone())

        def forward(self, x_t, state):
            h = state.h + x_t.sum(-1, keepdim=True)  # (B, H)
            return h, LSTMState(h, state.c + 1)

    out, final = run_cell(NamedCell(), torch.ones(2, 4, 2), torch.tensor([4, 2]))
    assert isinstance(final, LSTMState)
    assert final.c[:, 0].tolist() == [4.0, 2.0]
    assert out[1, 2:].abs().sum() == 0
