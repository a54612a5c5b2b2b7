"""The vocabulary and the two distributions word2vec samples from.

* Sub-sampling (Mikolov et al. 2013, as in word2vec.c and gensim): with ``t = sample * N``
  (``N`` the number of corpus tokens in the vocabulary) a word of count ``f`` is kept with
  probability ``min(1, (sqrt(f / t) + 1) * t / f)``.
* Noise: ``q(w) = c(w)^0.75 / sum_v c(v)^0.75``, sampled in O(1) with Walker's alias method
  (:func:`seqforge_word2vec.kernels.alias_table`; word2vec.c uses a 10^8-entry table, gensim a binary search).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from seqforge.api import ConfigError, DataError
from seqforge_word2vec.corpus import Corpus

NOISE_POWER = 0.75


@dataclass
class Vocab:
    """Words by decreasing count; ``index`` maps a word to its row."""

    words: list[str]
    counts: np.ndarray  # (V,) int64
    corpus_words: int = 0  # every token in the corpus, in the vocabulary or not

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, corpus: Corpus, *, min_count: int, max_vocab: int | None = None) -> Vocab:
        """Count ``corpus`` once (streaming) and keep words with count >= ``min_count`` (at most ``max_vocab``)."""
        if min_count < 1:
            raise ConfigError(f"data.min_count must be >= 1, got {min_count}.")
        if max_vocab is not None and max_vocab < 1:
            raise ConfigError(f"data.max_vocab must be >= 1 (or null for no limit), got {max_vocab}.")
        counts: Counter[str] = Counter()
        for tokens in corpus:
            counts.update(tokens)
        total = sum(counts.values())
        if total == 0:
            raise DataError(f"The corpus {corpus.name} (config key `data.path`) contains no words; expected "
                            "whitespace-separated text.")
        ranked = counts.most_common()  # by count, ties in first-seen order
        kept = [(w, c) for w, c in ranked if c >= min_count]
        if not kept:
            top_word, top_count = ranked[0]
            raise DataError(
                f"No word of the corpus {corpus.name} occurs at least data.min_count={min_count} times "
                f"({len(counts)} distinct words, {total} tokens; the most frequent, '{top_word}', occurs {top_count} "
                "times). Lower data.min_count or use a larger corpus."
            )
        if max_vocab is not None:
            kept = kept[:max_vocab]
        return cls([w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64), total)

    def state(self) -> dict[str, object]:
        """What a checkpoint keeps (plain types, loadable with ``weights_only=True``)."""
        return {
            "words": list(self.words),
            "counts": [int(c) for c in self.counts],
            "corpus_words": int(self.corpus_words),
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> Vocab:
        return cls(list(state["words"]), np.asarray(state["counts"], dtype=np.int64), int(state.get("corpus_words", 0)))

    @property
    def train_words(self) -> int:
        """Corpus tokens that are in the vocabulary."""
        return int(self.counts.sum())


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """``(V,)`` float32 probability of keeping each occurrence of a word (1 everywhere when ``sample == 0``)."""
    if sample < 0:
        raise ConfigError(f"data.sample must be >= 0 (0 turns sub-sampling off), got {sample}.")
    counts = counts.astype(np.float64)
    if sample == 0:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * counts.sum()
    keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(keep, 1.0).astype(np.float32)


def noise_distribution(counts: np.ndarray, power: float = NOISE_POWER) -> np.ndarray:
    """``(V,)`` float64 ``q(w) = c(w)^power / Z``."""
    weights = counts.astype(np.float64) ** power
    return weights / weights.sum()
