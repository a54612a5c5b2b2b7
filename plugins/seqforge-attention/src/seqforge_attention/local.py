"""Local attention (Luong, Pham & Manning 2015, §3.2): attend only to a window of ``2D + 1`` source positions.

Global attention weighs every source position at every target step; local
attention first picks an aligned position ``p_t`` and attends only to the
window ``[p_t - D, p_t + D]`` (``D`` is ``model.attention.window``), with any
of the global attentions' score functions (``model.attention.score``):

    local-m (monotonic):  p_t = t                                       (the target position)
                          a_t(s) = align(h_t, h̄_s)                      s in the window
    local-p (predictive): p_t = S · sigmoid(v_p^T tanh(W_p h_t))        (eq. 9; S = the row's source length)
                          a_t(s) = align(h_t, h̄_s) · exp(-(s - p_t)² / 2σ²),  σ = D / 2   (eq. 10)

where ``align`` is the softmax of ``score(h_t, h̄_s)`` over the real positions
inside the window (eq. 7 restricted to it). Padding and positions outside the
window get exactly 0, so neither reaches the context or the gradients.

Shape letters: ``B`` batch, ``S`` source positions, ``Hq`` query size, ``Hm``
memory size, ``P`` the hidden width of local-p's position predictor.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqforge_attention.attention import _check_size, masked_softmax
from seqforge_attention.scoring import build_scorer


def source_lengths(mask: Tensor) -> Tensor:
    """Real positions per row: ``(B, S)`` bool -> ``(B,)`` long."""
    return mask.sum(dim=-1)  # (B,)


def window_mask(centre: Tensor, mask: Tensor, window: int) -> Tensor:
    """Real positions ``s`` with ``|s - centre| <= D``: ``centre`` ``(B,)`` (int or real), ``mask`` ``(B, S)`` -> ``(B,
    S)`` bool."""
    positions = torch.arange(
        mask.shape[1], device=mask.device, dtype=centre.dtype if centre.is_floating_point() else torch.long
    )  # (S,)
    inside = (positions.unsqueeze(0) - centre.unsqueeze(1)).abs() <= window  # (B, S)
    return inside & mask  # (B, S)


class _LocalAttention(nn.Module):
    """What local-m and local-p share: the score function, the keys, and attending within a window."""

    def __init__(
        self,
        query_size: int,
        memory_size: int,
        *,
        score: str,
        window: int,
        attention_size: int | None,
        scale: bool,
        min_window: int,
    ) -> None:
        super().__init__()
        _check_size("query_size", query_size)
        _check_size("memory_size", memory_size)
        if isinstance(window, bool) or not isinstance(window, int) or window < min_window:
            raise ValueError("model.attention.window (D, the half-width of the window [p_t - D, p_t + D]) must be an "
                             f"integer >= {min_window}, got {window!r}")
        self.query_size = query_size
        self.memory_size = memory_size
        self.score_name = score
        self.window = window
        self.scorer = build_scorer(score, query_size, memory_size, attention_size, scale)

    def project_memory(self, memory: Tensor) -> Tensor:
        """The score function's keys, once per source batch: ``(B, S, Hm) -> (B, S, K)``."""
        return self.scorer.project_memory(memory)  # (B, S, K)

    def _align(self, query: Tensor, memory: Tensor, inside: Tensor, keys: Tensor | None) -> Tensor:
        """``align(h_t, h̄_s)``: the softmax of the scores over ``inside`` ``(B, S)``, exactly 0 elsewhere -> ``(B,
        S)``."""
        keys = self.project_memory(memory) if keys is None else keys  # (B, S, K)
        return masked_softmax(self.scorer.score(query, keys), inside)  # (B, S)

    def extra_repr(self) -> str:
        return (f"query_size={self.query_size}, memory_size={self.memory_size}, score={self.score_name}, "
                f"window={self.window}")


def _context(weights: Tensor, memory: Tensor) -> Tensor:
    """``c_t = Σ_s a_t(s) h̄_s``: ``(B, S)``, ``(B, S, Hm)`` -> ``(B, Hm)``."""
    return torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 1, S) @ (B, S, Hm) -> (B, Hm)


class LocalMAttention(_LocalAttention):
    """Luong et al. 2015, §3.2, *local-m* (monotonic alignment): ``p_t = t``, window ``[t - D, t + D]``.

    ``a_t(s) = softmax_{s in window} score(h_t, h̄_s)`` and 0 outside. ``t`` is
    the decoder's step (``step=``, the 0-based index of the target token being
    produced); a target longer than its source keeps the window centred on
    the source's last position (``p_t = min(t, S - 1)``), so the window is
    clipped to the source and never empty.

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size.
        score: ``dot``, ``general``, ``concat`` or ``bahdanau`` (see :mod:`seqforge_attention.attention`).
        window: ``D >= 0``.
        attention_size: ``A`` of concat/bahdanau (None: ``Hq``).
        scale: divide dot scores by ``sqrt(Hq)``.
    """

    #: Declares :class:`seqforge.interfaces.StepAttention`: the decoder passes ``step=t``.
    needs_step = True

    def __init__(
        self, query_size: int, memory_size: int, score: str = "general", window: int = 5,
        attention_size: int | None = None, scale: bool = False,
    ) -> None:
        super().__init__(
            query_size,
            memory_size,
            score=score,
            window=window,
            attention_size=attention_size,
            scale=scale,
            min_window=0,
        )

    def centre(self, step: Tensor | int, mask: Tensor) -> Tensor:
        """``p_t = min(t, S_b - 1)`` per row: ``step`` an int or ``(B,)`` -> ``(B,)`` long."""
        lengths = source_lengths(mask)  # (B,)
        t = torch.as_tensor(step, device=mask.device).long().expand(mask.shape[0])  # (B,)
        return torch.minimum(t, (lengths - 1).clamp(min=0))  # (B,)

    def forward(
        self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None, *, step: Tensor | int = 0
    ) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)``, ``step`` ``t`` (int or ``(B,)``) ->
        ``(context (B, Hm), weights (B, S))``."""
        inside = window_mask(self.centre(step, mask), mask, self.window)  # (B, S)
        weights = self._align(query, memory, inside, keys)  # (B, S)
        return _context(weights, memory), weights


class LocalPAttention(_LocalAttention):
    """Luong et al. 2015, §3.2, *local-p* (predictive alignment), eqs. 9–10.

    ``p_t = S · sigmoid(v_p^T tanh(W_p h_t))``, with ``S`` each row's real source
    length, ``W_p`` ``(P, Hq)`` and ``v_p`` ``(P,)``; the window is the real
    positions with ``|s - p_t| <= D``. Then

        a_t(s) = softmax_{s in window} score(h_t, h̄_s) · exp(-(s - p_t)² / 2σ²),   σ = D / 2

    The Gaussian favours positions near ``p_t`` and is what trains ``W_p, v_p``
    (the window's edges have no gradient). As in the paper the Gaussian multiplies
    the normalised weights, so they sum to at most 1 (``weights_sum_to_one``);
    ``normalize=True`` divides them by their sum instead (a softmax of
    ``score - (s - p_t)² / 2σ²`` over the window). ``D >= 1`` keeps a real position
    within the window (``p_t`` is at most 1 away from one).

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size.
        score: ``dot``, ``general``, ``concat`` or ``bahdanau``.
        window: ``D >= 1``.
        predict_size: ``P``, the width of ``W_p``; None means ``Hq``.
        normalize: renormalise the Gaussian-weighted weights to sum to 1.
        attention_size: ``A`` of concat/bahdanau (None: ``Hq``).
        scale: divide dot scores by ``sqrt(Hq)``.
    """

    def __init__(
        self,
        query_size: int,
        memory_size: int,
        score: str = "general",
        window: int = 5,
        predict_size: int | None = None,
        normalize: bool = False,
        attention_size: int | None = None,
        scale: bool = False,
    ) -> None:
        super().__init__(
            query_size,
            memory_size,
            score=score,
            window=window,
            attention_size=attention_size,
            scale=scale,
            min_window=1,
        )
        _check_size("model.attention.predict_size", predict_size)
        self.predict_size = predict_size or query_size
        self.normalize = normalize
        self.weights_sum_to_one = normalize  # the paper's weights (normalize=False) are damped by the Gaussian
        self.sigma = window / 2.0
        self.w_p = nn.Linear(query_size, self.predict_size, bias=False)  # W_p: (P, Hq)
        self.v_p = nn.Linear(self.predict_size, 1, bias=False)  # v_p: (1, P)

    def centre(self, query: Tensor, mask: Tensor) -> Tensor:
        """``p_t = S · sigmoid(v_p^T tanh(W_p h_t))`` (eq. 9): ``query`` ``(B, Hq)`` -> ``(B,)`` real, in ``[0, S]``."""
        lengths = source_lengths(mask).to(query.dtype)  # (B,)
        return lengths * torch.sigmoid(self.v_p(torch.tanh(self.w_p(query)))).squeeze(-1)  # (B, 1) -> (B,)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)`` -> ``(context (B, Hm), weights (B,
        S))``."""
        p_t = self.centre(query, mask)  # (B,)
        inside = window_mask(p_t.detach(), mask, self.window)  # (B, S)
        align = self._align(query, memory, inside, keys)  # (B, S)
        positions = torch.arange(mask.shape[1], device=mask.device, dtype=query.dtype)  # (S,)
        gaussian = torch.exp(-((positions.unsqueeze(0) - p_t.unsqueeze(1)) ** 2) / (2 * self.sigma**2))  # (B, S)
        weights = align * gaussian  # (B, S), exactly 0 wherever align is
        if self.normalize:
            total = weights.sum(dim=-1, keepdim=True)  # (B, 1)
            # (B, S); an all-padding row stays 0
            weights = weights / torch.where(total > 0, total, torch.ones_like(total))
        return _context(weights, memory), weights

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, predict_size={self.predict_size}, normalize={self.normalize}"
