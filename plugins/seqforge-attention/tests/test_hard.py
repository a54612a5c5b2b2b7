"""Hard attention (Xu et al. 2015): its distribution, samples that never hit padding, the two training estimators,
inference."""

from __future__ import annotations

import pytest
import torch
from attention_reference import randomise, reference_score, softmax_over
from torch import Tensor

from seqforge.api import ReinforceAttention
from seqforge_attention.hard import HardAttention

SCORES = ["dot", "general", "concat", "bahdanau"]
H = 4
S = 6
LENGTHS = [6, 3, 1]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def mask_of(lengths: list[int], src: int = S) -> Tensor:
    return torch.arange(src).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, S)


def inputs(lengths: list[int] = LENGTHS) -> tuple[Tensor, Tensor, Tensor]:
    return (
        torch.randn(len(lengths), H, dtype=torch.float64),
        torch.randn(len(lengths), S, H, dtype=torch.float64),
        mask_of(lengths),
    )


def make(score: str = "general", **kwargs) -> HardAttention:
    return randomise(
        HardAttention(H, H, score=score, attention_size=3 if score in ("concat", "bahdanau") else None, **kwargs)
    )


def alpha_reference(attention: HardAttention, score: str, query: Tensor, memory: Tensor) -> Tensor:
    """α_t(s) = softmax over real s of score(h_t, h̄_s), position by position in float64."""
    rows = []
    for b, length in enumerate(LENGTHS):
        alpha = softmax_over(
            {s: reference_score(attention.scorer, score, query[b], memory[b, s]) for s in range(length)}
        )
        rows.append([alpha.get(s, 0.0) for s in range(S)])
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("score", SCORES)
def test_distribution_and_expected_inference_follow_the_score_softmax(score: str) -> None:
    """log α is the masked log-softmax of the score; inference=expected attends with α itself (float64 reference)"""
    attention = make(score, inference="expected").eval()
    query, memory, mask = inputs()
    alpha = alpha_reference(attention, score, query, memory)
    assert torch.allclose(attention.distribution(query, memory, mask).exp(), alpha, atol=1e-12)
    context, weights = attention(query, memory, mask)
    assert torch.allclose(weights, alpha, atol=1e-12)
    assert torch.allclose(context, torch.einsum("bs,bsh->bh", alpha, memory), atol=1e-12)


@pytest.mark.parametrize("score", SCORES)
def test_argmax_inference_attends_to_the_most_likely_real_position(score: str) -> None:
    """inference=argmax: exactly one-hot weights at argmax α, the context is that memory vector"""
    attention = make(score).eval()
    query, memory, mask = inputs()
    context, weights = attention(query, memory, mask)
    best = alpha_reference(attention, score, query, memory).argmax(-1)
    assert torch.equal(weights, torch.nn.functional.one_hot(best, S).double())
    assert torch.equal(context, memory[torch.arange(3), best])


def test_reinforce_samples_follow_alpha_and_never_land_on_padding() -> None:
    """Training with estimator=reinforce: one-hot weights at a real position, drawn with frequencies ≈ α"""
    attention = make("general", estimator="reinforce").train()
    query, memory, mask = inputs()
    query, memory = query.repeat(1000, 1), memory.repeat(1000, 1, 1)  # (3000, ...)
    mask = mask.repeat(1000, 1)
    with torch.no_grad():
        _, weights = attention(query, memory, mask)
        alpha = attention.distribution(query, memory, mask).exp()
    assert torch.equal(weights.sum(-1), torch.ones(3000, dtype=torch.float64))
    assert set(weights.unique().tolist()) == {0.0, 1.0}
    assert (weights[~mask] == 0).all()
    frequencies = weights.view(1000, 3, S).mean(0)  # (3, S)
    assert torch.allclose(frequencies, alpha[:3], atol=0.05)


def test_gumbel_straight_through_is_one_hot_forward_with_a_soft_gradient() -> None:
    """estimator=gumbel in training: forward exactly one-hot on a real position, backward reaches query, memory and
    scorer"""
    attention = make("bahdanau", estimator="gumbel", temperature=0.5).train()
    query, memory, mask = inputs()
    query.requires_grad_(), memory.requires_grad_()
    context, weights = attention(query, memory, mask)
    assert torch.equal(weights.detach().sum(-1), torch.ones(3, dtype=torch.float64))
    assert set(weights.detach().unique().tolist()) == {0.0, 1.0}
    assert (weights[~mask] == 0).all()
    (context * torch.randn_like(context)).sum().backward()
    assert query.grad.abs().sum() > 0 and memory.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in attention.parameters())
    assert (memory.grad[~mask] == 0).all()
    assert attention.reinforce_loss(torch.zeros(3)).item() == 0.0, "gumbel records nothing for REINFORCE"


def test_gumbel_samples_never_land_on_padding() -> None:
    """Gumbel noise cannot lift a padded position: 2000 draws over short rows stay on real positions"""
    attention = make("dot", estimator="gumbel", temperature=5.0).train()
    query, memory, mask = inputs([2, 1])
    _, weights = attention(query.repeat(1000, 1), memory.repeat(1000, 1, 1), mask.repeat(1000, 1))
    assert (weights[~mask.repeat(1000, 1)] == 0).all()


@pytest.mark.parametrize("entropy_weight", [0.0, 0.3])
def test_reinforce_expected_gradient_equals_the_gradient_of_the_expected_reward(entropy_weight: float) -> None:
    """Σ_s α(s)·∇L(s̃=s) (all positions enumerated) = -∇(Σ_s α(s) r(s) + λ_e H[α]), whatever the baseline"""
    attention = make("concat", estimator="reinforce", entropy_weight=entropy_weight).train()
    query, memory, mask = inputs([4])
    reward = torch.tensor([0.5, -1.0, 2.0, 0.3, 9.0, 9.0], dtype=torch.float64)  # r(s); padded positions' never used
    params = list(attention.parameters())

    def surrogate_grads(position: int) -> list[Tensor]:
        attention.baseline.fill_(0.7)
        attention.baseline_ready.fill_(True)
        attention.sample = lambda probs: torch.tensor([position])  # the draw, forced: enumerate instead of sampling
        attention.project_memory(memory)
        attention(query, memory, mask)
        loss = attention.reinforce_loss(reward[position : position + 1])
        return torch.autograd.grad(loss, params)

    alpha = attention.distribution(query, memory, mask).exp().detach()[0]  # (S,)
    expected = [
        sum(alpha[s] * g for s, g in zip(range(4), grads)) for grads in zip(*(surrogate_grads(s) for s in range(4)))
    ]
    del attention.sample
    log_alpha = attention.distribution(query, memory, mask)[0, :4]
    objective = (log_alpha.exp() * reward[:4]).sum() + entropy_weight * -(log_alpha.exp() * log_alpha).sum()
    exact = torch.autograd.grad(-objective, params)
    for e, x in zip(expected, exact):
        assert torch.allclose(e, x, atol=1e-10)
    assert any(x.abs().sum() > 0 for x in exact)


def test_reinforce_loss_masks_steps_updates_the_baseline_and_clears_the_records() -> None:
    """Only mask-True steps count; b starts at the first mean reward then b <- 0.9 b + 0.1 mean(R); records are consumed"""
    attention = make("general", estimator="reinforce", entropy_weight=0.0).train()
    query, memory, mask = inputs()
    attention.project_memory(memory)
    for _ in range(2):
        attention(query, memory, mask)
    steps = torch.tensor([[True, True], [True, False], [False, False]])
    log_probs = torch.stack(attention._log_probs, dim=1)  # (B, 2)
    loss = attention.reinforce_loss(torch.tensor([1.0, 2.0, 3.0]), steps)
    assert attention._log_probs == [] and attention._entropies == []
    expected = -((torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64) - 0.0) * log_probs * steps).sum() / 3
    assert torch.allclose(loss, expected)
    assert attention.baseline.item() == pytest.approx(2.0)
    attention(query, memory, mask)
    attention.reinforce_loss(torch.tensor([4.0, 4.0, 4.0]))
    assert attention.baseline.item() == pytest.approx(0.9 * 2.0 + 0.1 * 4.0)
    assert attention.reinforce_loss(torch.zeros(3)).item() == 0.0, "nothing recorded since"


def test_a_new_source_batch_drops_unused_records_and_eval_records_nothing() -> None:
    """project_memory starts a new episode; eval mode and no_grad forwards record nothing"""
    attention = make("general", estimator="reinforce").train()
    query, memory, mask = inputs()
    attention(query, memory, mask)
    attention.project_memory(memory)
    assert attention._log_probs == []
    with torch.no_grad():
        attention(query, memory, mask)
    attention.eval()
    attention(query, memory, mask)
    assert attention._log_probs == []


def test_expected_inference_gradcheck() -> None:
    """inference=expected is differentiable: analytic gradients match finite differences"""
    attention = make("bahdanau", inference="expected").eval()
    query, memory, mask = inputs()
    assert torch.autograd.gradcheck(
        lambda q, m: attention(q, m, mask), (query.requires_grad_(), memory.requires_grad_())
    )


def test_fields_are_validated_naming_the_key() -> None:
    """Unknown estimator / inference and a non-positive temperature are refused with the config key"""
    for kwargs, key in [
        ({"estimator": "vimco"}, "estimator"),
        ({"inference": "sample"}, "inference"),
        ({"temperature": 0.0}, "temperature"),
        ({"baseline_decay": 1.0}, "baseline_decay"),
        ({"entropy_weight": -1.0}, "entropy_weight"),
    ]:
        with pytest.raises(ValueError, match=f"model.attention.{key}"):
            HardAttention(4, 4, **kwargs)


def test_hard_attention_is_a_reinforce_attention() -> None:
    """The decoder finds reinforce_loss through the ReinforceAttention Protocol"""
    assert isinstance(HardAttention(4, 4), ReinforceAttention)


@pytest.mark.parametrize(
    "config",
    [
        {"estimator": "gumbel"},
        {"estimator": "reinforce"},
        {"inference": "expected"},
        {"score": "dot"},
        {"score": "concat"},
        {"score": "bahdanau"},
    ],
)
def test_hard_attention_keeps_every_attention_contract(config: dict) -> None:
    """seqforge.testing.check_attention (eval mode: argmax or expected inference)"""
    from seqforge.testing import check_attention

    check_attention("hard", config)
    if config.get("score") != "dot":
        check_attention("hard", config, query_size=5, memory_size=9)
