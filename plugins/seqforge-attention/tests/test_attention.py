"""The attentions compute their papers' scores from their own parameters, and mask exactly."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn
from torch.func import functional_call

from seqforge.api import Attention
from seqforge_attention.attention import (
    BahdanauAttention,
    LuongConcatAttention,
    LuongDotAttention,
    LuongGeneralAttention,
    masked_softmax,
)

B, S, HQ, HM, A = 3, 4, 5, 6, 7
LENGTHS = [4, 2, 1]  # real positions per row: full, padded, one left

ATTENTIONS: dict[str, Callable[[], nn.Module]] = {
    "luong_dot": lambda: LuongDotAttention(HQ, HQ),
    "luong_dot-scaled": lambda: LuongDotAttention(HQ, HQ, scale=True),
    "luong_general": lambda: LuongGeneralAttention(HQ, HM),
    "luong_concat": lambda: LuongConcatAttention(HQ, HM, attention_size=A),
    "bahdanau": lambda: BahdanauAttention(HQ, HM, attention_size=A),
}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def make(name: str) -> nn.Module:
    """The attention in float64, with non-zero biases (a zero bias would hide a missing one)."""
    attention = ATTENTIONS[name]().double()
    with torch.no_grad():
        for parameter in attention.parameters():
            parameter.normal_()
    return attention


def mask_of(lengths: list[int], src: int) -> Tensor:
    return torch.arange(src).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, S)


def inputs(attention: nn.Module, lengths: list[int] = LENGTHS, src: int = S) -> tuple[Tensor, Tensor, Tensor]:
    """``query (B, Hq)``, ``memory (B, S, Hm)``, ``mask (B, S)`` in float64."""
    batch = len(lengths)
    query = torch.randn(batch, attention.query_size, dtype=torch.float64)
    memory = torch.randn(batch, src, attention.memory_size, dtype=torch.float64)
    return query, memory, mask_of(lengths, src)


def scores_of(attention: nn.Module, query: Tensor, memory: Tensor) -> Tensor:
    return attention.score(query, attention.project_memory(memory))


# --- each score equals its formula, computed position by position --------------------------------


@pytest.mark.parametrize("scale", [False, True])
def test_luong_dot_score_is_h_t_dot_h_s(scale) -> None:
    """luong_dot: score = h_t^T h_s, divided by sqrt(H) when scaled"""
    attention = LuongDotAttention(HQ, HQ, scale=scale)
    query, memory, _ = inputs(attention)
    expected = torch.empty(B, S, dtype=torch.float64)
    for b in range(B):
        for s in range(S):
            expected[b, s] = torch.dot(query[b], memory[b, s]) / (math.sqrt(HQ) if scale else 1.0)
    torch.testing.assert_close(scores_of(attention, query, memory), expected, rtol=0, atol=1e-12)


def test_luong_general_score_is_h_t_W_a_h_s() -> None:
    """luong_general: score = h_t^T W_a h_s"""
    attention = make("luong_general")
    query, memory, _ = inputs(attention)
    W_a = attention.w_a.weight  # (Hq, Hm)
    expected = torch.empty(B, S, dtype=torch.float64)
    for b in range(B):
        for s in range(S):
            expected[b, s] = query[b] @ W_a @ memory[b, s]
    torch.testing.assert_close(scores_of(attention, query, memory), expected, rtol=0, atol=1e-12)


def test_luong_concat_score_is_v_a_tanh_W_a_of_concatenation() -> None:
    """luong_concat: score = v_a^T tanh(W_a [h_t; h_s]) with the unsplit W_a = [W_q W_m]"""
    attention = make("luong_concat")
    query, memory, _ = inputs(attention)
    W_a = torch.cat([attention.w_q.weight, attention.w_m.weight], dim=1)  # (A, Hq + Hm)
    v_a = attention.v_a.weight[0]  # (A,)
    expected = torch.empty(B, S, dtype=torch.float64)
    for b in range(B):
        for s in range(S):
            expected[b, s] = v_a @ torch.tanh(W_a @ torch.cat([query[b], memory[b, s]]))
    torch.testing.assert_close(scores_of(attention, query, memory), expected, rtol=0, atol=1e-12)


def test_bahdanau_score_is_v_a_tanh_W_q_h_t_plus_W_m_h_s_plus_b() -> None:
    """bahdanau: score = v_a^T tanh(W_q h_t + W_m h_s + b)"""
    attention = make("bahdanau")
    query, memory, _ = inputs(attention)
    W_q, W_m, b_a = attention.w_q.weight, attention.w_m.weight, attention.w_m.bias
    v_a = attention.v_a.weight[0]  # (A,)
    expected = torch.empty(B, S, dtype=torch.float64)
    for b in range(B):
        for s in range(S):
            expected[b, s] = v_a @ torch.tanh(W_q @ query[b] + W_m @ memory[b, s] + b_a)
    torch.testing.assert_close(scores_of(attention, query, memory), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["luong_concat", "bahdanau"])
def test_attention_size_defaults_to_query_size(name) -> None:
    """attention_size=None makes W_q, W_m and v_a as wide as the query"""
    cls = {"luong_concat": LuongConcatAttention, "bahdanau": BahdanauAttention}[name]
    attention = cls(HQ, HM)
    assert attention.attention_size == HQ
    assert attention.w_q.weight.shape == (HQ, HQ)
    assert attention.w_m.weight.shape == (HQ, HM)
    assert attention.v_a.weight.shape == (1, HQ)


def test_luong_concat_has_no_bias_and_bahdanau_has_one() -> None:
    """Luong's concat has no bias; Bahdanau's b sits in the memory projection (precomputed with the keys)"""
    concat, bahdanau = make("luong_concat"), make("bahdanau")
    assert all(module.bias is None for module in (concat.w_q, concat.w_m, concat.v_a))
    assert bahdanau.w_m.bias is not None and bahdanau.w_m.bias.shape == (A,)
    assert bahdanau.w_q.bias is None and bahdanau.v_a.bias is None


# --- forward: masked softmax of the scores, weighted sum of the memory -------------------------


@pytest.mark.parametrize("name", ATTENTIONS)
def test_weights_are_softmax_of_scores_over_real_positions(name) -> None:
    """weights[b, s] = exp(score_s) / sum over real s' of exp(score_s'), and 0 at padding"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    scores = scores_of(attention, query, memory)
    expected = torch.zeros(B, S, dtype=torch.float64)
    for b, length in enumerate(LENGTHS):
        total = sum(torch.exp(scores[b, s]) for s in range(length))
        for s in range(length):
            expected[b, s] = torch.exp(scores[b, s]) / total
    _, weights = attention(query, memory, mask)
    torch.testing.assert_close(weights, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_weights_sum_to_one_over_real_positions_and_are_exactly_zero_at_padding(name) -> None:
    """Padded positions get weight exactly 0.0; each row's real weights sum to 1"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    _, weights = attention(query, memory, mask)
    assert (weights[~mask] == 0).all()
    assert (weights[mask] > 0).all()
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(B, dtype=torch.float64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_context_is_weights_times_memory(name) -> None:
    """context[b] = sum_s weights[b, s] * memory[b, s]"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    context, weights = attention(query, memory, mask)
    expected = torch.zeros(B, memory.shape[-1], dtype=torch.float64)
    for b in range(B):
        for s in range(S):
            expected[b] += weights[b, s] * memory[b, s]
    torch.testing.assert_close(context, expected, rtol=0, atol=1e-12)


def _outputs_and_gradients(attention: nn.Module, query: Tensor, memory: Tensor, mask: Tensor) -> list[Tensor]:
    query = query.clone().requires_grad_()
    memory = memory.clone().requires_grad_()
    attention.zero_grad(set_to_none=True)
    context, weights = attention(query, memory, mask)
    (context.pow(2).sum() + weights.mul(torch.arange(1.0, S + 1, dtype=torch.float64)).sum()).backward()
    return [context, weights, query.grad, memory.grad[mask]] + [p.grad for p in attention.parameters()]


@pytest.mark.parametrize("name", ATTENTIONS)
def test_memory_at_padded_positions_changes_nothing(name) -> None:
    """Rewriting memory at padded positions leaves outputs and all gradients bit-for-bit unchanged"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    before = _outputs_and_gradients(attention, query, memory, mask)
    rewritten = memory.masked_fill(~mask.unsqueeze(-1), 1e3) + 0  # (B, S, Hm): large values at padding
    after = _outputs_and_gradients(attention, query, rewritten, mask)
    for x, y in zip(before, after):
        assert torch.equal(x, y)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_gradient_of_memory_at_padded_positions_is_zero(name) -> None:
    """No gradient flows into padded memory"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    memory.requires_grad_()
    context, weights = attention(query, memory, mask)
    (context.sum() + weights.pow(2).sum()).backward()
    assert (memory.grad[~mask] == 0).all()
    assert (memory.grad[mask] != 0).any()


@pytest.mark.parametrize("name", ATTENTIONS)
def test_all_padded_row_gives_zero_weights_and_context_and_no_nan(name) -> None:
    """A row without real positions attends to nothing: zeros, not NaN, in outputs and gradients"""
    attention = make(name)
    query, memory, mask = inputs(attention, lengths=[3, 0])
    query.requires_grad_()
    memory.requires_grad_()
    context, weights = attention(query, memory, mask)
    assert (weights[1] == 0).all() and (context[1] == 0).all()
    torch.testing.assert_close(weights[0].sum(), torch.tensor(1.0, dtype=torch.float64))
    (context.sum() + weights.pow(2).sum()).backward()
    gradients = [query.grad, memory.grad] + [p.grad for p in attention.parameters()]
    assert all(torch.isfinite(g).all() for g in gradients)
    assert (query.grad[1] == 0).all() and (memory.grad[1] == 0).all()


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
def test_all_padded_row_makes_no_intermediate_nan() -> None:
    """No NaN even transiently: backward through an all-padded row passes autograd's anomaly detection"""
    scores = torch.randn(2, S, dtype=torch.float64, requires_grad=True)
    mask = mask_of([2, 0], S)
    with torch.autograd.detect_anomaly(check_nan=True):
        weights = masked_softmax(scores, mask)
        weights.pow(2).sum().backward()
    assert (weights[1] == 0).all() and (scores.grad[1] == 0).all()


def test_masked_softmax_is_plain_softmax_without_padding() -> None:
    """With every position real, masked_softmax is torch.softmax"""
    scores = torch.randn(B, S, dtype=torch.float64)
    mask = torch.ones(B, S, dtype=torch.bool)
    torch.testing.assert_close(masked_softmax(scores, mask), torch.softmax(scores, dim=-1), rtol=0, atol=0)


# --- precomputed keys ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ATTENTIONS)
def test_keys_from_project_memory_give_the_same_result(name) -> None:
    """forward(..., keys=project_memory(memory)) equals forward(..., keys=None)"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    keys = attention.project_memory(memory)
    for x, y in zip(attention(query, memory, mask, keys=keys), attention(query, memory, mask)):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.mark.parametrize(
    "name, width", [("luong_dot", HQ), ("luong_general", HQ), ("luong_concat", A), ("bahdanau", A)]
)
def test_project_memory_shape(name, width) -> None:
    """Keys are (B, S, K): K = Hm for dot, Hq for general, A for concat and Bahdanau"""
    attention = make(name)
    _, memory, _ = inputs(attention)
    assert attention.project_memory(memory).shape == (B, S, width)


def test_luong_dot_keys_are_the_memory_itself() -> None:
    """luong_dot precomputes nothing: its keys are the memory tensor"""
    attention = make("luong_dot")
    _, memory, _ = inputs(attention)
    assert attention.project_memory(memory) is memory


SMALL: dict[str, Callable[[], nn.Module]] = {
    "luong_dot": lambda: LuongDotAttention(2, 2),
    "luong_dot-scaled": lambda: LuongDotAttention(2, 2, scale=True),
    "luong_general": lambda: LuongGeneralAttention(2, 3),
    "luong_concat": lambda: LuongConcatAttention(2, 3, attention_size=2),
    "bahdanau": lambda: BahdanauAttention(2, 3, attention_size=2),
}


# --- gradients -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ATTENTIONS)
def test_passes_gradcheck_with_mask(name) -> None:
    """gradcheck over query, memory and every parameter, with padding and an all-padded row"""
    attention = SMALL[name]().double()  # full-mode gradcheck costs one forward per input element: keep it tiny
    query, memory, mask = inputs(attention, lengths=[3, 0, 1], src=3)
    names = [n for n, _ in attention.named_parameters()]
    parameters = tuple(p.detach().clone().requires_grad_() for p in attention.parameters())

    def run(query: Tensor, memory: Tensor, *params: Tensor) -> tuple[Tensor, Tensor]:
        return functional_call(attention, dict(zip(names, params)), (query, memory, mask))

    assert torch.autograd.gradcheck(run, (query.requires_grad_(), memory.requires_grad_(), *parameters))


# --- shapes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ATTENTIONS)
@pytest.mark.parametrize("lengths, src", [([1], 1), ([3], 5), ([1, 1, 1], 1), ([5, 2, 3], 5)])
def test_output_shapes(name, lengths, src) -> None:
    """context (B, Hm) and weights (B, S) for B = 1 or more and S = 1 or more"""
    attention = make(name)
    query, memory, mask = inputs(attention, lengths=lengths, src=src)
    context, weights = attention(query, memory, mask)
    assert context.shape == (len(lengths), attention.memory_size)
    assert weights.shape == (len(lengths), src)
    assert context.dtype == weights.dtype == torch.float64


@pytest.mark.parametrize("name", ATTENTIONS)
def test_single_source_position_gets_all_the_weight(name) -> None:
    """S = 1: the weight is 1 and the context is that position's memory"""
    attention = make(name)
    query, memory, mask = inputs(attention, lengths=[1, 1], src=1)
    context, weights = attention(query, memory, mask)
    assert (weights == 1).all()
    torch.testing.assert_close(context, memory[:, 0], rtol=0, atol=0)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_rows_are_independent(name) -> None:
    """Each batch row's result does not depend on the other rows"""
    attention = make(name)
    query, memory, mask = inputs(attention)
    context, weights = attention(query, memory, mask)
    for b in range(B):
        one_context, one_weights = attention(query[b : b + 1], memory[b : b + 1], mask[b : b + 1])
        torch.testing.assert_close(one_context[0], context[b], rtol=0, atol=1e-12)
        torch.testing.assert_close(one_weights[0], weights[b], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_is_an_attention(name) -> None:
    """Every module satisfies seqforge's Attention protocol"""
    assert isinstance(make(name), Attention)


# --- construction --------------------------------------------------------------------------------


def test_luong_dot_with_mismatched_sizes_raises_value_error_naming_them() -> None:
    """luong_dot needs query_size == memory_size; the error names both sizes and model.hidden_size"""
    with pytest.raises(ValueError) as info:
        LuongDotAttention(query_size=8, memory_size=16)
    message = str(info.value)
    assert "query_size=8" in message and "memory_size=16" in message
    assert "model.hidden_size" in message
    assert "luong_general" in message  # points at an attention that works


@pytest.mark.parametrize("cls", [LuongConcatAttention, BahdanauAttention])
@pytest.mark.parametrize("size", [0, -3])
def test_non_positive_attention_size_raises_value_error(cls, size) -> None:
    """attention_size must be positive; the error names model.attention.attention_size"""
    with pytest.raises(ValueError, match=r"model\.attention\.attention_size"):
        cls(HQ, HM, attention_size=size)


@pytest.mark.parametrize("cls", [LuongDotAttention, LuongGeneralAttention, LuongConcatAttention, BahdanauAttention])
def test_non_positive_sizes_raise_value_error(cls) -> None:
    """A zero query or memory size is refused at construction"""
    with pytest.raises(ValueError, match="query_size"):
        cls(0, 0)
    with pytest.raises(ValueError, match="memory_size"):
        cls(HQ, 0)


@pytest.mark.parametrize("name", ATTENTIONS)
def test_state_dict_round_trips_into_a_fresh_module(name) -> None:
    """Loading one module's state_dict into a fresh one gives identical outputs"""
    attention = make(name)
    fresh = ATTENTIONS[name]().double()
    fresh.load_state_dict(attention.state_dict())
    query, memory, mask = inputs(attention)
    for x, y in zip(attention(query, memory, mask), fresh(query, memory, mask)):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
