"""Local and hard attention inside the core's recurrent decoder: the target position t, search, and the REINFORCE loss."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import Tensor, nn

from seqforge.api import beam_search, greedy_search
from seqforge.decoders import RecurrentDecoder  # the decoder is core wiring, not plugin API: tested here through it
from seqforge_attention.attention import LuongGeneralAttention
from seqforge_attention.hard import HardAttention
from seqforge_attention.local import LocalMAttention

V, H, S, D = 11, 8, 9, 1
LENGTHS = [9, 4, 2]


class TanhCell(nn.Module):
    """h_t = tanh(W [x_t; h_{t-1}]): the smallest recurrent cell the decoder accepts."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.linear = nn.Linear(input_size + hidden_size, hidden_size)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.linear(torch.cat([x, state], dim=-1)))  # (B, H)
        return h, h


def decoder(attention, style: str = "luong") -> RecurrentDecoder:
    torch.manual_seed(0)
    return RecurrentDecoder(
        cell=TanhCell, attention=attention, vocab_size=V, embedding_dim=6, hidden_size=H, num_layers=1, dropout=0.0,
        memory_size=H, attention_style=style,
    )


def initial(model: RecurrentDecoder, lengths: list[int] = LENGTHS):
    torch.manual_seed(1)
    memory = torch.randn(len(lengths), S, H)  # (B, S, H)
    mask = torch.arange(S).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, S)
    return model.initial_state([torch.zeros(len(lengths), H)], memory, mask)


def log_prob_step(model: RecurrentDecoder):
    def step(tokens: Tensor, state):
        logits, state, weights = model.step(tokens, state)
        return torch.log_softmax(logits, dim=-1), state, weights

    return step


def assert_in_window(attention: Tensor, length: int) -> None:
    """Row t of a hypothesis' attention (T, S) is non-zero only on [min(t, L-1) - D, min(t, L-1) + D] ∩ real positions."""
    for t, row in enumerate(attention):
        centre = min(t, length - 1)
        allowed = set(range(max(0, centre - D), min(length, centre + D + 1)))
        assert set(row.nonzero().flatten().tolist()) <= allowed and row.sum() > 0.99


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_the_decoder_passes_each_step_index_to_local_m(style: str) -> None:
    """Teacher-forced steps 0..T-1: local-m's weights at step t stay within [t - D, t + D] (clipped to each source)"""
    model = decoder(functools.partial(LocalMAttention, score="general", window=D), style).eval()
    state = initial(model)
    assert state.step.tolist() == [0, 0, 0]
    rows = []
    for t in range(12):
        _, state, weights = model.step(torch.full((3,), t % V), state)
        rows.append(weights)
    attention = torch.stack(rows, dim=1)  # (B, T, S)
    for b, length in enumerate(LENGTHS):
        assert_in_window(attention[b], length)
    assert state.step.tolist() == [12, 12, 12]


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_greedy_and_beam_search_carry_the_target_position_with_every_hypothesis(search: str) -> None:
    """Beams are expanded, reordered and dropped; every hypothesis' attention row t is still local-m's window around t"""
    model = decoder(functools.partial(LocalMAttention, score="dot", window=D)).eval()
    common = {"batch_size": 3, "bos_id": 1, "eos_id": 2, "max_len": 10}
    with torch.no_grad():
        if search == "greedy":
            results = greedy_search(log_prob_step(model), initial(model), **common)
        else:
            results = beam_search(log_prob_step(model), initial(model), beam_size=4, n_best=3, **common)
    for b, hypotheses in enumerate(results):
        assert hypotheses
        for hypothesis in hypotheses:
            assert hypothesis.attention is not None and hypothesis.attention.shape[1] == S
            assert_in_window(hypothesis.attention, LENGTHS[b])


def test_beam_search_with_hard_attention_gives_one_hot_rows_for_heatmaps() -> None:
    """inference=argmax: every attention row of every beam is one-hot on a real source position"""
    model = decoder(functools.partial(HardAttention, score="general")).eval()
    with torch.no_grad():
        results = beam_search(
            log_prob_step(model), initial(model), batch_size=3, beam_size=3, n_best=2, bos_id=1, eos_id=2, max_len=8
        )
    for b, hypotheses in enumerate(results):
        for hypothesis in hypotheses:
            rows = hypothesis.attention  # (T, S)
            assert torch.equal(rows.sum(-1), torch.ones(rows.shape[0]))
            assert set(rows.unique().tolist()) <= {0.0, 1.0}
            assert rows[:, LENGTHS[b]:].sum() == 0


def teacher_forced(model: RecurrentDecoder, targets: Tensor) -> Tensor:
    state = initial(model)
    logits = []
    y = torch.full((3,), 1)
    for t in range(targets.shape[1]):
        step_logits, state, _ = model.step(y, state)
        logits.append(step_logits)
        y = targets[:, t]
    return torch.stack(logits, dim=1)  # (B, T, V)


def test_estimator_loss_trains_hard_attention_by_reinforce_and_is_zero_otherwise() -> None:
    """decoder.estimator_loss: with reinforce, a surrogate whose gradient reaches the attention's scorer; else exactly 0"""
    targets = torch.tensor([[3, 4, 5, 2], [6, 2, 0, 0], [7, 8, 2, 0]])
    real = targets != 0
    model = decoder(functools.partial(HardAttention, score="general", estimator="reinforce")).train()
    logits = teacher_forced(model, targets)
    nll = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=0)
    nll.backward(retain_graph=True)
    assert model.attention.scorer.w_a.weight.grad is None, "sampling alone gives the scorer no gradient"
    surrogate = model.estimator_loss(logits, targets, real)
    surrogate.backward()
    assert model.attention.scorer.w_a.weight.grad.abs().sum() > 0
    reward = (torch.log_softmax(logits.detach(), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1) * real).sum(1)
    assert model.attention.baseline.item() == pytest.approx(reward.mean().item(), rel=1e-6)

    plain = decoder(LuongGeneralAttention).train()
    assert plain.estimator_loss(teacher_forced(plain, targets), targets, real).item() == 0.0
    gumbel = decoder(functools.partial(HardAttention, estimator="gumbel")).train()
    assert gumbel.estimator_loss(teacher_forced(gumbel, targets), targets, real).item() == 0.0
