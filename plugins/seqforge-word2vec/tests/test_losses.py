"""The reference losses against hand computations, their gradients, and the compiled kernel against one autograd SGD
step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqforge_word2vec import kernels
from seqforge_word2vec.losses import nce_loss, negative_sampling_loss, softmax_loss


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


H = torch.tensor([[1.0, 2.0]], dtype=torch.float64)  # (1, D)
U_TRUE = torch.tensor([[0.5, -0.25]], dtype=torch.float64)  # score 0.0
U_NOISE = torch.tensor([[[1.0, 0.0], [0.0, -1.0]]], dtype=torch.float64)  # scores 1.0, -2.0


def test_negative_sampling_loss_matches_hand_computation() -> None:
    """-log σ(u_o·h) - Σ log σ(-u_j·h) with scores 0, 1, -2"""
    expected = -math.log(sig(0.0)) - math.log(sig(-1.0)) - math.log(sig(2.0))
    assert negative_sampling_loss(H, U_TRUE, U_NOISE).item() == pytest.approx(expected, rel=1e-12)


def test_nce_loss_subtracts_log_k_q_from_every_score() -> None:
    """P(true|w) = σ(s_w - log(k q(w))): k=2, q = (0.5, 0.25, 0.125) for the true and the two noise words"""
    k = 2
    q_true, q_noise = 0.5, [0.25, 0.125]
    log_kq_true = torch.tensor([math.log(k * q_true)], dtype=torch.float64)
    log_kq_noise = torch.tensor([[math.log(k * q) for q in q_noise]], dtype=torch.float64)
    p_true = math.exp(0.0) / (math.exp(0.0) + k * q_true)
    p_noise = [math.exp(s) / (math.exp(s) + k * q) for s, q in zip((1.0, -2.0), q_noise)]
    expected = -math.log(p_true) - sum(math.log(1 - p) for p in p_noise)
    assert nce_loss(H, U_TRUE, U_NOISE, log_kq_true, log_kq_noise).item() == pytest.approx(expected, rel=1e-12)
    # with log(k q) = 0 it is exactly negative sampling
    zero = torch.zeros(1, dtype=torch.float64)
    assert torch.allclose(
        nce_loss(H, U_TRUE, U_NOISE, zero, torch.zeros(1, 2, dtype=torch.float64)),
        negative_sampling_loss(H, U_TRUE, U_NOISE),
    )


def test_softmax_loss_matches_hand_computation() -> None:
    """-log softmax over all V output vectors"""
    w_out = torch.tensor([[0.5, -0.25], [1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)  # scores 0, 1, -2
    expected = -(0.0 - math.log(math.exp(0.0) + math.exp(1.0) + math.exp(-2.0)))
    assert softmax_loss(H, w_out, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("loss", ["negative_sampling", "nce"])
def test_gradcheck(loss: str) -> None:
    """Analytic gradients of negative sampling and NCE equal finite differences (float64)"""
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    u_true = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    u_noise = torch.randn(3, 5, 4, dtype=torch.float64, generator=g, requires_grad=True)
    if loss == "nce":
        lt, ln = torch.randn(3, dtype=torch.float64, generator=g), torch.randn(3, 5, dtype=torch.float64, generator=g)
        fn = lambda a, b, c: nce_loss(a, b, c, lt, ln)  # noqa: E731
    else:
        fn = negative_sampling_loss
    assert torch.autograd.gradcheck(fn, (h, u_true, u_noise))


def _torch_sgd_step(w_in, w_out, centers, targets, noise, lr, log_kq=None):
    """One SGD step of the summed reference loss over the pairs (float64)."""
    w_in = torch.tensor(w_in, dtype=torch.float64, requires_grad=True)
    w_out = torch.tensor(w_out, dtype=torch.float64, requires_grad=True)
    c, t, n = (torch.as_tensor(a, dtype=torch.long) for a in (centers, targets, noise))
    h, u_true, u_noise = w_in[c], w_out[t], w_out[n]
    if log_kq is None:
        loss = negative_sampling_loss(h, u_true, u_noise).sum()
    else:
        lk = torch.tensor(log_kq, dtype=torch.float64)
        loss = nce_loss(h, u_true, u_noise, lk[t], lk[n]).sum()
    loss.backward()
    return (w_in - lr * w_in.grad).detach().numpy(), (w_out - lr * w_out.grad).detach().numpy(), loss.item()


@pytest.mark.parametrize("use_nce", [False, True])
def test_kernel_update_equals_one_sgd_step_of_the_reference(use_nce: bool) -> None:
    """The compiled pair update is exactly SGD on the autograd loss (pairs touching disjoint rows)"""
    rng = np.random.default_rng(0)
    V, D = 12, 6
    w_in = rng.normal(0, 0.5, (V, D)).astype(np.float32)
    w_out = rng.normal(0, 0.5, (V, D)).astype(np.float32)
    centers, targets = np.array([0, 1], dtype=np.int64), np.array([2, 3], dtype=np.int64)
    noise = np.array([[4, 5, 6], [7, 8, 9]], dtype=np.int64)
    log_kq = rng.normal(0, 1, V).astype(np.float32)
    lr = 0.1
    expected_in, expected_out, expected_loss = _torch_sgd_step(
        w_in, w_out, centers, targets, noise, lr, log_kq if use_nce else None
    )
    a, b = w_in.copy(), w_out.copy()
    loss = kernels.train_pairs_explicit(a, b, centers, targets, noise, log_kq, use_nce, lr)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(a, expected_in, atol=1e-6)
    np.testing.assert_allclose(b, expected_out, atol=1e-6)
    assert not np.allclose(a, w_in)  # something was trained


def _reference_sentence(w_in, w_out, sentence, noise_word, lr, cbow, cbow_mean, log_kq):
    """word2vec over one sentence with window 1 and one fixed noise word, as sequential autograd SGD steps."""
    w_in, w_out = torch.tensor(w_in, dtype=torch.float64), torch.tensor(w_out, dtype=torch.float64)
    for pos in range(len(sentence)):
        context = [sentence[c] for c in (pos - 1, pos + 1) if 0 <= c < len(sentence)]
        examples = [(context, sentence[pos])] if cbow else [([sentence[pos]], c) for c in context]
        for inputs, target in examples:
            rows = w_in[inputs].clone().requires_grad_(True)
            out = w_out.clone().requires_grad_(True)
            h = rows.mean(0) if (cbow and cbow_mean) else rows.sum(0)
            u_true, u_noise = out[target][None], out[[noise_word]][None]
            if log_kq is None:
                loss = negative_sampling_loss(h[None], u_true, u_noise).sum()
            else:
                lk = torch.tensor(log_kq, dtype=torch.float64)
                loss = nce_loss(
                    h[None], u_true, u_noise, lk[torch.tensor([target])], lk[torch.tensor([[noise_word]])]
                ).sum()
            (grad_h,) = torch.autograd.grad(loss, h, retain_graph=True)
            (grad_out,) = torch.autograd.grad(loss, out)
            # every input row receives the step of h (word2vec.c's CBOW rule; exact for skip-gram and CBOW-sum)
            w_in[inputs] -= lr * grad_h
            w_out -= lr * grad_out
    return w_in.numpy(), w_out.numpy()


@pytest.mark.parametrize("cbow,cbow_mean", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("use_nce", [False, True])
def test_sentence_kernel_equals_sequential_reference_steps(cbow: bool, cbow_mean: bool, use_nce: bool) -> None:
    """train_sentences on a tiny deterministic case (no sub-sampling, window 1, one certain noise word) == autograd SGD"""
    rng = np.random.default_rng(1)
    V, D = 6, 5
    w_in = rng.normal(0, 0.5, (V, D)).astype(np.float32)
    w_out = rng.normal(0, 0.5, (V, D)).astype(np.float32)
    sentence = [0, 1, 2, 3]
    noise_word = 5
    q = np.zeros(V)
    q[noise_word] = 1.0  # the noise distribution puts all its mass on one word
    log_kq = rng.normal(0, 1, V).astype(np.float32)
    lr = 0.05
    a, b = w_in.copy(), w_out.copy()
    kernels.train_sentences(
        a,
        b,
        np.array(sentence, dtype=np.int32),
        np.array([0, 4], dtype=np.int64),
        np.ones(V, dtype=np.float32),
        *kernels.alias_table(q),
        log_kq,
        use_nce,
        cbow,
        cbow_mean,
        1,
        1,
        lr,
        7,
    )
    expected_in, expected_out = _reference_sentence(
        w_in, w_out, sentence, noise_word, lr, cbow, cbow_mean, log_kq if use_nce else None
    )
    np.testing.assert_allclose(a, expected_in, atol=2e-6)
    np.testing.assert_allclose(b, expected_out, atol=2e-6)
