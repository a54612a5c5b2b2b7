"""Stochastic hard attention (Xu et al. 2015, "Show, Attend and Tell", §4.1): the context is ONE source position.

With the distribution over real source positions

    α_t(s) = softmax_{s real} score(h_t, h̄_s)          (any global score: model.attention.score)

hard attention samples a position ``s̃_t ~ Multinoulli(α_t)`` and uses
``c_t = h̄_{s̃_t}`` (one-hot weights). Sampling has no gradient, so training
picks an estimator (``model.attention.estimator``):

``gumbel`` — straight-through Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017):
    y = softmax((log α_t + g) / τ),  g_s ~ Gumbel(0, 1) i.i.d.,  τ = ``temperature``;
    forward: one_hot(argmax_s y), backward: the gradient of ``y``.

``reinforce`` — the score-function estimator of Xu et al. 2015, eq. 12: with reward
``R = log p(y | s̃, x)`` (the target sentence's log-likelihood), a moving-average
baseline ``b ← β b + (1 - β) mean(R)`` (β = ``baseline_decay``, 0.9 in the paper) and an
entropy bonus (λ_e = ``entropy_weight``), the attention's parameters W get

    ∂L/∂W ≈ Σ_t [ (R - b) ∂log α_t(s̃_t)/∂W + λ_e ∂H[α_t]/∂W ]

The forward records ``log α_t(s̃_t)`` and ``H[α_t]``; :meth:`HardAttention.reinforce_loss`
turns them into a surrogate whose gradient is that estimate (the decoder's
``estimator_loss`` calls it after the teacher-forced pass). The part of eq. 12 that
differentiates ``log p(y | s̃, x)`` itself is the ordinary NLL's gradient.

At inference (``eval()``) nothing is sampled (``model.attention.inference``): ``argmax``
attends to the most likely position (one-hot weights, straight-through gradient of ``α``),
``expected`` uses the soft expectation ``c_t = Σ_s α_t(s) h̄_s`` (Xu et al.'s deterministic
approximation). Padding is never sampled nor chosen and gets exactly 0 weight.

Shape letters: ``B`` batch, ``S`` source positions, ``T`` target steps, ``Hq``/``Hm`` query/memory sizes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge_attention.attention import _check_size, masked_softmax
from seqforge_attention.scoring import build_scorer

ESTIMATORS = ("gumbel", "reinforce")
INFERENCES = ("argmax", "expected")


def masked_log_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """``log α`` ``(B, S)``: finite at real positions, ``-inf`` at padding; an all-padding row is all 0 (never NaN)."""
    has_real = mask.any(dim=-1, keepdim=True)  # (B, 1)
    filled = scores.masked_fill(~mask, float("-inf")).masked_fill(~has_real, 0.0)  # (B, S)
    return torch.log_softmax(filled, dim=-1)  # (B, S)


def one_hot_at(index: Tensor, mask: Tensor, dtype: torch.dtype) -> Tensor:
    """One-hot rows ``(B, S)`` at ``index`` ``(B,)``; all-padding rows stay all 0."""
    hot = F.one_hot(index, mask.shape[1]).to(dtype)  # (B, S)
    return hot * mask.any(dim=-1, keepdim=True)  # (B, S)


def straight_through(hard: Tensor, soft: Tensor) -> Tensor:
    """Forward exactly ``hard``; backward the gradient of ``soft`` (``soft - soft.detach()`` is exactly 0)."""
    return hard + (soft - soft.detach())  # (B, S)


def masked_argmax(scores: Tensor, mask: Tensor) -> Tensor:
    """The best real position per row: ``(B, S)`` -> ``(B,)`` (0 for an all-padding row, whose weights stay 0)."""
    return scores.masked_fill(~mask, float("-inf")).argmax(dim=-1)  # (B,)


def entropy(log_alpha: Tensor, mask: Tensor) -> Tensor:
    """``H[α] = -Σ_{s real} α(s) log α(s)``: ``(B, S)`` -> ``(B,)`` (padding contributes exactly 0, with no NaN
    gradient)."""
    safe = log_alpha.masked_fill(~mask, 0.0)  # (B, S)
    return -(safe.exp() * mask * safe).sum(dim=-1)  # (B,)


class HardAttention(nn.Module):
    """Xu et al. 2015 stochastic hard attention over one sampled source position (module docstring for the formulas).

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size.
        score: ``dot``, ``general``, ``concat`` or ``bahdanau``: how ``α_t`` is scored.
        estimator: ``gumbel`` (straight-through Gumbel-softmax) or ``reinforce`` (score function + baseline + entropy).
        temperature: ``τ > 0`` of the Gumbel-softmax (lower: closer to one-hot, noisier gradients).
        inference: ``argmax`` or ``expected``, used in ``eval()`` mode.
        entropy_weight: ``λ_e >= 0`` (reinforce).
        baseline_decay: ``β`` in ``[0, 1)`` of the moving-average baseline (reinforce).
        attention_size: ``A`` of concat/bahdanau (None: ``Hq``).
        scale: divide dot scores by ``sqrt(Hq)``.
    """

    def __init__(
        self,
        query_size: int,
        memory_size: int,
        score: str = "general",
        estimator: str = "gumbel",
        temperature: float = 1.0,
        inference: str = "argmax",
        entropy_weight: float = 0.01,
        baseline_decay: float = 0.9,
        attention_size: int | None = None,
        scale: bool = False,
    ) -> None:
        super().__init__()
        _check_size("query_size", query_size)
        _check_size("memory_size", memory_size)
        if estimator not in ESTIMATORS:
            raise ValueError(f"model.attention.estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
        if inference not in INFERENCES:
            raise ValueError(f"model.attention.inference must be one of {', '.join(INFERENCES)}, got {inference!r}")
        if not temperature > 0:
            raise ValueError(f"model.attention.temperature (the Gumbel-softmax τ) must be > 0, got {temperature!r}")
        if not entropy_weight >= 0:
            raise ValueError(f"model.attention.entropy_weight (λ_e) must be >= 0, got {entropy_weight!r}")
        if not 0 <= baseline_decay < 1:
            raise ValueError(f"model.attention.baseline_decay (β) must be in [0, 1), got {baseline_decay!r}")
        self.query_size = query_size
        self.memory_size = memory_size
        self.score_name = score
        self.estimator = estimator
        self.temperature = float(temperature)
        self.inference = inference
        self.entropy_weight = float(entropy_weight)
        self.baseline_decay = float(baseline_decay)
        self.scorer = build_scorer(score, query_size, memory_size, attention_size, scale)
        self.register_buffer("baseline", torch.zeros(()))  # b: moving average of the reward
        self.register_buffer("baseline_ready", torch.zeros((), dtype=torch.bool))  # False until the first reward sets b
        self._log_probs: list[Tensor] = []  # log α_t(s̃_t) per training step, each (B,)
        self._entropies: list[Tensor] = []  # H[α_t] per training step, each (B,)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_log_probs"], state["_entropies"] = [], []  # records hold graphs: never pickled
        return state

    def project_memory(self, memory: Tensor) -> Tensor:
        """The score function's keys, once per source batch: ``(B, S, Hm) -> (B, S, K)``.

        A new source batch is a new episode: records of an earlier batch nobody turned into a
        loss (a task that never calls :meth:`reinforce_loss`) are dropped here, not kept alive.
        """
        self._log_probs, self._entropies = [], []
        return self.scorer.project_memory(memory)  # (B, S, K)

    def distribution(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> Tensor:
        """``log α_t`` ``(B, S)``: the log-probability of attending to each position (``-inf`` at padding)."""
        keys = self.scorer.project_memory(memory) if keys is None else keys  # (B, S, K)
        return masked_log_softmax(self.scorer.score(query, keys), mask)  # (B, S)

    def sample(self, probs: Tensor) -> Tensor:
        """``s̃ ~ Multinoulli(α)`` per row: ``(B, S)`` -> ``(B,)``; zero-probability (padded) positions are never
        drawn."""
        empty = probs.sum(dim=-1, keepdim=True) <= 0  # (B, 1) all-padding rows: draw anything, weights stay 0
        return torch.multinomial(torch.where(empty, torch.ones_like(probs), probs), 1).squeeze(1)  # (B,)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)`` -> ``(context (B, Hm), weights (B,
        S))``.

        Training: one-hot weights at the sampled position. Eval: one-hot at the argmax, or ``α``
        (``inference=expected``).
        """
        log_alpha = self.distribution(query, memory, mask, keys)  # (B, S)
        alpha = log_alpha.exp() * mask  # (B, S), exactly 0 at padding and on all-padding rows
        if not self.training:
            weights = (
                alpha
                if self.inference == "expected"
                else straight_through(one_hot_at(masked_argmax(log_alpha, mask), mask, alpha.dtype), alpha)
            )
        elif self.estimator == "gumbel":
            # (B, S), never 0
            exponential = torch.empty_like(log_alpha).exponential_().clamp_(min=torch.finfo(log_alpha.dtype).tiny)
            gumbel = -exponential.log()  # (B, S) g ~ Gumbel(0, 1), finite
            perturbed = (log_alpha.masked_fill(~mask, 0.0) + gumbel) / self.temperature  # (B, S)
            soft = masked_softmax(perturbed, mask)  # (B, S)
            weights = straight_through(one_hot_at(masked_argmax(perturbed, mask), mask, alpha.dtype), soft)  # (B, S)
        else:
            chosen = self.sample(alpha.detach().float())  # (B,); multinomial wants float32/64 (not bf16)
            weights = one_hot_at(chosen, mask, alpha.dtype)  # (B, S), no gradient: reinforce_loss trains α
            if torch.is_grad_enabled():
                has_real = mask.any(dim=-1)  # (B,)
                self._log_probs.append(log_alpha.gather(1, chosen.unsqueeze(1)).squeeze(1) * has_real)  # (B,)
                self._entropies.append(entropy(log_alpha, mask))  # (B,)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 1, S) @ (B, S, Hm) -> (B, Hm)
        return context, weights

    def reinforce_loss(self, reward: Tensor, mask: Tensor | None = None) -> Tensor:
        """The surrogate of eq. 12 for the recorded samples; also updates the baseline and clears the records.

        ``L = -(1/N) Σ_{b,t real} [ (R_b - b) log α_t(s̃_t) + λ_e H[α_t] ]`` with ``N`` the number of
        real target steps (the NLL is a per-token mean too). ``R`` is detached: the reward weighs
        the samples and is not trained through here. Zero when nothing was recorded (gumbel, eval).

        Args:
            reward: ``(B,)`` each sequence's log-likelihood ``log p(y | s̃, x)``.
            mask: ``(B, T)`` bool, True at target steps whose samples count (None: all ``T`` recorded steps).

        Returns:
            A scalar to add to the loss.
        """
        if not self._log_probs:
            return reward.new_zeros(())
        log_probs = torch.stack(self._log_probs, dim=1)  # (B, T)
        entropies = torch.stack(self._entropies, dim=1)  # (B, T)
        self._log_probs, self._entropies = [], []
        if reward.shape != log_probs.shape[:1] or (mask is not None and mask.shape != log_probs.shape):
            raise ValueError(
                f"hard attention recorded {tuple(log_probs.shape)} (B, T) samples, but got reward "
                f"{tuple(reward.shape)} (expected ({log_probs.shape[0]},)) and mask "
                f"{None if mask is None else tuple(mask.shape)} (expected (B, T))"
            )
        counted = torch.ones_like(log_probs) if mask is None else mask.to(log_probs.dtype)  # (B, T)
        reward = reward.detach().to(log_probs.dtype)  # (B,)
        advantage = (reward - self.baseline.to(log_probs.dtype)).unsqueeze(1)  # (B, 1)
        steps = counted.sum().clamp(min=1.0)
        surrogate = -((advantage * log_probs + self.entropy_weight * entropies) * counted).sum() / steps
        with torch.no_grad():
            mean = reward.mean().to(self.baseline.dtype)
            self.baseline.copy_(
                torch.where(
                    self.baseline_ready, self.baseline_decay * self.baseline + (1 - self.baseline_decay) * mean, mean
                )
            )
            self.baseline_ready.fill_(True)
        return surrogate

    def extra_repr(self) -> str:
        return (f"query_size={self.query_size}, memory_size={self.memory_size}, score={self.score_name}, "
                f"estimator={self.estimator}, temperature={self.temperature}, inference={self.inference}")
