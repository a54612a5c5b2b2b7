"""Masked pooling over encoder outputs: hand-computed values, and padding never changes a result."""

from __future__ import annotations

import pytest
import torch

from seqforge.api import ConfigError
from seqforge_labelled.pooling import Pooling, last_pool, max_pool, mean_pool

# Two sequences, lengths 3 and 1, padded to 4 steps, H = 2; padded positions hold garbage on purpose.
OUTPUTS = torch.tensor(
    [
        [[1.0, -2.0], [3.0, 0.0], [-1.0, 4.0], [99.0, 99.0]],
        [[2.0, 5.0], [-50.0, 77.0], [88.0, -9.0], [99.0, 99.0]],
    ]
)
MASK = torch.tensor([[True, True, True, False], [True, False, False, False]])


def test_last_takes_each_sequences_last_real_step() -> None:
    """last: step 2 of the first sequence, step 0 of the second"""
    assert torch.equal(last_pool(OUTPUTS, MASK), torch.tensor([[-1.0, 4.0], [2.0, 5.0]]))


def test_last_of_a_bidirectional_encoder_reads_the_backward_half_at_step_zero() -> None:
    """[forward at T-1; backward at 0]: the backward direction has read the whole sequence at its first step"""
    assert torch.equal(last_pool(OUTPUTS, MASK, bidirectional=True), torch.tensor([[-1.0, -2.0], [2.0, 5.0]]))


def test_mean_averages_real_steps_only() -> None:
    """mean: (1+3-1)/3, (-2+0+4)/3; the second sequence is its single step"""
    assert torch.allclose(mean_pool(OUTPUTS, MASK), torch.tensor([[1.0, 2.0 / 3.0], [2.0, 5.0]]))


def test_max_ignores_padding_even_when_padding_is_larger() -> None:
    """max: 3 and 4 (not the 99 padding), 2 and 5 (not 88/77)"""
    assert torch.equal(max_pool(OUTPUTS, MASK), torch.tensor([[3.0, 4.0], [2.0, 5.0]]))


def test_max_of_all_negative_values_is_not_zero() -> None:
    """Padding is -inf for max, not 0: an all-negative sequence keeps its (negative) maximum"""
    outputs = torch.tensor([[[-3.0], [-1.0], [0.0]]])
    assert max_pool(outputs, torch.tensor([[True, True, False]])).item() == -1.0


def test_attention_weights_are_a_masked_softmax_of_the_learned_scores() -> None:
    """attention: a = softmax over real steps of v^T tanh(W h + b); weights at padding are exactly 0"""
    torch.manual_seed(0)
    pool = Pooling("attention", 2)
    pooled = pool(OUTPUTS, MASK)
    proj, score = pool.attention.project, pool.attention.score
    for b, length in enumerate((3, 1)):
        h = OUTPUTS[b, :length]  # (T_b, H)
        a = (torch.tanh(h @ proj.weight.T + proj.bias) @ score.weight.T).squeeze(-1).softmax(0)  # (T_b,)
        assert torch.allclose(pooled[b], (a.unsqueeze(-1) * h).sum(0), atol=1e-6)
    assert torch.all(pool.attention.last_weights[~MASK] == 0)


@pytest.mark.parametrize("kind", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_changes_the_result(kind: str, bidirectional: bool) -> None:
    """Each sequence pooled alone equals it pooled inside a padded batch with random padding"""
    torch.manual_seed(1)
    pool = Pooling(kind, 4, bidirectional=bidirectional)
    lengths = [5, 2, 3]
    batch = torch.randn(3, 7, 4) * 10  # padding positions hold large random values
    mask = torch.arange(7).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    pooled = pool(batch, mask)
    for b, length in enumerate(lengths):
        alone = pool(batch[b : b + 1, :length], torch.ones(1, length, dtype=torch.bool))
        assert torch.allclose(pooled[b], alone[0], atol=1e-6), kind


def test_gradients_do_not_reach_padded_positions() -> None:
    """No pooling lets padding influence training: d(pooled)/d(padded outputs) is zero"""
    for kind in ("last", "mean", "max", "attention"):
        outputs = OUTPUTS.clone().requires_grad_(True)
        Pooling(kind, 2)(outputs, MASK).sum().backward()
        assert torch.all(outputs.grad[~MASK] == 0), kind


def test_unknown_pooling_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="last, mean, max, attention"):
        Pooling("median", 2)
