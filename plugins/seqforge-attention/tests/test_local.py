"""Local attention (Luong et al. 2015 §3.2): windows, p_t, the Gaussian, exact masking, and the decoder's target
position."""

from __future__ import annotations

import math

import pytest
import torch
from attention_reference import randomise, reference_score, softmax_over
from torch import Tensor

from seqforge.api import StepAttention
from seqforge_attention.local import LocalMAttention, LocalPAttention

SCORES = ["dot", "general", "concat", "bahdanau"]
H = 5
LENGTHS = [9, 6, 1, 3]
S = 9


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def mask_of(lengths: list[int], src: int = S) -> Tensor:
    return torch.arange(src).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, S)


def inputs(lengths: list[int] = LENGTHS) -> tuple[Tensor, Tensor, Tensor]:
    query = torch.randn(len(lengths), H, dtype=torch.float64)
    memory = torch.randn(len(lengths), S, H, dtype=torch.float64)
    return query, memory, mask_of(lengths)


def make_m(score: str, window: int = 2) -> LocalMAttention:
    return randomise(
        LocalMAttention(H, H, score=score, window=window, attention_size=4 if score in ("concat", "bahdanau") else None)
    )


def make_p(score: str, window: int = 2, **kwargs) -> LocalPAttention:
    return randomise(
        LocalPAttention(
            H, H, score=score, window=window, attention_size=4 if score in ("concat", "bahdanau") else None, **kwargs
        )
    )


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("t", [0, 3, 7])
def test_local_m_is_the_softmax_over_the_window_around_t_clipped_to_the_source(score: str, t: int) -> None:
    """a_t(s) = softmax of score over real s in [p_t - D, p_t + D], p_t = min(t, S_b - 1); 0 elsewhere (float64
    reference)"""
    attention = make_m(score, window=2)
    query, memory, mask = inputs()
    context, weights = attention(query, memory, mask, step=torch.full((4,), t))
    for b, length in enumerate(LENGTHS):
        centre = min(t, length - 1)
        window = list(range(max(0, centre - 2), min(length, centre + 3)))
        expected = softmax_over({s: reference_score(attention.scorer, score, query[b], memory[b, s]) for s in window})
        row = [expected.get(s, 0.0) for s in range(S)]
        assert torch.allclose(weights[b], torch.tensor(row, dtype=torch.float64), atol=1e-12)
        assert torch.allclose(context[b], sum(expected[s] * memory[b, s] for s in window), atol=1e-12)


def test_local_m_takes_each_rows_own_step_and_an_int() -> None:
    """step may be (B,) (one t per row) or an int for all rows"""
    attention = make_m("general", window=1)
    query, memory, mask = inputs([9, 9, 9, 9])
    _, per_row = attention(query, memory, mask, step=torch.tensor([0, 2, 4, 8]))
    assert [row.nonzero().flatten().tolist() for row in per_row] == [[0, 1], [1, 2, 3], [3, 4, 5], [7, 8]]
    _, shared = attention(query, memory, mask, step=4)
    assert all(row.nonzero().flatten().tolist() == [3, 4, 5] for row in shared)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("normalize", [False, True])
def test_local_p_predicts_p_t_and_multiplies_the_window_softmax_by_a_gaussian(score: str, normalize: bool) -> None:
    """p_t = S·sigmoid(v_p^T tanh(W_p h_t)); a_t(s) = align(s)·exp(-(s-p_t)²/2σ²), σ = D/2, window |s - p_t| <= D"""
    D = 3
    attention = make_p(score, window=D, normalize=normalize)
    query, memory, mask = inputs()
    context, weights = attention(query, memory, mask)
    sigma = D / 2
    for b, length in enumerate(LENGTHS):
        w_p, v_p = attention.w_p.weight, attention.v_p.weight.squeeze(0)
        p_t = length / (1 + math.exp(-float((v_p @ torch.tanh(w_p @ query[b])).detach())))
        assert attention.centre(query[b : b + 1], mask[b : b + 1]).item() == pytest.approx(p_t, abs=1e-12)
        window = [s for s in range(length) if abs(s - p_t) <= D]
        assert window, "D >= 1 keeps a real position in the window"
        align = softmax_over({s: reference_score(attention.scorer, score, query[b], memory[b, s]) for s in window})
        expected = {s: align[s] * math.exp(-((s - p_t) ** 2) / (2 * sigma**2)) for s in window}
        if normalize:
            total = sum(expected.values())
            expected = {s: v / total for s, v in expected.items()}
        row = torch.tensor([expected.get(s, 0.0) for s in range(S)], dtype=torch.float64)
        assert torch.allclose(weights[b], row, atol=1e-12)
        assert torch.allclose(context[b], sum(expected[s] * memory[b, s] for s in window), atol=1e-12)
    sums = weights.sum(-1)
    assert (
        torch.allclose(sums, torch.ones(4, dtype=torch.float64))
        if normalize
        else bool((sums <= 1 + 1e-12).all() and (sums > 0).all())
    )


@pytest.mark.parametrize("kind", ["m", "p"])
def test_padding_and_positions_outside_the_window_get_exactly_zero_and_are_inert(kind: str) -> None:
    """Weights are exactly 0 off the window and on padding; changing that memory changes neither context nor gradient"""
    attention = make_m("bahdanau", window=1) if kind == "m" else make_p("bahdanau", window=1)
    query, memory, mask = inputs()
    memory.requires_grad_()
    call = (
        (lambda m: attention(query, m, mask, step=torch.tensor([4, 4, 4, 4])))
        if kind == "m"
        else (lambda m: attention(query, m, mask))
    )
    context, weights = call(memory)
    off = weights == 0
    assert off[~mask].all()
    assert (off.sum(-1) >= S - 3).all(), "at most 2D + 1 = 3 positions are attended"
    noisy = memory.detach().clone()
    noisy[off] = 1e3 * torch.randn_like(noisy[off])
    assert torch.equal(call(noisy)[0], context)
    context.sum().backward()
    assert (memory.grad[off] == 0).all() and memory.grad[~off].abs().sum() > 0


def test_local_m_and_local_p_gradcheck() -> None:
    """Analytic gradients match finite differences (query, memory; and W_p, v_p through the Gaussian)"""
    query, memory, mask = inputs([5, 3])
    local_m = make_m("concat", window=1)
    assert torch.autograd.gradcheck(
        lambda q, m: local_m(q, m, mask, step=torch.tensor([2, 2])), (query.requires_grad_(), memory.requires_grad_())
    )
    local_p = make_p("general", window=2)
    assert torch.autograd.gradcheck(lambda q, m: local_p(q, m, mask), (query, memory))

    def through_predictor(w_p: Tensor, v_p: Tensor) -> tuple[Tensor, Tensor]:
        params = {"w_p.weight": w_p, "v_p.weight": v_p}
        return torch.func.functional_call(local_p, params, (query.detach(), memory.detach(), mask))

    w_p = local_p.w_p.weight.detach().clone().requires_grad_()
    v_p = local_p.v_p.weight.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(through_predictor, (w_p, v_p))


def test_window_sizes_are_validated_naming_the_key() -> None:
    """local_m needs D >= 0, local_p D >= 1; a field of another score is refused, naming model.attention.<key>"""
    with pytest.raises(ValueError, match=r"model\.attention\.window"):
        LocalMAttention(4, 4, window=-1)
    with pytest.raises(ValueError, match=r"model\.attention\.window"):
        LocalPAttention(4, 4, window=0)
    with pytest.raises(ValueError, match=r"model\.attention\.score"):
        LocalMAttention(4, 4, score="cosine")
    with pytest.raises(ValueError, match="attention_size"):
        LocalPAttention(4, 4, score="general", attention_size=3)
    assert LocalMAttention(4, 4, window=0)(torch.randn(1, 4), torch.randn(1, 3, 4), mask_of([3], 3), step=1)[
        1
    ].tolist() == [[0.0, 1.0, 0.0]]


def test_only_local_m_declares_it_needs_the_step() -> None:
    """local-m is a StepAttention (the decoder passes t); local-p predicts its own position"""
    assert isinstance(LocalMAttention(4, 4), StepAttention)
    assert not isinstance(LocalPAttention(4, 4), StepAttention)


# -- the contract suite ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["local_m", "local_p"])
@pytest.mark.parametrize("score", SCORES)
def test_local_attentions_keep_every_attention_contract(name: str, score: str) -> None:
    """seqforge.testing.check_attention for each score function (equal and, where projectable, different sizes)"""
    from seqforge.testing import check_attention

    check_attention(name, {"score": score, "window": 1})
    check_attention(name, {"score": score, "window": 2, **({"normalize": True} if name == "local_p" else {})})
    if score != "dot":
        check_attention(name, {"score": score}, query_size=5, memory_size=9)
