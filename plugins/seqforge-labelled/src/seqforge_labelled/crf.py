"""A linear-chain conditional random field over per-token tag scores (Lafferty et al. 2001; Lample et al. 2016).

The tagger's encoder gives emission scores ``E[b, t, k]``; the CRF adds a learned
transition score ``A[i, j]`` for tag ``i`` followed by tag ``j`` and start/end scores
``s[k]``, ``e[k]``. A tagging ``y`` of a sentence of length ``n`` scores

    score(y) = s[y_0] + sum_{t<n} E[t, y_t] + sum_{1<=t<n} A[y_{t-1}, y_t] + e[y_{n-1}]

and ``p(y | x) = exp(score(y)) / Z`` with ``Z`` the sum over all ``K^n`` taggings, computed by the
forward algorithm in log space. Decoding is Viterbi (the max-sum version of the same recursion).

Constraints (e.g. IOB2: ``O -> I-X`` is impossible) are a boolean mask of allowed transitions;
a forbidden one scores ``FORBIDDEN`` (finite, so an all-forbidden case has no NaN and gradients
stay defined — AllenNLP does the same) and never learns.

Shapes are batch first: emissions ``(B, T, K)``, tags and mask ``(B, T)``; each row of the mask
is a prefix of ``True`` (the sentence) of length >= 1 followed by padding, which never changes a score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from seqforge.api import ConfigError

FORBIDDEN = -10000.0  # score of a forbidden transition: exp(-1e4) is 0 in float32 and float64, yet finite
_IOB = re.compile(r"^(O|[BI]-.+)$")


class LinearChainCRF(nn.Module):
    """Transition, start and end scores over ``num_tags`` tags, with optional allowed-transition masks.

    Args:
        num_tags: ``K``.
        allowed: ``(K, K)`` bool, ``allowed[i, j]``: tag ``j`` may follow tag ``i`` (default: all).
        allowed_start, allowed_end: ``(K,)`` bool, which tags may begin / end a sentence (default: all).
    """

    def __init__(
        self,
        num_tags: int,
        *,
        allowed: Tensor | None = None,
        allowed_start: Tensor | None = None,
        allowed_end: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.num_tags = num_tags
        # Zero init: the untrained CRF is the per-token softmax tagger (every tagging's score is its emissions).
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # (K, K) from i to j
        self.start = nn.Parameter(torch.zeros(num_tags))  # (K,)
        self.end = nn.Parameter(torch.zeros(num_tags))  # (K,)
        full = torch.ones(num_tags, dtype=torch.bool)
        self.register_buffer("allowed", (allowed if allowed is not None else full.outer(full)).bool().clone())  # (K, K)
        # (K,)
        self.register_buffer("allowed_start", (allowed_start if allowed_start is not None else full).bool().clone())
        self.register_buffer("allowed_end", (allowed_end if allowed_end is not None else full).bool().clone())  # (K,)

    def scores(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        """Transition ``(K, K)``, start ``(K,)`` and end ``(K,)`` scores with forbidden entries at ``FORBIDDEN``."""
        return (
            self.transitions.to(dtype).masked_fill(~self.allowed, FORBIDDEN),
            self.start.to(dtype).masked_fill(~self.allowed_start, FORBIDDEN),
            self.end.to(dtype).masked_fill(~self.allowed_end, FORBIDDEN),
        )

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """``score(y)`` of the given taggings: emissions ``(B, T, K)``, tags and mask ``(B, T)`` -> ``(B,)``.

        Tags at padded steps are ignored (any value, e.g. ``-100``).
        """
        _check_mask(mask)
        trans, start, end = self.scores(emissions.dtype)
        tags = tags.masked_fill(~mask, 0)  # (B, T) padding -> a valid index; masked out below
        maskf = mask.to(emissions.dtype)  # (B, T)
        emitted = emissions.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # (B, T) E[t, y_t]
        total = start[tags[:, 0]] + (emitted * maskf).sum(1)  # (B,)
        if tags.shape[1] > 1:
            moved = trans[tags[:, :-1], tags[:, 1:]]  # (B, T-1) A[y_{t-1}, y_t]
            total = total + (moved * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (B,) y_{n-1}
        return total + end[last]

    def partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """``log Z`` by the forward algorithm: emissions ``(B, T, K)``, mask ``(B, T)`` -> ``(B,)``.

        ``alpha_0[k] = s[k] + E[0, k]``;
        ``alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + E[t, j]`` on real steps (padding keeps ``alpha``);
        ``log Z = logsumexp_k(alpha_{n-1}[k] + e[k])``.
        """
        _check_mask(mask)
        trans, start, end = self.scores(emissions.dtype)
        alpha = start + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]  # (B, K, 1) + (K, K) -> (B, K)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)  # (B, K)
        return torch.logsumexp(alpha + end, dim=1)  # (B,)

    def log_likelihood(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """``log p(y | x) = score(y) - log Z`` per sentence ``(B,)``."""
        return self.score(emissions, tags, mask) - self.partition(emissions, mask)

    def forward(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood per sentence ``(B,)`` (the training loss; reduce it as you like)."""
        return -self.log_likelihood(emissions, tags, mask)

    @torch.no_grad()
    def viterbi_decode(self, emissions: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """The best tagging per sentence and its score: ``(B, T)`` tags (padding repeats the last tag), ``(B,)``.

        ``delta_0[k] = s[k] + E[0, k]``; ``delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + E[t, j]`` with
        back-pointer ``argmax_i``; padded steps keep ``delta`` and point each tag to itself, so
        backtracking from ``argmax_k(delta_{T-1}[k] + e[k])`` walks through padding unchanged.
        """
        _check_mask(mask)
        trans, start, end = self.scores(emissions.dtype)
        B, T, K = emissions.shape
        delta = start + emissions[:, 0]  # (B, K)
        identity = torch.arange(K, device=emissions.device).expand(B, K)  # (B, K)
        pointers = []
        for t in range(1, T):
            best, previous = (delta.unsqueeze(2) + trans).max(dim=1)  # (B, K, K) -> (B, K), (B, K)
            here = mask[:, t].unsqueeze(1)  # (B, 1)
            delta = torch.where(here, best + emissions[:, t], delta)  # (B, K)
            pointers.append(torch.where(here, previous, identity))  # (B, K)
        final = delta + end  # (B, K)
        best_score, tag = final.max(dim=1)  # (B,), (B,)
        path = [tag]
        for back in reversed(pointers):
            tag = back.gather(1, tag.unsqueeze(1)).squeeze(1)  # (B,)
            path.append(tag)
        return torch.stack(path[::-1], dim=1), best_score  # (B, T), (B,)


def _check_mask(mask: Tensor) -> None:
    if mask.dtype != torch.bool or mask.dim() != 2:
        raise TypeError(f"the CRF mask must be a (B, T) bool tensor, got {tuple(mask.shape)} {mask.dtype}")
    if mask.shape[1] == 0 or not bool(mask[:, 0].all()):
        raise ValueError("every sentence given to the CRF needs at least one token (mask[:, 0] must be True)")


# -- constraints from tag names ----------------------------------------------------------------------

CONSTRAINTS = ("auto", "iob2", "none")


def iob2_allowed(tags: Sequence[str]) -> tuple[Tensor, Tensor, Tensor]:
    """Allowed transitions ``(K, K)``, starts and ends ``(K,)`` for IOB2 tags: ``I-X`` only after ``B-X`` or ``I-X``.

    So ``O -> I-X``, ``B-Y -> I-X``, ``I-Y -> I-X`` (``Y != X``) and a sentence starting with ``I-X`` are forbidden;
    everything else (any tag after any tag, any end) is allowed.

    Raises:
        ConfigError: a tag that is not ``O``, ``B-X`` or ``I-X``.
    """
    bad = [tag for tag in tags if not _IOB.match(tag)]
    if bad:
        raise ConfigError(
            "task.crf_constraints=iob2 needs IOB tags (O, B-X, I-X), but the tag set has "
            f"{', '.join(repr(t) for t in bad[:5])}; use task.crf_constraints=none for plain tags such as POS."
        )
    K = len(tags)
    allowed = torch.ones(K, K, dtype=torch.bool)  # (K, K)
    start = torch.ones(K, dtype=torch.bool)  # (K,)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = False
            for i, before in enumerate(tags):
                allowed[i, j] = before[2:] == tag[2:] and before[:2] in ("B-", "I-")
    return allowed, start, torch.ones(K, dtype=torch.bool)


def build_crf(tags: Sequence[str], constraints: str, *, iob: bool) -> LinearChainCRF:
    """The CRF for a tag set; ``constraints`` is ``task.crf_constraints`` (``auto``: ``iob2`` for IOB data, else
    ``none``)."""
    if constraints not in CONSTRAINTS:
        raise ConfigError(f"task.crf_constraints must be one of {', '.join(CONSTRAINTS)}, got '{constraints}'.")
    if constraints == "iob2" or (constraints == "auto" and iob):
        allowed, start, end = iob2_allowed(tags)
        return LinearChainCRF(len(tags), allowed=allowed, allowed_start=start, allowed_end=end)
    return LinearChainCRF(len(tags))
