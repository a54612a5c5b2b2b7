"""Greedy, beam and sampling search over toy step functions (Markov chains with hand-made tables)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor

from seqforge.search import (
    Hypothesis,
    beam_search,
    expand_state,
    greedy_search,
    penalised_score,
    sample_search,
    select_state_rows,
)

BOS, EOS = 0, 1
V = 8  # vocabulary: BOS, EOS, and tokens 2..7
RARE = 1e-4  # probability mass given to every transition a table does not mention


def table(rows: dict[int, dict[int, float]]) -> Tensor:
    """A ``(V, V)`` logit table: ``rows[prev][next] = p``; unmentioned transitions get probability ~RARE."""
    logits = torch.full((V, V), math.log(RARE))
    for prev, nexts in rows.items():
        for nxt, p in nexts.items():
            logits[prev, nxt] = math.log(p)
    return logits


@dataclass
class ToyState:
    """A state with more than one leaf: the token fed one step earlier and a per-sentence bias."""

    prev: Tensor  # (N,) long
    bias: Tensor  # (N, V)


class ToyModel:
    """``log_probs = log_softmax(first[token] + second[previous token] + bias)``.

    With ``second`` set, the distribution depends on the state, so a search that
    reorders the state wrongly gets log-probs that disagree with :meth:`log_prob`.
    The fake attention ``(N, S = V)`` is a one-hot of the input token, read back
    from the new state, so row ``i`` of a hypothesis' attention names its input at step ``i``.
    """

    def __init__(self, first: Tensor, second: Tensor | None = None) -> None:
        self.first = first
        self.second = second if second is not None else torch.zeros(V, V)
        self.calls: list[int] = []  # rows per step call

    def initial_state(self, bias: Tensor) -> ToyState:
        return ToyState(prev=torch.full((bias.shape[0],), BOS), bias=bias)

    def step(self, tokens: Tensor, state: ToyState) -> tuple[Tensor, ToyState, Tensor]:
        self.calls.append(tokens.shape[0])
        logits = self.first[tokens] + self.second[state.prev] + state.bias  # (N, V)
        new_state = ToyState(prev=tokens, bias=state.bias)
        attention = torch.nn.functional.one_hot(new_state.prev, V).float()  # (N, V)
        return logits.log_softmax(dim=-1), new_state, attention

    def log_prob(self, tokens: list[int], bias: Tensor, *, finished: bool = True) -> float:
        """The sum of the model's log-probs along ``tokens`` (+ EOS if ``finished``), one step at a time."""
        seq = [*tokens, EOS] if finished else tokens
        inputs, prevs = [BOS, *seq[:-1]], [BOS, BOS, *seq[:-2]]
        total = 0.0
        for inp, prev, nxt in zip(inputs, prevs, seq):
            logits = self.first[inp] + self.second[prev] + bias  # (V,)
            total += float(logits.log_softmax(dim=-1)[nxt])
        return total


def run(search, model: ToyModel, bias: Tensor, **kw) -> list[list[Hypothesis]]:
    return search(model.step, model.initial_state(bias), batch_size=bias.shape[0], bos_id=BOS, eos_id=EOS, **kw)


def one(search, model: ToyModel, **kw) -> list[Hypothesis]:
    """Decode a single sentence with zero bias."""
    return run(search, model, torch.zeros(1, V), **kw)[0]


def random_model(seed: int, *, second_order: bool = True) -> ToyModel:
    g = torch.Generator().manual_seed(seed)
    first = torch.randn(V, V, generator=g) * 2
    second = torch.randn(V, V, generator=g) if second_order else None
    return ToyModel(first, second)


def random_bias(seed: int, batch: int) -> Tensor:
    return torch.randn(batch, V, generator=torch.Generator().manual_seed(1000 + seed))


# A chain: BOS -> 2 -> 3 -> 4 -> EOS, each transition the clear argmax.
CHAIN = table({BOS: {2: 0.7, 3: 0.2}, 2: {3: 0.6, 5: 0.3}, 3: {4: 0.8, EOS: 0.1}, 4: {EOS: 0.9, 2: 0.05}})
# Garden path: greedy takes 2 (0.55) but every continuation of 2 is weak; 3 (0.45) ends almost surely.
GARDEN = table(
    {
        BOS: {2: 0.55, 3: 0.45},
        2: {4: 0.35, 5: 0.33, 6: 0.32},
        3: {EOS: 0.97},
        4: {EOS: 0.97},
        5: {EOS: 0.97},
        6: {EOS: 0.97},
    }
)
# Length: EOS right away (0.6) against 2 -> 3 -> EOS (0.4 * 0.9 * 0.9): raw prefers short, averages prefer long.
SHORT_LONG = table({BOS: {EOS: 0.6, 2: 0.4}, 2: {3: 0.9, 4: 0.05}, 3: {EOS: 0.9, 4: 0.05}})
# Never ends: 2 -> 3 -> 2 -> 3 ...
LOOP = table({BOS: {2: 0.9}, 2: {3: 0.9, 4: 0.05}, 3: {2: 0.9, 5: 0.05}, 4: {5: 0.9}, 5: {6: 0.9}, 6: {EOS: 0.9}})
# A two-token cycle with weak exits and no EOS: only blocking breaks (2, 3, 2, 3, ...).
CYCLE = table({BOS: {2: 0.9}, 2: {3: 0.9, 4: 0.05}, 3: {2: 0.9, 5: 0.05}, 4: {5: 0.9, 6: 0.05}, 5: {4: 0.9, 7: 0.05}})
# EOS is the most likely first token.
EAGER_EOS = table({BOS: {EOS: 0.8, 2: 0.15}, 2: {3: 0.8}, 3: {EOS: 0.9}, 4: {EOS: 0.9}})


# -- state helpers ---------------------------------------------------------------------------


def test_expand_state_repeats_each_sentence_consecutively() -> None:
    """expand_state turns (B, *) leaves into (B*k, *) with row b*k+j = sentence b, in every nested leaf."""
    state = (
        torch.tensor([[1.0], [2.0]]),
        [torch.tensor([10, 20])],
        ToyState(prev=torch.tensor([3, 4]), bias=torch.zeros(2, V)),
        7,
    )
    out = expand_state(state, 3)
    assert out[0].flatten().tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert out[1][0].tolist() == [10, 10, 10, 20, 20, 20]
    assert out[2].prev.tolist() == [3, 3, 3, 4, 4, 4] and out[2].bias.shape == (6, V)
    assert out[3] == 7


def test_select_state_rows_reorders_and_duplicates_rows() -> None:
    """select_state_rows picks rows of every leaf, allowing repeats and dropping others."""
    state = {"not": "allowed"}
    with pytest.raises(TypeError):
        select_state_rows(state, torch.tensor([0]))
    state = (torch.tensor([5, 6, 7]), ToyState(prev=torch.tensor([0, 1, 2]), bias=torch.arange(3.0).unsqueeze(1)))
    out = select_state_rows(state, torch.tensor([2, 2, 0]))
    assert out[0].tolist() == [7, 7, 5]
    assert out[1].prev.tolist() == [2, 2, 0] and out[1].bias.flatten().tolist() == [2.0, 2.0, 0.0]


# -- greedy ----------------------------------------------------------------------------------


def test_greedy_follows_the_argmax_chain() -> None:
    """Greedy emits the argmax at each step and stops at EOS, with the chain's total log-prob."""
    model = ToyModel(CHAIN)
    [hyp] = one(greedy_search, model, max_len=10)
    assert hyp.tokens == [2, 3, 4] and hyp.finished
    assert hyp.log_prob == pytest.approx(model.log_prob([2, 3, 4], torch.zeros(V)), abs=1e-5)
    assert hyp.score == hyp.log_prob


def test_greedy_stops_early_when_every_sentence_has_ended() -> None:
    """Greedy makes no step calls after the last sentence ends, and finished sentences leave the batch."""
    model = ToyModel(CHAIN)
    bias = torch.zeros(2, V)
    bias[1, EOS] = 20.0  # the second sentence ends at once
    out = run(greedy_search, model, bias, max_len=50)
    assert [h.tokens for [h] in out] == [[2, 3, 4], []]
    assert model.calls == [2, 1, 1, 1]


# -- beam ------------------------------------------------------------------------------------


def test_beam_escapes_the_garden_path_greedy_falls_for() -> None:
    """On a garden-path table beam search finds a sequence more probable than greedy's."""
    model = ToyModel(GARDEN)
    [greedy] = one(greedy_search, model, max_len=10)
    [beam] = one(beam_search, model, beam_size=2, max_len=10)
    assert greedy.tokens[0] == 2
    assert beam.tokens == [3]
    assert beam.log_prob > greedy.log_prob + 0.5


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_len", [0, 2])
def test_beam_of_one_is_exactly_greedy(seed: int, min_len: int) -> None:
    """beam_size=1 without length penalty reproduces greedy's tokens and log-prob bit for bit."""
    model = random_model(seed)
    bias = random_bias(seed, 4)
    max_len = torch.tensor([1, 3, 6, 12])
    greedy = run(greedy_search, model, bias, max_len=max_len, min_len=min_len)
    beam = run(beam_search, model, bias, beam_size=1, max_len=max_len, min_len=min_len)
    for [g], [b] in zip(greedy, beam):
        assert b.tokens == g.tokens and b.finished == g.finished
        assert b.log_prob == g.log_prob
        assert torch.equal(b.attention, g.attention)


def test_beam_of_one_is_exactly_greedy_on_the_garden_path() -> None:
    """beam_size=1 falls for the garden path exactly as greedy does."""
    model = ToyModel(GARDEN)
    [g] = one(greedy_search, model, max_len=10)
    [b] = one(beam_search, model, beam_size=1, max_len=10)
    assert (b.tokens, b.log_prob) == (g.tokens, g.log_prob)


def test_beam_runs_all_beams_of_all_sentences_in_one_step_call() -> None:
    """Each time step makes a single step call on B*K rows (until sentences finish).

    The first step runs once per sentence: all its beams start from the same state and BOS.
    """
    model = random_model(0)
    run(beam_search, model, random_bias(0, 3), beam_size=4, max_len=5, n_best=4)
    assert model.calls[0] == 3
    assert model.calls[1] == 12
    assert len(model.calls) <= 5


@pytest.mark.parametrize("seed", range(4))
def test_n_best_are_sorted_distinct_and_scored_by_the_model(seed: int) -> None:
    """n_best hypotheses come best first, are distinct, and their log_prob is the model's sum along them."""
    model = random_model(seed)
    bias = random_bias(seed, 2)
    out = run(beam_search, model, bias, beam_size=5, n_best=4, max_len=6, length_penalty="avg")
    for b, hyps in enumerate(out):
        assert len(hyps) == 4
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({(tuple(h.tokens), h.finished) for h in hyps}) == 4
        for h in hyps:
            assert h.log_prob == pytest.approx(model.log_prob(h.tokens, bias[b], finished=h.finished), abs=1e-4)
            assert h.score == pytest.approx(h.log_prob / (len(h.tokens) + h.finished))


def test_no_penalty_ranks_by_raw_log_prob() -> None:
    """length_penalty='none': score == log_prob, so the short likely hypothesis wins."""
    model = ToyModel(SHORT_LONG)
    hyps = one(beam_search, model, beam_size=2, n_best=2, max_len=10, length_penalty="none")
    assert [h.tokens for h in hyps] == [[], [2, 3]]
    assert all(h.score == h.log_prob for h in hyps)


def test_avg_penalty_divides_by_length_and_prefers_the_long_hypothesis() -> None:
    """length_penalty='avg': score = log_prob / length (EOS counted), which ranks [2, 3] above []."""
    model = ToyModel(SHORT_LONG)
    hyps = one(beam_search, model, beam_size=2, n_best=2, max_len=10, length_penalty="avg")
    assert [h.tokens for h in hyps] == [[2, 3], []]
    assert hyps[0].score == pytest.approx(hyps[0].log_prob / 3)
    assert hyps[1].score == pytest.approx(hyps[1].log_prob / 1)


@pytest.mark.parametrize("alpha, winner", [(0.6, []), (3.0, [2, 3])])
def test_gnmt_penalty_follows_wu_et_al(alpha: float, winner: list[int]) -> None:
    """length_penalty='gnmt': score = log_prob / ((5 + length) / 6) ** alpha; a large alpha favours length."""
    model = ToyModel(SHORT_LONG)
    hyps = one(beam_search, model, beam_size=2, n_best=2, max_len=10, length_penalty="gnmt", alpha=alpha)
    assert hyps[0].tokens == winner
    for h in hyps:
        length = len(h.tokens) + 1
        assert h.score == pytest.approx(h.log_prob / ((5 + length) / 6) ** alpha)
        assert h.score == pytest.approx(penalised_score(h.log_prob, length, kind="gnmt", alpha=alpha))


def test_no_penalty_stops_once_no_live_beam_can_win() -> None:
    """Without a penalty a finished hypothesis better than every live beam ends the search at once."""
    model = ToyModel(SHORT_LONG)
    [hyp] = one(beam_search, model, beam_size=2, max_len=10)
    assert hyp.tokens == []
    assert len(model.calls) == 1


def test_avg_penalty_keeps_searching_while_a_longer_beam_could_win() -> None:
    """With 'avg' a live beam can still overtake a finished one by growing, so the search goes on."""
    model = ToyModel(SHORT_LONG)
    [hyp] = one(beam_search, model, beam_size=2, max_len=10, length_penalty="avg")
    assert hyp.tokens == [2, 3]
    assert len(model.calls) > 1


@pytest.mark.parametrize(
    "search, kw", [(greedy_search, {}), (beam_search, {"beam_size": 3}), (sample_search, {"temperature": 0.0})]
)
def test_min_len_forbids_early_eos(search, kw) -> None:
    """EOS cannot come before min_len tokens, even where it is the most likely token."""
    model = ToyModel(EAGER_EOS)
    assert one(search, model, max_len=10, **kw)[0].tokens == []
    hyps = one(search, model, max_len=10, min_len=3, **kw)
    assert all(len(h.tokens) >= 3 for h in hyps)


@pytest.mark.parametrize("search, kw", [(greedy_search, {}), (beam_search, {"beam_size": 3})])
def test_max_len_truncates_unfinished_hypotheses(search, kw) -> None:
    """An int max_len cuts a never-ending sequence at exactly max_len tokens, marked unfinished."""
    model = ToyModel(LOOP)
    [hyp] = one(search, model, max_len=4, **kw)
    assert hyp.tokens == [2, 3, 2, 3] and not hyp.finished
    assert hyp.attention.shape == (4, V)
    assert hyp.log_prob == pytest.approx(model.log_prob(hyp.tokens, torch.zeros(V), finished=False), abs=1e-5)


@pytest.mark.parametrize(
    "search, kw", [(greedy_search, {}), (beam_search, {"beam_size": 2}), (sample_search, {"seed": 0})]
)
def test_max_len_per_sentence_tensor(search, kw) -> None:
    """A (B,) max_len gives each sentence its own limit (0 decodes to an empty hypothesis)."""
    if "seed" in kw:  # sampling draws from its own seeded generator, whatever ran before this test
        kw = {"generator": torch.Generator().manual_seed(kw["seed"])}
    model = ToyModel(LOOP)
    out = run(search, model, torch.zeros(3, V), max_len=torch.tensor([2, 5, 0]), **kw)
    assert [len(hyps[0].tokens) for hyps in out] == [2, 5, 0]


def test_block_ngram_repeat_prevents_a_repeated_bigram() -> None:
    """block_ngram_repeat=2 forbids completing a bigram already in the hypothesis."""
    model = ToyModel(CYCLE)
    [free] = one(beam_search, model, beam_size=2, max_len=8)
    assert free.tokens == [2, 3] * 4  # the table repeats (2, 3)
    [blocked] = one(beam_search, model, beam_size=2, max_len=8, block_ngram_repeat=2)
    bigrams = list(zip(blocked.tokens, blocked.tokens[1:]))
    assert len(blocked.tokens) == 8 and len(bigrams) == len(set(bigrams))
    assert blocked.tokens[:2] == [2, 3] and math.isfinite(blocked.log_prob)


def test_block_ngram_repeat_of_one_forbids_any_repeated_token() -> None:
    """block_ngram_repeat=1 makes every generated token distinct."""
    model = random_model(3)
    for hyps in run(beam_search, model, random_bias(3, 3), beam_size=3, n_best=3, max_len=7, block_ngram_repeat=1):
        for h in hyps:
            assert len(h.tokens) == len(set(h.tokens))


@pytest.mark.parametrize("penalty", ["none", "avg", "gnmt"])
def test_batched_sentences_decode_as_if_alone(penalty: str) -> None:
    """Each sentence of a batch with different states gets the result it gets when decoded alone."""
    model = random_model(5)
    bias = random_bias(5, 4)
    max_len = torch.tensor([3, 9, 6, 9])
    batched = run(beam_search, model, bias, beam_size=3, n_best=2, max_len=max_len, length_penalty=penalty)
    greedy = run(greedy_search, model, bias, max_len=max_len)
    for b in range(4):
        alone = run(
            beam_search, model, bias[b : b + 1], beam_size=3, n_best=2, max_len=int(max_len[b]), length_penalty=penalty
        )[0]
        assert [h.tokens for h in batched[b]] == [h.tokens for h in alone]
        assert [h.log_prob for h in batched[b]] == pytest.approx([h.log_prob for h in alone])
        [g_alone] = run(greedy_search, model, bias[b : b + 1], max_len=int(max_len[b]))[0]
        assert greedy[b][0].tokens == g_alone.tokens


@pytest.mark.parametrize(
    "search, kw", [(greedy_search, {}), (beam_search, {"beam_size": 3, "n_best": 3}), (sample_search, {})]
)
def test_attention_rows_align_with_tokens(search, kw) -> None:
    """Attention has one row per generated token (EOS step included), row i from the step that produced token i."""
    model = random_model(7)
    torch.manual_seed(0)
    bias = random_bias(7, 3)
    for hyps in run(search, model, bias, max_len=6, **kw):
        for h in hyps:
            inputs = [BOS, *h.tokens]  # the token fed at each step
            assert h.attention.shape == (len(h.tokens) + h.finished, V)
            assert h.attention.argmax(dim=-1).tolist() == inputs[: h.attention.shape[0]]


def test_no_attention_gives_none() -> None:
    """A step function that returns no attention yields hypotheses with attention None."""
    model = ToyModel(CHAIN)

    def step(tokens, state):
        log_probs, state, _ = model.step(tokens, state)
        return log_probs, state, None

    for search, kw in [(greedy_search, {}), (beam_search, {"beam_size": 2})]:
        [hyp] = search(
            step, model.initial_state(torch.zeros(1, V)), batch_size=1, bos_id=BOS, eos_id=EOS, max_len=5, **kw
        )[0]
        assert hyp.tokens == [2, 3, 4] and hyp.attention is None


def test_bad_options_are_rejected() -> None:
    """n_best above beam_size, an unknown penalty or a mis-shaped max_len raise ValueError."""
    model = ToyModel(CHAIN)
    with pytest.raises(ValueError, match="n_best"):
        one(beam_search, model, beam_size=2, n_best=3, max_len=5)
    with pytest.raises(ValueError, match="length_penalty"):
        one(beam_search, model, beam_size=2, max_len=5, length_penalty="wu")
    with pytest.raises(ValueError, match="max_len"):
        one(greedy_search, model, max_len=torch.tensor([3, 4]))


def test_step_returning_wrong_rows_is_reported() -> None:
    """A step function that drops rows fails with a message naming the expected N."""

    def step(tokens, state):
        return torch.zeros(1, V).log_softmax(-1), state, None

    with pytest.raises(ValueError, match="N = 2"):
        beam_search(step, torch.zeros(2, 1), batch_size=2, beam_size=2, bos_id=BOS, eos_id=EOS, max_len=3)


# -- sampling --------------------------------------------------------------------------------


def test_sampling_with_a_seeded_generator_is_reproducible() -> None:
    """Two runs with identically seeded generators sample the same hypotheses."""
    model = random_model(11)
    bias = random_bias(11, 4)
    draws = [run(sample_search, model, bias, max_len=8, generator=torch.Generator().manual_seed(42)) for _ in range(2)]
    assert [[h.tokens for h in hyps] for hyps in draws[0]] == [[h.tokens for h in hyps] for hyps in draws[1]]
    other = run(sample_search, model, bias, max_len=8, generator=torch.Generator().manual_seed(43))
    assert [h.tokens for [h] in other] != [h.tokens for [h] in draws[0]]


def test_sampled_log_prob_is_the_models() -> None:
    """A sampled hypothesis' log_prob is the model's (untempered) sum along its tokens."""
    model = random_model(12)
    bias = random_bias(12, 3)
    out = run(sample_search, model, bias, max_len=8, temperature=1.7, generator=torch.Generator().manual_seed(0))
    for b, [h] in enumerate(out):
        assert h.log_prob == pytest.approx(model.log_prob(h.tokens, bias[b], finished=h.finished), abs=1e-4)


@pytest.mark.parametrize("kw", [{"top_k": 1}, {"temperature": 0.0}])
def test_top_k_one_and_zero_temperature_are_greedy(kw) -> None:
    """Sampling with top_k=1, or at temperature 0, gives exactly the greedy hypotheses."""
    model = random_model(13)
    bias = random_bias(13, 4)
    greedy = run(greedy_search, model, bias, max_len=9)
    sampled = run(sample_search, model, bias, max_len=9, generator=torch.Generator().manual_seed(0), **kw)
    for [g], [s] in zip(greedy, sampled):
        assert (s.tokens, s.log_prob) == (g.tokens, g.log_prob)


def test_reorder_beams_moves_recurrent_fields_and_leaves_static_ones() -> None:
    """Fields named in beam_static_fields are not copied on a within-sentence reorder; others follow the rows"""
    from dataclasses import dataclass as _dataclass
    from typing import ClassVar

    from seqforge.search import reorder_beams

    @_dataclass
    class State:
        hidden: torch.Tensor
        memory: torch.Tensor
        beam_static_fields: ClassVar[tuple[str, ...]] = ("memory",)

    state = State(hidden=torch.arange(4.0).unsqueeze(1), memory=torch.ones(4, 3))
    moved = reorder_beams(state, torch.tensor([1, 1, 3, 2]))
    assert moved.hidden.squeeze(1).tolist() == [1.0, 1.0, 3.0, 2.0]
    assert moved.memory is state.memory
