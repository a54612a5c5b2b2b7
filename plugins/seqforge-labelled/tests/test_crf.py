"""The linear-chain CRF: partition and best path against brute-force enumeration, masking, gradients, IOB2 constraints."""

from __future__ import annotations

import itertools

import pytest
import torch

from seqforge.api import ConfigError
from seqforge_labelled.crf import FORBIDDEN, LinearChainCRF, build_crf, iob2_allowed

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def random_crf(num_tags: int, seed: int, *, constrained: bool = False) -> LinearChainCRF:
    """A CRF in float64 with random transition/start/end scores (and random forbidden entries when ``constrained``)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = {}
    if constrained:
        kwargs = {
            "allowed": torch.rand(num_tags, num_tags, generator=g) > 0.3,
            "allowed_start": torch.rand(num_tags, generator=g) > 0.3,
            "allowed_end": torch.rand(num_tags, generator=g) > 0.3,
        }
    crf = LinearChainCRF(num_tags, **kwargs).double()
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return crf


def brute_force_score(crf: LinearChainCRF, emissions: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """score(y) written out term by term for one sentence (emissions ``(n, K)``)."""
    trans, start, end = crf.scores(torch.float64)
    total = start[path[0]] + end[path[-1]]
    for t, tag in enumerate(path):
        total = total + emissions[t, tag]
        if t:
            total = total + trans[path[t - 1], tag]
    return total


def all_paths(crf: LinearChainCRF, emissions: torch.Tensor) -> dict[tuple[int, ...], torch.Tensor]:
    n, K = emissions.shape
    return {path: brute_force_score(crf, emissions, path) for path in itertools.product(range(K), repeat=n)}


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_partition_and_viterbi_equal_brute_force_enumeration(seed: int, constrained: bool) -> None:
    """A batch of sentences of lengths 1..4 (padded to 4), K=3: log Z = logsumexp over all K^n taggings, Viterbi = their
    max"""
    K, lengths = 3, [4, 1, 3, 2]
    crf = random_crf(K, seed, constrained=constrained)
    g = torch.Generator().manual_seed(100 + seed)
    emissions = torch.randn(len(lengths), 4, K, generator=g, dtype=torch.float64)  # (B, T, K)
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, T)
    log_z = crf.partition(emissions, mask)
    best, best_score = crf.viterbi_decode(emissions, mask)
    for row, n in enumerate(lengths):
        scores = all_paths(crf, emissions[row, :n])
        assert log_z[row].item() == pytest.approx(
            torch.logsumexp(torch.stack(list(scores.values())), 0).item(), abs=1e-10
        )
        argmax = max(scores, key=lambda p: scores[p].item())
        assert tuple(best[row, :n].tolist()) == argmax
        assert best_score[row].item() == pytest.approx(scores[argmax].item(), abs=1e-10)
        tags = torch.tensor(argmax + (0,) * (4 - n)).unsqueeze(0)
        assert crf.score(emissions[row : row + 1], tags, mask[row : row + 1]).item() == pytest.approx(
            scores[argmax].item(), abs=1e-10
        )


def test_probabilities_of_all_taggings_sum_to_one() -> None:
    crf = random_crf(3, 7)
    emissions = torch.randn(1, 3, 3, dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    paths = torch.tensor(list(itertools.product(range(3), repeat=3)))  # (27, 3)
    log_p = crf.log_likelihood(emissions.expand(27, 3, 3), paths, mask.expand(27, 3))
    assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-12)


def test_padded_steps_change_no_score_nor_path() -> None:
    """A sentence alone and padded with arbitrary emissions and tags: same score, log Z, NLL gradient and Viterbi path"""
    crf = random_crf(4, 3)
    g = torch.Generator().manual_seed(5)
    alone = torch.randn(1, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    tags = torch.tensor([[1, 3, 0]])
    padded = torch.cat(
        [alone.detach(), 100 * torch.randn(1, 4, 4, generator=g, dtype=torch.float64)], dim=1
    ).requires_grad_()  # (1, 7, 4)
    padded_tags = torch.cat([tags, torch.tensor([[2, -100, 3, 1]])], dim=1)
    mask = torch.tensor([[True] * 3 + [False] * 4])
    nll_alone = crf(alone, tags, torch.ones(1, 3, dtype=torch.bool))
    nll_padded = crf(padded, padded_tags, mask)
    assert nll_padded.item() == pytest.approx(nll_alone.item(), abs=1e-12)
    nll_alone.sum().backward()
    nll_padded.sum().backward()
    assert torch.allclose(padded.grad[:, :3], alone.grad) and padded.grad[:, 3:].abs().max() == 0
    path_alone, score_alone = crf.viterbi_decode(alone.detach(), torch.ones(1, 3, dtype=torch.bool))
    path_padded, score_padded = crf.viterbi_decode(padded.detach(), mask)
    assert path_padded[0, :3].tolist() == path_alone[0].tolist()
    assert score_padded.item() == pytest.approx(score_alone.item(), abs=1e-12)


def test_gradcheck_of_the_negative_log_likelihood() -> None:
    """Analytic gradients wrt emissions, transitions, start and end equal finite differences (float64)"""
    crf = random_crf(3, 11, constrained=True)
    emissions = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    tags = torch.tensor([[0, 1, 2, 1], [2, 0, -100, -100]])
    mask = torch.tensor([[True] * 4, [True, True, False, False]])

    params = [p.detach().clone().requires_grad_() for p in (crf.transitions, crf.start, crf.end)]
    assert torch.autograd.gradcheck(lambda e, a, s, z: _nll_with(crf, e, tags, mask, a, s, z), (emissions, *params))


def _nll_with(crf: LinearChainCRF, emissions, tags, mask, trans, start, end):
    """The CRF's NLL with the given parameter tensors (functional call, so gradcheck sees them as inputs)."""
    return torch.func.functional_call(crf, {"transitions": trans, "start": start, "end": end}, (emissions, tags, mask))


def test_sentences_of_length_one() -> None:
    """n = 1: log Z = logsumexp_k(s + E + e); the best tag is argmax_k of the same"""
    crf = random_crf(4, 2)
    emissions = torch.randn(3, 1, 4, dtype=torch.float64)
    mask = torch.ones(3, 1, dtype=torch.bool)
    total = crf.start + emissions[:, 0] + crf.end  # (3, K)
    assert torch.allclose(crf.partition(emissions, mask), torch.logsumexp(total, 1))
    assert crf.viterbi_decode(emissions, mask)[0][:, 0].tolist() == total.argmax(1).tolist()


def test_an_empty_sentence_is_refused() -> None:
    crf = LinearChainCRF(3)
    with pytest.raises(ValueError, match="at least one token"):
        crf.partition(torch.zeros(2, 3, 3), torch.tensor([[True] * 3, [False] * 3]))


def test_iob2_constraints_forbid_i_after_o_and_after_another_type() -> None:
    allowed, start, end = iob2_allowed(TAGS)
    i = {t: k for k, t in enumerate(TAGS)}
    assert (
        not allowed[i["O"], i["I-PER"]] and not allowed[i["B-LOC"], i["I-PER"]] and not allowed[i["I-LOC"], i["I-PER"]]
    )
    assert allowed[i["B-PER"], i["I-PER"]] and allowed[i["I-PER"], i["I-PER"]] and allowed[i["I-PER"], i["B-PER"]]
    assert allowed[i["O"], i["B-LOC"]] and allowed[i["I-LOC"], i["O"]]
    assert start.tolist() == [True, True, False, True, False] and end.all()
    assert allowed.sum().item() == 25 - 2 * 3  # each of the 2 I-X columns allows only B-X and I-X of the 5 tags


def test_constrained_viterbi_never_produces_an_invalid_iob2_sequence() -> None:
    """Emissions that favour I-PER everywhere: unconstrained decoding says I-PER first; constrained opens with B-PER"""
    crf = build_crf(TAGS, "iob2", iob=True)
    free = build_crf(TAGS, "none", iob=True)
    emissions = torch.zeros(1, 4, 5)
    emissions[0, :, TAGS.index("I-PER")] = 5.0
    emissions[0, :, TAGS.index("B-PER")] = 4.0
    mask = torch.ones(1, 4, dtype=torch.bool)
    assert [TAGS[k] for k in free.viterbi_decode(emissions, mask)[0][0]] == ["I-PER"] * 4
    assert [TAGS[k] for k in crf.viterbi_decode(emissions, mask)[0][0]] == ["B-PER", "I-PER", "I-PER", "I-PER"]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        emissions = 5 * torch.randn(8, 6, 5, generator=g)
        for row in crf.viterbi_decode(emissions, torch.ones(8, 6, dtype=torch.bool))[0].tolist():
            tags = [TAGS[k] for k in row]
            for before, tag in zip(["O", *tags], tags):
                assert not tag.startswith("I-") or (before[2:] == tag[2:] and before != "O"), tags


def test_forbidden_transitions_get_no_gradient_and_stay_forbidden() -> None:
    crf = build_crf(TAGS, "iob2", iob=True)
    emissions = torch.randn(2, 3, 5, requires_grad=True)
    tags = torch.tensor([[1, 2, 0], [0, 3, 4]])
    crf(emissions, tags, torch.ones(2, 3, dtype=torch.bool)).sum().backward()
    assert crf.transitions.grad[~crf.allowed].abs().max() == 0 and crf.start.grad[~crf.allowed_start].abs().max() == 0
    assert crf.transitions.grad[crf.allowed].abs().max() > 0


def test_every_transition_forbidden_stays_finite() -> None:
    """All transitions, starts and ends forbidden: every path costs the same penalty; no NaN, inf or invalid path"""
    none = torch.zeros(3, dtype=torch.bool)
    crf = LinearChainCRF(3, allowed=torch.zeros(3, 3, dtype=torch.bool), allowed_start=none, allowed_end=none)
    emissions = torch.randn(2, 4, 3, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, False, False, False]])
    nll = crf(emissions, torch.zeros(2, 4, dtype=torch.long), mask)
    assert torch.isfinite(nll).all()
    nll.sum().backward()
    assert torch.isfinite(emissions.grad).all()
    path, score = crf.viterbi_decode(emissions.detach(), mask)
    assert path.tolist()[0] == emissions[0].argmax(-1).tolist()  # equal penalties: the emissions decide
    assert score[1].item() == pytest.approx(2 * FORBIDDEN + emissions[1, 0].max().item())


def test_constraint_names_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"task\.crf_constraints must be one of auto, iob2, none"):
        build_crf(TAGS, "bio", iob=True)
    with pytest.raises(ConfigError, match=r"task\.crf_constraints=iob2 needs IOB tags.*'NNP'"):
        build_crf(["NNP", "VBZ"], "iob2", iob=False)
    assert build_crf(["NNP", "VBZ"], "auto", iob=False).allowed.all()
