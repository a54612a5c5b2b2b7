"""Decoding that knows nothing about cells, attentions or tasks: greedy, beam and sampling search.

The model is seen only through a step function::

    step(tokens: (N,) long, state) -> (log_probs (N, V), new_state, attention (N, S) or None)

``tokens`` are the previous tokens (BOS at the first step). ``state`` is any
pytree of tensors in tuples, lists or dataclasses (see
:func:`~seqforge.recurrent.state.map_state`) whose tensor leaves *all* have the
batch dimension ``N`` first; non-tensor leaves pass through untouched. The
caller builds the initial state for ``B`` sentences. The searches expand it to
``B * K`` rows for ``K`` beams (:func:`expand_state`) and reorder or shrink it
as hypotheses move between beams and sentences finish
(:func:`select_state_rows`), so one search serves any cell, any attention,
encoder memory kept in the state, and any task.

``log_probs`` must be normalised (a ``log_softmax``, every entry ``<= 0``):
beam search relies on a hypothesis' log-probability never growing to stop early.

Shape letters: ``B`` sentences, ``K`` beams, ``N`` rows handed to ``step``
(``B`` or ``B * K``; fewer once sentences finish), ``V`` vocabulary, ``S``
source positions, ``T`` generated tokens.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from seqforge.recurrent.state import map_state, state_leaves
from seqforge.sampling import sample_next

__all__ = [
    "Hypothesis",
    "LengthPenalty",
    "StepFn",
    "beam_search",
    "expand_state",
    "greedy_search",
    "penalised_score",
    "sample_search",
    "select_state_rows",
]

#: ``step(tokens (N,), state) -> (log_probs (N, V), new_state, attention (N, S) | None)``.
StepFn = Callable[[Tensor, Any], tuple[Tensor, Any, Tensor | None]]

#: How beam search normalises a hypothesis' log-probability for ranking.
LengthPenalty = Literal["none", "avg", "gnmt"]
_PENALTIES = ("none", "avg", "gnmt")

MaxLen = int | Tensor


@dataclass
class Hypothesis:
    """One decoded sequence.

    Attributes:
        tokens: generated token ids, without BOS and without the final EOS.
        score: the score used for ranking: ``log_prob`` divided by the length
            penalty (beam search); equal to ``log_prob`` for greedy and sampling.
        log_prob: raw sum of the log-probabilities of every generated token,
            the final EOS included.
        attention: ``(T, S)``, one row per generated token including the EOS
            step if there is one; ``None`` when ``step`` returns no attention.
        finished: True if the hypothesis ended with EOS, False if ``max_len``
            cut it.
    """

    tokens: list[int]
    score: float
    log_prob: float
    attention: Tensor | None = None
    finished: bool = True


# -- state helpers ---------------------------------------------------------------------------


def expand_state(state: Any, k: int) -> Any:
    """Repeat every sentence's rows ``k`` times, consecutively: ``(B, *) -> (B * k, *)``.

    Row ``b * k + j`` of the result is beam ``j`` of sentence ``b``.
    """
    return map_state(lambda t: t.repeat_interleave(k, dim=0), state)  # (B * k, *)


def select_state_rows(state: Any, index: Tensor) -> Any:
    """Pick rows ``index`` (``(M,)`` long) of every tensor leaf: ``(N, *) -> (M, *)``.

    Reorders beams (a row may be picked several times) and drops finished sentences.
    """
    return map_state(lambda t: t.index_select(0, index.to(t.device)), state)  # (M, *)


def reorder_beams(state: Any, rows: Tensor) -> Any:
    """Reorder beams *within* their sentences: ``rows`` never leaves a sentence's group of K rows.

    A dataclass state may name fields in ``beam_static_fields`` (a class
    attribute) that are identical for all beams of a sentence — e.g. the
    encoder memory. Those are not copied here (only :func:`select_state_rows`,
    which also drops sentences, touches them), which saves a full copy of the
    memory per decoding step.
    """
    static = getattr(type(state), "beam_static_fields", ())
    if not static or not dataclasses.is_dataclass(state) or isinstance(state, type):
        return select_state_rows(state, rows)
    moving = {
        f.name: select_state_rows(getattr(state, f.name), rows)
        for f in dataclasses.fields(state)
        if f.init and f.name not in static
    }
    return dataclasses.replace(state, **moving)


# -- length penalties ------------------------------------------------------------------------


def penalised_score(log_prob: float, length: int, *, kind: LengthPenalty, alpha: float = 0.6) -> float:
    """The ranking score of a hypothesis: ``log_prob / lp(length)``.

    ``length`` counts generated tokens, the final EOS included.

    - ``none``: ``lp = 1`` (rank by raw log-probability).
    - ``avg``: ``lp = length`` (average log-probability per token).
    - ``gnmt`` (Wu et al. 2016, eq. 14): ``lp = ((5 + length) / 6) ** alpha``.

    For ``log_prob <= 0`` and ``alpha >= 0`` the score grows with ``length``,
    which is why beam search bounds a live beam's future score with ``max_len``.
    """
    if kind == "none":
        return log_prob
    if kind == "avg":
        return log_prob / max(length, 1)
    if kind == "gnmt":
        lp: float = ((5.0 + length) / 6.0) ** alpha  # typeshed: float ** float may be complex (not for a base > 0)
        return log_prob / lp
    raise ValueError(f"length_penalty must be one of {_PENALTIES}, got {kind!r}")


# -- shared plumbing -------------------------------------------------------------------------


def _device_of(state: Any) -> torch.device:
    leaves = state_leaves(state)
    return leaves[0].device if leaves else torch.device("cpu")


def _limits(max_len: MaxLen, batch_size: int) -> list[int]:
    """``max_len`` as one python int per sentence."""
    if isinstance(max_len, Tensor):
        if max_len.shape != (batch_size,):
            raise ValueError(f"max_len must be an int or a (B,) = ({batch_size},) tensor, got shape "
                             f"{tuple(max_len.shape)}")
        return [int(m) for m in max_len.tolist()]
    return [int(max_len)] * batch_size


def _check_common(batch_size: int, min_len: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if min_len < 0:
        raise ValueError(f"min_len must be >= 0, got {min_len}")


def _call(step: StepFn, tokens: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
    """Run ``step`` and check that it answered one row per input row."""
    log_probs, state, attention = step(tokens, state)
    n = tokens.shape[0]
    if log_probs.dim() != 2 or log_probs.shape[0] != n:
        raise ValueError(f"step must return log_probs of shape (N, V) with N = {n}, got {tuple(log_probs.shape)}")
    if attention is not None and (attention.dim() != 2 or attention.shape[0] != n):
        raise ValueError(f"step must return attention of shape (N, S) with N = {n} or None, got "
                         f"{tuple(attention.shape)}")
    return log_probs, state, attention


def _forbid(log_probs: Tensor, token_id: int) -> Tensor:
    """``log_probs`` with column ``token_id`` set to ``-inf`` (out of place)."""
    return log_probs.index_fill(1, torch.tensor([token_id], device=log_probs.device), float("-inf"))


def _append_attention(history: Tensor | None, attention: Tensor | None, steps_before: int) -> Tensor | None:
    """``(N, t, S)`` + ``(N, S)`` -> ``(N, t + 1, S)``; None as soon as any step gave no attention."""
    if attention is None or (history is None and steps_before > 0):
        return None
    row = attention.detach().unsqueeze(1)  # (N, 1, S)
    return row if history is None else torch.cat([history, row], dim=1)  # (N, t + 1, S)


def _empty_hypothesis() -> Hypothesis:
    """What a sentence with ``max_len <= 0`` decodes to."""
    return Hypothesis(tokens=[], score=0.0, log_prob=0.0, attention=None, finished=False)


# -- greedy and sampling ---------------------------------------------------------------------


def _single_path(
    step: StepFn,
    state: Any,
    *,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    max_len: MaxLen,
    min_len: int,
    choose: Callable[[Tensor], Tensor],
) -> list[list[Hypothesis]]:
    """One hypothesis per sentence; ``choose`` turns ``(N, V)`` log-probs into ``(N,)`` next tokens.

    Finished sentences leave the batch, so ``step`` only ever sees live rows.
    """
    _check_common(batch_size, min_len)
    device = _device_of(state)
    limits = _limits(max_len, batch_size)
    results: list[list[Hypothesis]] = [[_empty_hypothesis()] if limits[b] <= 0 else [] for b in range(batch_size)]
    active = [b for b in range(batch_size) if limits[b] > 0]
    if not active:
        return results
    if len(active) < batch_size:
        state = select_state_rows(state, torch.tensor(active, device=device))

    limit_t = torch.tensor([limits[b] for b in active], device=device)  # (N,)
    tokens = torch.full((len(active),), bos_id, dtype=torch.long, device=device)  # (N,)
    seqs = tokens.new_empty((len(active), 0))  # (N, 0)
    total = torch.zeros(len(active), device=device)  # (N,)
    attn: Tensor | None = None  # (N, t, S)
    t = 0
    while active:
        log_probs, state, attention = _call(step, tokens, state)  # (N, V)
        if t < min_len:
            log_probs = _forbid(log_probs, eos_id)
        next_tokens = choose(log_probs).to(device)  # (N,)
        total = total + log_probs.gather(1, next_tokens.unsqueeze(1)).squeeze(1)  # (N,)
        seqs = torch.cat([seqs, next_tokens.unsqueeze(1)], dim=1)  # (N, t + 1)
        attn = _append_attention(attn, attention, t)
        t += 1

        ended = next_tokens == eos_id  # (N,)
        done = ended | (limit_t <= t)  # (N,)
        done_rows = done.nonzero().flatten().tolist()
        for row in done_rows:
            is_eos = bool(ended[row])
            ids = seqs[row].tolist()
            results[active[row]].append(
                Hypothesis(
                    tokens=ids[:-1] if is_eos else ids,
                    score=float(total[row].detach()),
                    log_prob=float(total[row].detach()),
                    attention=None if attn is None else attn[row],
                    finished=is_eos,
                )
            )
        if not done_rows:
            tokens = next_tokens
            continue
        keep_rows = (~done).nonzero().flatten()  # (N',)
        active = [active[r] for r in keep_rows.tolist()]
        state = select_state_rows(state, keep_rows)
        tokens = next_tokens[keep_rows]  # (N',)
        seqs = seqs[keep_rows]  # (N', t)
        total = total[keep_rows]  # (N',)
        limit_t = limit_t[keep_rows]  # (N',)
        attn = None if attn is None else attn[keep_rows]  # (N', t, S)
    return results


def greedy_search(
    step: StepFn,
    state: Any,
    *,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    max_len: MaxLen,
    min_len: int = 0,
) -> list[list[Hypothesis]]:
    """Pick the most likely token at every step.

    Args:
        step: the model, see the module docstring.
        state: initial state for ``batch_size`` sentences (tensor leaves ``(B, *)``).
        batch_size: ``B``.
        bos_id: token fed at the first step.
        eos_id: ends a sentence (not part of ``Hypothesis.tokens``).
        max_len: at most this many generated tokens (EOS included); an int or
            a ``(B,)`` tensor, one limit per sentence.
        min_len: EOS is forbidden until this many tokens have been generated.

    Returns:
        ``B`` lists of one :class:`Hypothesis` each (``score == log_prob``).
        Decoding stops as soon as every sentence has ended.
    """
    return _single_path(
        step, state, batch_size=batch_size, bos_id=bos_id, eos_id=eos_id, max_len=max_len, min_len=min_len,
        choose=lambda log_probs: log_probs.argmax(dim=-1),
    )


def sample_search(
    step: StepFn,
    state: Any,
    *,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    max_len: MaxLen,
    min_len: int = 0,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> list[list[Hypothesis]]:
    """Sample every next token with :func:`~seqforge.sampling.sample_next`.

    Arguments are those of :func:`greedy_search` plus the sampling options:
    ``temperature`` (``0`` is greedy), ``top_k``, ``top_p`` (nucleus) and a
    ``generator`` that makes the draw reproducible (it must live on the
    state's device). ``log_prob`` is the model's own (untempered) log-probability
    of the sampled tokens.
    """
    return _single_path(
        step,
        state,
        batch_size=batch_size,
        bos_id=bos_id,
        eos_id=eos_id,
        max_len=max_len,
        min_len=min_len,
        choose=lambda log_probs: sample_next(
            log_probs, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator
        ),
    )


# -- beam search -----------------------------------------------------------------------------


def _block_repeated_ngrams(log_probs: Tensor, history: Tensor, n: int) -> Tensor:
    """``-inf`` for every token that would complete an ``n``-gram already present in ``history``.

    Args:
        log_probs: ``(N, V)`` next-token log-probabilities.
        history: ``(N, t)`` tokens generated so far (BOS excluded).
        n: n-gram order (``n >= 1``).

    Returns:
        ``(N, V)`` log-probabilities with the blocked tokens at ``-inf``.
    """
    t = history.shape[1]
    if t < n:  # no complete n-gram yet, so nothing can repeat one
        return log_probs
    windows = history.unfold(1, n, 1)  # (N, W, n), W = t - n + 1 n-grams seen so far
    prefix = history[:, t - n + 1 :]  # (N, n - 1) the tokens a new n-gram would start with
    match = (windows[..., :-1] == prefix.unsqueeze(1)).all(dim=-1)  # (N, W)
    hits = torch.zeros(log_probs.shape, dtype=torch.long, device=log_probs.device)  # (N, V)
    hits.scatter_add_(1, windows[..., -1], match.long())
    return log_probs.masked_fill(hits > 0, float("-inf"))


def beam_search(
    step: StepFn,
    state: Any,
    *,
    batch_size: int,
    beam_size: int,
    bos_id: int,
    eos_id: int,
    max_len: MaxLen,
    min_len: int = 0,
    length_penalty: LengthPenalty = "none",
    alpha: float = 0.6,
    n_best: int = 1,
    block_ngram_repeat: int = 0,
) -> list[list[Hypothesis]]:
    """Keep the ``beam_size`` best prefixes of every sentence, all sentences in one batch.

    Each time step makes one ``step`` call on ``N = B * K`` rows (fewer once
    sentences finish: they leave the batch). The ``K * V`` candidates of a
    sentence are ranked by raw log-probability; an EOS candidate among the
    ``K`` best becomes a finished hypothesis, and the ``K`` best non-EOS
    candidates become the next beams (the state rows follow them).

    A sentence is done when (1) it has ``beam_size`` finished hypotheses, or
    (2) it has ``n_best`` of them and no live beam can still beat the
    ``n_best``-th under the length penalty, or (3) ``max_len`` is reached, when
    its live beams join the hypotheses unfinished. (2) is a proof, not a
    heuristic: log-probs are ``<= 0``, so a beam's future score is at most its
    current log-prob divided by the largest penalty any length up to
    ``max_len`` can have (for ``none`` simply its current log-prob).

    Args:
        step: the model, see the module docstring.
        state: initial state for ``batch_size`` sentences (tensor leaves ``(B, *)``);
            expanded here to ``(B * K, *)``.
        batch_size: ``B``.
        beam_size: ``K``; ``1`` with ``length_penalty="none"`` is greedy search.
        bos_id: token fed at the first step.
        eos_id: ends a hypothesis (not part of ``Hypothesis.tokens``).
        max_len: at most this many generated tokens (EOS included); an int or a
            ``(B,)`` tensor.
        min_len: EOS is forbidden until this many tokens have been generated.
        length_penalty: ranking score, see :func:`penalised_score`.
        alpha: exponent of the ``gnmt`` penalty.
        n_best: hypotheses returned per sentence (``1 <= n_best <= beam_size``).
        block_ngram_repeat: if ``n > 0``, a token that would complete an
            ``n``-gram already in the hypothesis gets ``-inf``.

    Returns:
        ``B`` lists of at most ``n_best`` :class:`Hypothesis`, best score first
        (fewer only if blocking or ``-inf`` log-probs left no live candidate).
    """
    _check_common(batch_size, min_len)
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best must be between 1 and beam_size={beam_size}, got {n_best}")
    if length_penalty not in _PENALTIES:
        raise ValueError(f"length_penalty must be one of {_PENALTIES}, got {length_penalty!r}")
    if block_ngram_repeat < 0:
        raise ValueError(f"block_ngram_repeat must be >= 0, got {block_ngram_repeat}")

    K = beam_size
    device = _device_of(state)
    limits = _limits(max_len, batch_size)

    def score(log_prob: float, length: int) -> float:
        return penalised_score(log_prob, length, kind=length_penalty, alpha=alpha)

    finished: list[list[Hypothesis]] = [[_empty_hypothesis()] if limits[b] <= 0 else [] for b in range(batch_size)]
    active = [b for b in range(batch_size) if limits[b] > 0]
    if not active:
        return finished
    if len(active) < batch_size:
        state = select_state_rows(state, torch.tensor(active, device=device))

    tokens = torch.full((len(active) * K,), bos_id, dtype=torch.long, device=device)  # (N,)
    seqs = tokens.new_empty((len(active) * K, 0))  # (N, 0)
    attn: Tensor | None = None  # (N, t, S)
    # All K beams start as the same empty prefix: keep one live so the first step yields K distinct ones.
    beam_scores = torch.zeros(len(active), K, device=device)  # (B, K)
    beam_scores[:, 1:] = float("-inf")
    beam_offsets = torch.arange(K, device=device)  # (K,)
    t = 0
    while active:
        b_live = len(active)
        if t == 0:
            # Every beam of a sentence starts from the same state and BOS: run the first step once per
            # sentence, then give each of its K rows a copy (saves K - 1 of K rows' work at that step).
            log_probs, state, attention = _call(step, tokens[:b_live], state)  # (B, V)
            state = expand_state(state, K)  # (N = B * K, *)
            log_probs = log_probs.repeat_interleave(K, dim=0)  # (N, V)
            attention = None if attention is None else attention.repeat_interleave(K, dim=0)  # (N, S)
        else:
            log_probs, state, attention = _call(step, tokens, state)  # (N, V)
        vocab = log_probs.shape[1]
        if t < min_len:
            log_probs = _forbid(log_probs, eos_id)
        if block_ngram_repeat > 0:
            log_probs = _block_repeated_ngrams(log_probs, seqs, block_ngram_repeat)
        candidates = beam_scores.unsqueeze(-1) + log_probs.view(b_live, K, vocab)  # (B, K, V)
        candidates = candidates.view(b_live, K * vocab)  # (B, K * V)
        n_cand = min(2 * K, K * vocab)  # at most K are EOS, so K live ones remain
        top_scores, top_ids = candidates.topk(n_cand, dim=1)  # (B, C), best first
        top_beams = top_ids // vocab  # (B, C)
        top_tokens = top_ids % vocab  # (B, C)
        is_eos = top_tokens == eos_id  # (B, C)
        top_rows = top_beams + (torch.arange(b_live, device=device) * K).unsqueeze(1)  # (B, C) rows of N

        attn = _append_attention(attn, attention, t)  # (N, t + 1, S), rows not yet reordered

        # EOS among the K best candidates: a finished hypothesis (bookkeeping only).
        ended = (is_eos[:, :K] & top_scores[:, :K].isfinite()).nonzero().tolist()
        if ended:
            end_scores = top_scores.tolist()
            end_rows = top_rows.tolist()
            for s, j in ended:
                row, log_prob = end_rows[s][j], end_scores[s][j]
                finished[active[s]].append(
                    Hypothesis(
                        tokens=seqs[row].tolist(),
                        score=score(log_prob, t + 1),
                        log_prob=log_prob,
                        attention=None if attn is None else attn[row],  # (t + 1, S)
                        finished=True,
                    )
                )

        # The K best non-EOS candidates live on; the state, tokens and attention follow them.
        positions = torch.arange(n_cand, device=device)  # (C,)
        order = (is_eos.long() * n_cand + positions).argsort(dim=1)[:, :K]  # (B, K) non-EOS first, best first
        beam_scores = top_scores.gather(1, order).masked_fill(is_eos.gather(1, order), float("-inf"))  # (B, K)
        rows = top_rows.gather(1, order).view(-1)  # (N,)
        tokens = top_tokens.gather(1, order).view(-1)  # (N,)
        state = reorder_beams(state, rows)
        seqs = torch.cat([seqs[rows], tokens.unsqueeze(1)], dim=1)  # (N, t + 1)
        attn = None if attn is None else attn[rows]  # (N, t + 1, S)
        t += 1

        # Which sentences are done (bookkeeping over sentences, no per-step tensor work).
        best_live = beam_scores.max(dim=1).values.tolist()  # (B,)
        keep: list[int] = []
        for s, b in enumerate(active):
            hyps = finished[b]
            if len(hyps) >= K or best_live[s] == float("-inf"):
                continue
            if len(hyps) >= n_best:
                nth_best = sorted((h.score for h in hyps), reverse=True)[n_best - 1]
                # the best score any live beam can still reach, at the next length or at max_len
                bound = max(score(best_live[s], t + 1), score(best_live[s], limits[b]))
                if bound <= nth_best:
                    continue
            if t >= limits[b]:
                live_scores = beam_scores[s].tolist()
                for j in range(K):
                    if math.isfinite(live_scores[j]):
                        row = s * K + j
                        hyps.append(
                            Hypothesis(
                                tokens=seqs[row].tolist(),
                                score=score(live_scores[j], t),
                                log_prob=live_scores[j],
                                attention=None if attn is None else attn[row],  # (t, S)
                                finished=False,
                            )
                        )
                continue
            keep.append(s)
        if len(keep) < b_live:
            keep_t = torch.tensor(keep, dtype=torch.long, device=device)  # (B',)
            keep_rows = (keep_t.unsqueeze(1) * K + beam_offsets).view(-1)  # (N' = B' * K,)
            active = [active[s] for s in keep]
            state = select_state_rows(state, keep_rows)
            tokens = tokens[keep_rows]  # (N',)
            seqs = seqs[keep_rows]  # (N', t)
            attn = None if attn is None else attn[keep_rows]  # (N', t, S)
            beam_scores = beam_scores[keep_t]  # (B', K)

    return [sorted(hyps, key=lambda h: h.score, reverse=True)[:n_best] for hyps in finished]
