"""check_attention honours the Attention Protocol's two options: StepAttention gets a step, weights_sum_to_one=False."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from seqforge.testing import ContractError, attention_results, check_attention


class Damped(nn.Module):
    """Dot-product attention whose weights are scaled by ``factor`` (local-p's Gaussian damping, simplified)."""

    def __init__(self, query_size: int, memory_size: int, factor: float = 0.5, declared: bool = True) -> None:
        super().__init__()
        self.factor = factor
        if declared:
            self.weights_sum_to_one = False
        self.w = nn.Linear(memory_size, query_size, bias=False)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys=None) -> tuple[Tensor, Tensor]:
        scores = torch.bmm(self.w(memory), query.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=-1) * self.factor  # (B, S)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class NeedsStep(nn.Module):
    """Dot-product attention over positions ``step - 1 .. step + 1`` (clipped to the row): it cannot run without the
    step."""

    needs_step = True

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.w = nn.Linear(memory_size, query_size, bias=False)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys=None, *, step: Tensor) -> tuple[Tensor, Tensor]:
        centre = torch.minimum(step, mask.sum(-1) - 1)  # (B,)
        near = (torch.arange(mask.shape[1]).unsqueeze(0) - centre.unsqueeze(1)).abs() <= 1  # (B, S)
        # (B, S)
        scores = torch.bmm(self.w(memory), query.unsqueeze(2)).squeeze(2).masked_fill(~(near & mask), float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


def test_a_declared_sub_distribution_passes_and_an_undeclared_one_breaks() -> None:
    """weights_sum_to_one=False relaxes "weights sum to 1" to sums in (0, 1]; sums above 1 or undeclared damping still
    break"""
    check_attention(Damped, {"factor": 0.5})
    with pytest.raises(ContractError, match="weights sum to 1"):
        check_attention(Damped, {"factor": 1.5})
    with pytest.raises(ContractError, match="weights sum to 1"):
        check_attention(Damped, {"factor": 0.5, "declared": False})


def test_a_step_attention_is_called_with_a_step_inside_every_source() -> None:
    """An attention declaring needs_step gets step=(B,) long from every contract, so it passes the whole suite"""
    check_attention(NeedsStep)
    results = attention_results(NeedsStep, only=["shapes"])
    assert all(r.passed for r in results)
