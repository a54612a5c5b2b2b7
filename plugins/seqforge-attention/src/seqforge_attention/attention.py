"""Global attention: Luong et al. 2015 (dot, general, concat) and Bahdanau et al. 2015 (additive).

Every module here follows :class:`seqforge.interfaces.Attention`. With a query
``h_t`` ``(B, Hq)`` (the decoder's state) and a memory ``h̄_s`` ``(B, S, Hm)``
(the encoder's outputs), each computes

    a_t(s) = exp(score(h_t, h̄_s)) / Σ_{s' real} exp(score(h_t, h̄_s'))    (Luong et al. 2015, eq. 7)
    c_t    = Σ_s a_t(s) h̄_s

and only ``score`` differs between them: each class states it in its
docstring and computes it in its ``score(query, keys) -> (B, S)`` method
right below. ``a_t(s)`` is exactly 0 at padded positions (``mask`` False), so
padded memory never reaches the context or the gradients; a row with no real
position gets all-zero weights and a zero context.

The memory-only part of each score (``W_a h̄_s`` for general, ``W_m h̄_s`` for
concat and Bahdanau) is computed by ``project_memory`` and may be passed back
as ``keys`` at every decoder step, so it is computed once per source batch
rather than once per target token.

Shape letters: ``B`` batch, ``S`` source positions, ``Hq`` query size, ``Hm``
memory size, ``A`` attention size (the hidden width of concat/Bahdanau's MLP).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over ``S`` that is exactly 0 where ``mask`` is False.

    A row whose mask is all False (no real position) gets all-zero weights
    rather than ``softmax(-inf, ..., -inf) = NaN``, and no NaN gradients.

    Args:
        scores: ``(B, S)`` unnormalised scores.
        mask: ``(B, S)`` bool, True at real positions.

    Returns:
        ``(B, S)`` weights summing to 1 over the real positions of each row (0 for an all-masked row).
    """
    has_real = mask.any(dim=-1, keepdim=True)  # (B, 1)
    scores = scores.masked_fill(~mask, float("-inf"))  # (B, S)
    # exp(-inf) = 0 exactly, but a row of only -inf is NaN: give such rows finite scores and zero them below.
    scores = scores.masked_fill(~has_real, 0.0)  # (B, S)
    weights = torch.softmax(scores, dim=-1)  # (B, S)
    return weights.masked_fill(~has_real, 0.0)  # (B, S)


def attend(scores: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """``a_t = masked_softmax(scores)``, ``c_t = Σ_s a_t(s) h̄_s``.

    Args:
        scores: ``(B, S)``.
        memory: ``(B, S, Hm)``.
        mask: ``(B, S)`` bool, True at real positions.

    Returns:
        ``(context (B, Hm), weights (B, S))``.
    """
    weights = masked_softmax(scores, mask)  # (B, S)
    context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 1, S) @ (B, S, Hm) -> (B, Hm)
    return context, weights


def _check_size(key: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{key} must be a positive integer, got {value!r}")


def _dot_scores(query: Tensor, keys: Tensor) -> Tensor:
    """``score_s = q^T k_s`` for every ``s``: ``query`` ``(B, K)``, ``keys`` ``(B, S, K)`` -> ``(B, S)``."""
    return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)  # (B, S, K) @ (B, K, 1) -> (B, S)


class LuongDotAttention(nn.Module):
    """Luong et al. 2015, eq. 8, *dot*: ``score(h_t, h̄_s) = h_t^T h̄_s``.

    With ``scale=True``: ``score(h_t, h̄_s) = h_t^T h̄_s / sqrt(Hq)`` (the scaled
    dot product of Vaswani et al. 2017), which keeps the softmax from saturating
    when ``Hq`` is large. No parameters; the keys are the memory itself.

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size; must equal ``Hq``.
        scale: divide the scores by ``sqrt(Hq)``.

    Raises:
        ValueError: ``query_size != memory_size`` (the message names both and ``model.hidden_size``).
    """

    def __init__(self, query_size: int, memory_size: int, scale: bool = False) -> None:
        super().__init__()
        _check_size("query_size", query_size)
        _check_size("memory_size", memory_size)
        if query_size != memory_size:
            raise ValueError(
                f"luong_dot scores h_t^T h_s, so the query size (decoder hidden size) must equal the memory size "
                f"(encoder output size); got query_size={query_size} and memory_size={memory_size}. Make them "
                f"match through `model.hidden_size` (a bidirectional encoder that concatenates directions outputs "
                f"2 x model.hidden_size), or choose an attention with a learned projection: "
                f"model/attention=luong_general, luong_concat or bahdanau."
            )
        self.query_size = query_size
        self.memory_size = memory_size
        self.scale = scale
        self._factor = 1.0 / math.sqrt(query_size) if scale else 1.0

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``h_t^T h̄_s`` (``/ sqrt(Hq)`` if scaled) for every ``s``: ``query`` ``(B, Hq)``, ``keys`` ``(B, S, Hm)`` ->
        ``(B, S)``."""
        scores = _dot_scores(query, keys)  # (B, S)
        return scores * self._factor if self.scale else scores

    def project_memory(self, memory: Tensor) -> Tensor:
        """Keys for dot scoring are the memory itself: ``(B, S, Hm) -> (B, S, Hm)``."""
        return memory

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)`` -> ``(context (B, Hm), weights (B,
        S))``."""
        keys = self.project_memory(memory) if keys is None else keys  # (B, S, Hm)
        return attend(self.score(query, keys), memory, mask)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, memory_size={self.memory_size}, scale={self.scale}"


class LuongGeneralAttention(nn.Module):
    """Luong et al. 2015, eq. 8, *general*: ``score(h_t, h̄_s) = h_t^T W_a h̄_s``.

    ``W_a`` is ``(Hq, Hm)``, so query and memory sizes may differ. Keys are
    ``W_a h̄_s`` ``(B, S, Hq)``; the score is then a dot product with ``h_t``. No
    bias: ``h_t^T (W_a h̄_s + b)`` adds ``h_t^T b``, the same for every ``s``,
    which the softmax cancels.

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size.
    """

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        _check_size("query_size", query_size)
        _check_size("memory_size", memory_size)
        self.query_size = query_size
        self.memory_size = memory_size
        self.w_a = nn.Linear(memory_size, query_size, bias=False)  # W_a: (Hq, Hm)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``h_t^T (W_a h̄_s)`` for every ``s``: ``query`` ``(B, Hq)``, ``keys`` ``(B, S, Hq)`` -> ``(B, S)``."""
        return _dot_scores(query, keys)  # (B, S)

    def project_memory(self, memory: Tensor) -> Tensor:
        """``W_a h̄_s`` for every ``s``: ``(B, S, Hm) -> (B, S, Hq)``."""
        return self.w_a(memory)  # (B, S, Hq)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)`` -> ``(context (B, Hm), weights (B,
        S))``."""
        keys = self.project_memory(memory) if keys is None else keys  # (B, S, Hq)
        return attend(self.score(query, keys), memory, mask)


#: Values of ``(rows, S, A)`` scored at a time by the additive attentions (~1 MB of float32).
_BLOCK_ELEMENTS = 1 << 18


def _additive_block(q: Tensor, keys: Tensor, v: Tensor) -> Tensor:
    """``2 v^T σ(2 (q + k_s)) - Σ v`` = ``v^T tanh(q + k_s)``: ``q`` ``(b, A)``, ``keys`` ``(b, S, A)``, ``v`` ``(A,)``
    -> ``(b, S)``."""
    z = (q.unsqueeze(1) + keys).mul_(2)  # (b, 1, A) + (b, S, A) -> (b, S, A): 2z, in place on the fresh sum
    return 2 * torch.matmul(torch.sigmoid(z), v) - v.sum()  # (b, S, A) @ (A,) -> (b, S)


class _AdditiveAttention(nn.Module):
    """``v_a^T tanh(W_q h_t + W_m h̄_s [+ b])``: shared by Luong's concat (no bias) and Bahdanau's (bias)."""

    memory_bias: bool = False

    def __init__(self, query_size: int, memory_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        _check_size("query_size", query_size)
        _check_size("memory_size", memory_size)
        _check_size("model.attention.attention_size", attention_size)
        self.query_size = query_size
        self.memory_size = memory_size
        self.attention_size = attention_size or query_size
        self.w_q = nn.Linear(query_size, self.attention_size, bias=False)  # W_q: (A, Hq)
        self.w_m = nn.Linear(memory_size, self.attention_size, bias=self.memory_bias)  # W_m: (A, Hm) (and b: (A,))
        self.v_a = nn.Linear(self.attention_size, 1, bias=False)  # v_a: (1, A)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``v_a^T tanh(W_q h_t + keys_s)`` for every ``s``: ``query`` ``(B, Hq)``, ``keys`` ``(B, S, A)`` -> ``(B,
        S)``.

        This elementwise pass over ``(B, S, A)`` dominates beam search, so two CPU speed-ups
        that leave the number unchanged (to float rounding):

        * ``tanh z = 2 σ(2z) - 1``, so the score is ``2 v_a^T σ(2z) - Σ v_a``: PyTorch's CPU
          ``sigmoid`` is about 10x faster than its ``tanh``;
        * rows are scored in blocks of about ``_BLOCK_ELEMENTS`` values, so each temporary stays
          in cache instead of being a fresh multi-MB allocation at every decoding step (about
          5x faster for beam-sized batches; a training batch is usually one block).
        """
        q = self.w_q(query)  # (B, A)
        v = self.v_a.weight.squeeze(0)  # (A,)
        rows = max(1, _BLOCK_ELEMENTS // max(1, keys.shape[1] * keys.shape[2]))
        blocks = [_additive_block(q[i : i + rows], keys[i : i + rows], v) for i in range(0, q.shape[0], rows)]
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks)  # (B, S)

    def project_memory(self, memory: Tensor) -> Tensor:
        """``W_m h̄_s (+ b)`` for every ``s``: ``(B, S, Hm) -> (B, S, A)``."""
        return self.w_m(memory)  # (B, S, A)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)`` -> ``(context (B, Hm), weights (B,
        S))``."""
        keys = self.project_memory(memory) if keys is None else keys  # (B, S, A)
        return attend(self.score(query, keys), memory, mask)


class LuongConcatAttention(_AdditiveAttention):
    """Luong et al. 2015, eq. 8, *concat*: ``score(h_t, h̄_s) = v_a^T tanh(W_a [h_t; h̄_s])``.

    ``W_a`` ``(A, Hq + Hm)`` is kept as its two column blocks ``W_a = [W_q W_m]``,
    since ``W_a [h_t; h̄_s] = W_q h_t + W_m h̄_s``: the memory part ``W_m h̄_s``
    ``(B, S, A)`` is the keys (computed once per source batch), the query part
    once per step. ``v_a`` is ``(A,)``. No bias, as in the paper; with one this
    is :class:`BahdanauAttention`.

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size.
        attention_size: ``A``; None means ``Hq``.
    """

    memory_bias = False


class BahdanauAttention(_AdditiveAttention):
    """Bahdanau et al. 2015, appendix A.1.2 (additive): ``score(h_t, h̄_s) = v_a^T tanh(W_q h_t + W_m h̄_s + b)``.

    The paper writes ``e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)`` and omits
    biases for readability; here ``W_q = W_a``, ``W_m = U_a``, and ``b`` ``(A,)``
    is folded into the memory projection, so the keys ``W_m h̄_s + b``
    ``(B, S, A)`` carry it and it is added once per source batch. ``v_a`` is ``(A,)``.

    The score is Luong's concat plus a bias; what makes a decoder "Bahdanau"
    is also *which* state it queries with (the previous one, ``s_{i-1}``) and
    that the context feeds the next recurrent step — that is the decoder's wiring.

    Args:
        query_size: ``Hq``, the decoder's hidden size.
        memory_size: ``Hm``, the encoder's output size.
        attention_size: ``A``; None means ``Hq``.
    """

    memory_bias = True
