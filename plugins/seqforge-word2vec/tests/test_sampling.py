"""Sub-sampling, the noise distribution and the dynamic window follow their formulas (statistically)."""

from __future__ import annotations

import numpy as np
import pytest

from seqforge_word2vec import kernels
from seqforge_word2vec.vocab import keep_probabilities, noise_distribution


def test_keep_probability_is_mikolovs_formula() -> None:
    """keep(w) = min(1, (sqrt(f/t) + 1) t/f) with t = sample * total count (word2vec.c, gensim)"""
    counts = np.array([1000, 100, 10, 1])
    t = 1e-2 * counts.sum()
    expected = np.minimum(1, (np.sqrt(counts / t) + 1) * t / counts)
    np.testing.assert_allclose(keep_probabilities(counts, 1e-2), expected, rtol=1e-6)
    assert expected[0] < 0.5 and expected[-1] == 1.0  # the frequent word is sub-sampled, the rare one never
    assert np.all(keep_probabilities(counts, 0.0) == 1.0)


def test_subsampling_keeps_each_word_at_its_probability() -> None:
    """The kernel's sub-sampling rule keeps word w in a fraction keep(w) of its occurrences (within 5 sigma)"""
    counts = np.array([50000, 20000, 5000, 1000, 100])
    keep = keep_probabilities(counts, 1e-2)
    words = np.repeat(np.arange(5), counts).astype(np.int32)
    np.random.default_rng(0).shuffle(words)
    mask = kernels.subsample_mask(words, keep, 3)
    for w, (n, p) in enumerate(zip(counts, keep)):
        rate = mask[words == w].mean()
        assert abs(rate - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-9, (w, rate, p)


def test_noise_words_follow_unigram_to_the_three_quarters() -> None:
    """Noise draws from the alias table have frequencies c(w)^0.75 / Z (within 5 sigma)"""
    counts = np.array([1000, 300, 100, 30, 10, 3, 1])
    q = noise_distribution(counts)
    np.testing.assert_allclose(q, counts**0.75 / (counts**0.75).sum())
    n = 400_000
    draws = kernels.draw_noise(*kernels.alias_table(q), n, 11)
    freq = np.bincount(draws, minlength=len(q)) / n
    assert np.all(np.abs(freq - q) <= 5 * np.sqrt(q * (1 - q) / n))


def test_noise_table_never_draws_a_word_without_mass() -> None:
    """A zero-probability word is never drawn (its alias bucket always redirects)"""
    q = np.array([0.0, 0.5, 0.0, 0.5])
    draws = kernels.draw_noise(*kernels.alias_table(q), 20000, 5)
    assert set(np.unique(draws)) == {1, 3}


@pytest.mark.parametrize("cbow", [False, True])
def test_dynamic_window_shrinks_uniformly(cbow: bool) -> None:
    """With window W each position uses a window uniform in 1..W, so a context at distance d occurs with weight (W - d +
    1) / W"""
    window, n = 4, 40000
    words = np.arange(n, dtype=np.int32) % 1000  # no sub-sampling: keep = 1
    starts = np.array([0, n], dtype=np.int64)
    inputs, targets = kernels.make_examples(words, starts, np.ones(1000, dtype=np.float32), cbow, window, 2)
    if cbow:
        distances = [abs((int(t) - int(c)) % 1000) for row, t in zip(inputs, targets) for c in row if c >= 0]
    else:
        distances = [abs((int(t) - int(c[0]) + 500) % 1000 - 500) for c, t in zip(inputs, targets)]
    distances = np.array([min(d, 1000 - d) for d in distances])
    per_position = np.bincount(distances, minlength=window + 1)[1:] / (2 * n)
    expected = np.array([(window - d + 1) / window for d in range(1, window + 1)])
    np.testing.assert_allclose(per_position, expected, atol=0.01)
    assert distances.max() == window
