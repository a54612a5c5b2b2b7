"""Compiled Hogwild training kernels (numba, GIL-free): what gensim's Cython does.

Each call trains on a run of sentences given as one flat ``int32`` array of word ids
plus sentence boundaries. Inside the kernel, per sentence: sub-sampling (keep word ``w``
with probability ``keep[w]``), then per position a dynamic window (uniform in
``1..window``, word2vec.c's ``b = rand % window``), then one SGD update per target with
``negative`` noise words drawn from the unigram^0.75 distribution (alias method, O(1) per draw). Several threads run the
kernel on different sentences of a chunk and write the shared matrices without locks
(Hogwild, Recht et al. 2011): collisions are rare and harmless for sparse updates.

Per target word ``w`` with label ``y`` (1 for the true word, 0 for noise), input
vector ``h`` and score ``s = u_w · h - shift(w)``::

    g      = lr * (y - sigmoid(s))
    work  += g * u_w           (the gradient step for h, applied after all targets)
    u_w   += g * h
    loss  += softplus(-s) if y else softplus(s)

``shift = 0`` is negative sampling; ``shift = log(k q(w))`` is NCE (Gutmann & Hyvärinen;
Mnih & Teh 2012), i.e. ``P(true | w, h) = exp(u·h) / (exp(u·h) + k q(w))``. This is exactly
one SGD step on :func:`seqforge_word2vec.losses.negative_sampling_loss` /
:func:`~seqforge_word2vec.losses.nce_loss` (tested).

Skip-gram: ``h = v_center`` and the target is each context word. CBOW: ``h`` is the mean
(or sum) of the context vectors and the target is the centre word; every context vector
receives ``work`` — the exact gradient for the sum, and ``C`` times it for the mean, as in
word2vec.c and gensim.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_MUL = np.uint64(25214903917)  # word2vec.c's linear congruential generator
_ADD = np.uint64(11)
_SHIFT16 = np.uint64(16)
_MASK24 = np.uint64(0xFFFFFF)


@njit(nogil=True, cache=True, inline="always")
def _next(r):
    return r * _MUL + _ADD


@njit(nogil=True, cache=True, inline="always")
def _uniform(r):
    """A float in [0, 1) from the generator's high bits."""
    return np.float64((r >> _SHIFT16) & _MASK24) / 16777216.0


@njit(nogil=True, cache=True, inline="always")
def _draw_noise(alias_prob, alias_word, r):
    """Walker's alias method, O(1): bucket from bits 16..47, coin from bits 48..63 of the generator."""
    n = np.uint64(alias_prob.shape[0])
    bucket = np.int64((((r >> _SHIFT16) & np.uint64(0xFFFFFFFF)) * n) >> np.uint64(32))
    coin = np.float32((r >> np.uint64(48)) & np.uint64(0xFFFF)) * np.float32(1.0 / 65536.0)
    return bucket if coin < alias_prob[bucket] else np.int64(alias_word[bucket])


# The per-sentence steps both sentence kernels share. inline="always" inlines them in numba's IR,
# so train_sentences compiles to the same machine code as with the steps written out (checked).
@njit(nogil=True, cache=True, inline="always")
def _seeded(seed):
    """The generator's state for a call's ``seed``."""
    return np.uint64(seed) * np.uint64(2654435761) + np.uint64(1)


@njit(nogil=True, cache=True, inline="always")
def _sentence_buffer(starts):
    """``(longest sentence,)`` int32 scratch for one sub-sampled sentence."""
    longest = 0
    for s in range(starts.shape[0] - 1):
        longest = max(longest, starts[s + 1] - starts[s])
    return np.empty(longest, dtype=np.int32)


@njit(nogil=True, cache=True, inline="always")
def _subsample(words, begin, end, keep, buf, r):
    """Copy the words of ``words[begin:end]`` that sub-sampling keeps into ``buf``. Returns (how many, r)."""
    m = 0
    for i in range(begin, end):
        w = words[i]
        if keep[w] < 1.0:
            r = _next(r)
            if keep[w] < _uniform(r):
                continue
        buf[m] = w
        m += 1
    return m, r


@njit(nogil=True, cache=True, inline="always")
def _window(pos, m, window, r):
    """The dynamic window ``[lo, hi)`` around ``pos`` in an ``m``-word sentence (word2vec.c's ``b = rand % window``)."""
    r = _next(r)
    b = np.int64((r >> _SHIFT16) % np.uint64(window))
    return max(0, pos - window + b), min(m, pos + window + 1 - b), r


@njit(cache=True)
def alias_table(q):
    """``(prob (V,) float32, alias (V,) int32)`` for sampling ``q`` (Vose's construction)."""
    n = q.shape[0]
    scaled = q * n / q.sum()
    prob = np.ones(n, dtype=np.float32)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        l = large[nl - 1]
        prob[s] = scaled[s]
        alias[s] = l
        scaled[l] = scaled[l] + scaled[s] - 1.0
        if scaled[l] < 1.0:
            nl -= 1
            small[ns] = l
            ns += 1
    return prob, alias


@njit(nogil=True, cache=True, fastmath=True)
def _train_target(w_out, h, work, word, label, lr, shift, track):
    """One target's update (see the module docstring); returns its loss if ``track`` (else 0: saves a log)."""
    dim = h.shape[0]
    u = w_out[word]
    dot = np.float32(0.0)
    for d in range(dim):  # float32 accumulation vectorises (SIMD)
        dot += u[d] * h[d]
    s = dot - np.float32(shift)
    e = math.exp(-abs(s))
    sig = np.float32(1.0) / (np.float32(1.0) + e) if s >= 0 else e / (np.float32(1.0) + e)
    g = np.float32(lr) * (np.float32(label) - sig)
    for d in range(dim):
        work[d] += g * u[d]
        u[d] += g * h[d]
    if not track:
        return 0.0
    # softplus(-s) for the true word, softplus(s) for noise, computed stably
    z = -s if label > 0 else s
    return math.log1p(np.float64(e)) + max(np.float64(z), 0.0)


@njit(nogil=True, cache=True, fastmath=True)
def _train_input(w_out, h, work, target, alias_prob, alias_word, log_kq, use_nce, negative, lr, r, track):
    """True target plus ``negative`` noise words for input ``h``; ``work`` is reset and filled. Returns (loss, r)."""
    work[:] = 0.0
    loss = _train_target(w_out, h, work, target, 1.0, lr, log_kq[target] if use_nce else 0.0, track)
    for _ in range(negative):
        r = _next(r)
        noise = _draw_noise(alias_prob, alias_word, r)
        if noise == target:
            continue
        loss += _train_target(w_out, h, work, noise, 0.0, lr, log_kq[noise] if use_nce else 0.0, track)
    return loss, r


@njit(nogil=True, cache=True, fastmath=True)
def train_pairs_explicit(w_in, w_out, centers, targets, noise, log_kq, use_nce, lr):
    """Skip-gram updates with given noise words ``(P, K)`` (no sampling): the unit the tests compare with autograd."""
    dim = w_in.shape[1]
    work = np.zeros(dim, dtype=np.float32)
    loss = 0.0
    for p in range(centers.shape[0]):
        h = w_in[centers[p]]
        work[:] = 0.0
        loss += _train_target(w_out, h, work, targets[p], 1.0, lr, log_kq[targets[p]] if use_nce else 0.0, True)
        for j in range(noise.shape[1]):
            loss += _train_target(w_out, h, work, noise[p, j], 0.0, lr, log_kq[noise[p, j]] if use_nce else 0.0, True)
        for d in range(dim):
            h[d] += work[d]
    return loss


@njit(nogil=True, cache=True, fastmath=True)
def train_sentences(
    w_in,
    w_out,
    words,
    starts,
    keep,
    alias_prob,
    alias_word,
    log_kq,
    use_nce,
    cbow,
    cbow_mean,
    window,
    negative,
    lr,
    seed,
):
    """Train on sentences ``words[starts[i]:starts[i+1]]``.

    Args:
        w_in, w_out: ``(V, D)`` float32 input and output vectors, updated in place.
        words: ``(N,)`` int32 word ids; starts: ``(S+1,)`` int64 sentence boundaries.
        keep: ``(V,)`` float32 keep probabilities (sub-sampling).
        alias_prob, alias_word: the noise distribution's alias table (:func:`alias_table`); log_kq: ``(V,)`` float32
        ``log(k q(w))``.
        use_nce, cbow, cbow_mean: loss and architecture switches.
        window, negative, lr: hyper-parameters; seed: this call's random stream.

    Returns:
        (summed loss, number of examples it sums over, words kept after sub-sampling). The loss is
        tracked on every 8th position of a sentence only (an unbiased sample; the log costs ~10%).
    """
    dim = w_in.shape[1]
    work = np.zeros(dim, dtype=np.float32)
    neu1 = np.zeros(dim, dtype=np.float32)
    buf = _sentence_buffer(starts)
    r = _seeded(seed)
    loss = 0.0
    targets = 0
    kept = 0
    for s in range(starts.shape[0] - 1):
        m, r = _subsample(words, starts[s], starts[s + 1], keep, buf, r)
        kept += m
        for pos in range(m):
            lo, hi, r = _window(pos, m, window, r)
            if cbow:
                neu1[:] = 0.0
                count = 0
                for c in range(lo, hi):
                    if c != pos:
                        v = w_in[buf[c]]
                        for d in range(dim):
                            neu1[d] += v[d]
                        count += 1
                if count == 0:
                    continue
                if cbow_mean:
                    inv = np.float32(1.0 / count)
                    for d in range(dim):
                        neu1[d] *= inv
                track = (pos & 7) == 0
                pair_loss, r = _train_input(
                    w_out, neu1, work, buf[pos], alias_prob, alias_word, log_kq, use_nce, negative, lr, r, track
                )
                if track:
                    loss += pair_loss
                    targets += 1
                for c in range(lo, hi):
                    if c != pos:
                        v = w_in[buf[c]]
                        for d in range(dim):
                            v[d] += work[d]
            else:
                h = w_in[buf[pos]]
                track = (pos & 7) == 0
                for c in range(lo, hi):
                    if c == pos:
                        continue
                    pair_loss, r = _train_input(
                        w_out, h, work, buf[c], alias_prob, alias_word, log_kq, use_nce, negative, lr, r, track
                    )
                    if track:
                        loss += pair_loss
                        targets += 1
                    for d in range(dim):
                        h[d] += work[d]
    return loss, targets, kept


@njit(nogil=True, cache=True)
def make_examples(words, starts, keep, cbow, window, seed):
    """Training examples for the autograd path, with the same sub-sampling and dynamic window as the kernel.

    Returns:
        inputs ``(P, C)`` int64 padded with -1 (``C = 1`` for skip-gram, ``2 * window`` for CBOW)
        and targets ``(P,)`` int64.
    """
    n = words.shape[0]
    width = 2 * window if cbow else 1
    cap = n * (1 if cbow else 2 * window) + 1
    inputs = np.full((cap, width), -1, dtype=np.int64)
    targets = np.empty(cap, dtype=np.int64)
    buf = _sentence_buffer(starts)
    r = _seeded(seed)
    p = 0
    for s in range(starts.shape[0] - 1):
        m, r = _subsample(words, starts[s], starts[s + 1], keep, buf, r)
        for pos in range(m):
            lo, hi, r = _window(pos, m, window, r)
            if cbow:
                j = 0
                for c in range(lo, hi):
                    if c != pos:
                        inputs[p, j] = buf[c]
                        j += 1
                if j > 0:
                    targets[p] = buf[pos]
                    p += 1
            else:
                for c in range(lo, hi):
                    if c != pos:
                        inputs[p, 0] = buf[pos]
                        targets[p] = buf[c]
                        p += 1
    return inputs[:p], targets[:p]


@njit(nogil=True, cache=True)
def draw_noise(alias_prob, alias_word, n, seed):
    """``(n,)`` int64 noise words from the alias table, as the kernels draw them (distribution tests, autograd path)."""
    out = np.empty(n, dtype=np.int64)
    r = _seeded(seed)
    for i in range(n):
        r = _next(r)
        out[i] = _draw_noise(alias_prob, alias_word, r)
    return out


@njit(nogil=True, cache=True)
def subsample_mask(words, keep, seed):
    """``(N,)`` bool: which tokens sub-sampling keeps (same rule as the kernels; for the distribution tests)."""
    out = np.empty(words.shape[0], dtype=np.bool_)
    r = _seeded(seed)
    for i in range(words.shape[0]):
        w = words[i]
        out[i] = True
        if keep[w] < 1.0:
            r = _next(r)
            out[i] = not keep[w] < _uniform(r)
    return out
