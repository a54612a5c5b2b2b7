"""task.pooling=structured (Lin et al. 2017): A, M and the ||AA^T - I||_F^2 penalty against float64 hand computations."""

from __future__ import annotations

import torch

from seqforge_labelled.pooling import Pooling
from seqforge_labelled.structured import StructuredSelfAttention, frobenius_penalty


def _module() -> StructuredSelfAttention:
    torch.manual_seed(0)
    return StructuredSelfAttention(3, hops=2, hidden=4).double()


def test_attention_embedding_and_penalty_match_the_formulas() -> None:
    """A = softmax(W_s2 tanh(W_s1 H^T)) over the real steps, M = A H flattened, P = ||AA^T - I||_F^2"""
    module = _module()
    h = torch.randn(2, 4, 3, dtype=torch.float64)
    lengths = [4, 2]
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    out = module(h, mask)
    for row, length in enumerate(lengths):
        H = h[row, :length]  # (T, h)
        scores = module.w_s2.weight @ torch.tanh(module.w_s1.weight @ H.T)  # (r, T)
        A = torch.exp(scores) / torch.exp(scores).sum(dim=1, keepdim=True)  # (r, T)
        assert torch.allclose(module.last_weights[row, :, :length], A, atol=1e-12)
        assert torch.equal(module.last_weights[row, :, length:], torch.zeros(2, 4 - length, dtype=torch.float64))
        assert torch.allclose(out[row], (A @ H).flatten(), atol=1e-12)
        P = sum(((A @ A.T - torch.eye(2, dtype=torch.float64))[i, j]) ** 2 for i in range(2) for j in range(2))
        assert torch.allclose(module.last_penalty[row], P, atol=1e-12)


def test_penalty_is_zero_for_orthogonal_one_hot_hops_and_two_for_identical_ones() -> None:
    distinct = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    same = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    assert frobenius_penalty(distinct).item() == 0.0 and frobenius_penalty(same).item() == 2.0


def test_padding_changes_nothing_and_gradients_check() -> None:
    module = _module()
    h = torch.randn(2, 4, 3, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    noisy = h.clone()
    noisy[~mask] = 50.0
    assert torch.allclose(module(h, mask), module(noisy, mask))
    assert torch.allclose(module.last_penalty, frobenius_penalty(module.last_weights))
    x = h.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: module(t, mask), (x,))
    assert torch.autograd.gradcheck(lambda t: (module(t, mask), module.last_penalty)[1], (x,))


def test_the_pooling_option_widens_the_output_and_exposes_the_penalty() -> None:
    pool = Pooling("structured", 3, hops=5, hidden=4)
    out = pool(torch.randn(2, 4, 3), torch.ones(2, 4, dtype=torch.bool))
    assert pool.output_size == 15 and out.shape == (2, 15) and pool.penalty.shape == (2,)
    assert Pooling("mean", 3).penalty is None and Pooling("mean", 3).output_size == 3
