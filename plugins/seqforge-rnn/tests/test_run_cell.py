"""This plugin's cells under the core's run_cell: the fused kernel and the generic loop agree.

The core's tests check run_cell with seqforge.testing's reference cells; these check the cells users train.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from seqforge.api import run_cell
from seqforge_rnn import cells

B, T, I, H = 5, 7, 3, 4
LENGTHS = [4, 7, 1, 6, 2]  # unsorted, includes 1 and T
FACTORIES = {
    "rnn-tanh": lambda **kw: cells.RNNCell(nonlinearity="tanh", **kw),
    "rnn-relu": lambda **kw: cells.RNNCell(nonlinearity="relu", **kw),
    "lstm": cells.LSTMCell,
    "gru": cells.GRUCell,
}


def leaves(state) -> list[Tensor]:
    return [state] if isinstance(state, Tensor) else [leaf for s in state for leaf in leaves(s)]


def run_with_grads(cell, x: Tensor, lengths, allow_fused: bool):
    cell.zero_grad()
    x = x.detach().clone().requires_grad_()
    out, state = run_cell(cell, x, lengths, allow_fused=allow_fused)
    loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() + sum(
        leaf.pow(2).sum() for leaf in leaves(state)
    )
    loss.backward()
    return [out, *leaves(state), x.grad, *(p.grad for p in cell.parameters())]


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
@pytest.mark.parametrize("name", FACTORIES)
def test_fused_and_loop_agree_on_outputs_states_and_gradients(name, lengths) -> None:
    """One cell, allow_fused=True vs False: same outputs, final state, and grads wrt params and inputs"""
    torch.manual_seed(0)
    cell = FACTORIES[name](input_size=I, hidden_size=H, fused=True)
    x = torch.randn(B, T, I)
    lengths = None if lengths is None else torch.tensor(lengths)
    fused, looped = (run_with_grads(cell, x, lengths, allow_fused) for allow_fused in (True, False))
    for left, right in zip(fused, looped, strict=True):
        torch.testing.assert_close(left, right, rtol=1e-5, atol=1e-5)
