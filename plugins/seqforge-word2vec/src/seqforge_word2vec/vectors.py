"""Trained word vectors: word2vec text/binary export, nearest neighbours and analogies (cosine, 3CosAdd)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from seqforge.api import SeqforgeError, read_word2vec


class WordVectors:
    """``words[i]`` has vector ``vectors[i]`` ``(V, D)``; words are ordered by decreasing frequency."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.index = {w: i for i, w in enumerate(self.words)}
        self._unit: np.ndarray | None = None

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __len__(self) -> int:
        return len(self.words)

    @property
    def unit(self) -> np.ndarray:
        """``(V, D)`` rows scaled to unit length (zero rows stay zero)."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = self.vectors / np.maximum(norms, 1e-12)
        return self._unit

    # -- io ------------------------------------------------------------------------
    def save(self, path: str | Path, *, binary: bool = False) -> Path:
        """word2vec format: header ``V D``, then per word ``word v1 ... vD`` (text) or ``word <D float32 LE>\\n``
        (binary)."""
        path = Path(path)
        with open(path, "wb") as out:
            out.write(f"{len(self.words)} {self.vectors.shape[1]}\n".encode())
            for word, vector in zip(self.words, self.vectors):
                if binary:
                    out.write(word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + b"\n")
                else:
                    out.write((word + " " + " ".join(f"{x:.6g}" for x in vector) + "\n").encode("utf-8"))
        return path

    @classmethod
    def load(cls, path: str | Path, *, key: str = "vectors") -> WordVectors:
        words, vectors = read_word2vec(path, key=key)
        return cls(words, vectors)

    # -- queries -------------------------------------------------------------------
    def _row(self, word: str) -> int:
        row = self.index.get(word)
        if row is None:
            close = difflib.get_close_matches(word, self.words[:50000], n=3)
            hint = f" Close: {', '.join(close)}." if close else ""
            raise SeqforgeError(f"The word '{word}' is not in the vocabulary ({len(self.words)} words).{hint}")
        return row

    def most_similar(self, positive: Iterable[str], negative: Iterable[str] = (), *, topn: int = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Words closest (cosine) to ``mean(unit(positive)) - mean(unit(negative))``, the query words excluded (gensim's
        rule)."""
        positive, negative = list(positive), list(negative)
        if not positive and not negative:
            raise SeqforgeError("Give at least one word (word=... or positive=[...]).")
        rows = [self._row(w) for w in positive] + [self._row(w) for w in negative]
        weights = np.array([1.0] * len(positive) + [-1.0] * len(negative), dtype=np.float32)
        query = (weights[:, None] * self.unit[rows]).mean(0)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        limit = len(self.words) if restrict_vocab is None else min(restrict_vocab, len(self.words))
        scores = self.unit[:limit] @ query  # (R,)
        scores[[r for r in rows if r < limit]] = -np.inf
        count = min(topn, max(limit - len(rows), 0))
        best = np.argpartition(-scores, count - 1)[:count] if 0 < count < limit else np.arange(limit)
        best = best[np.argsort(-scores[best])][:count]
        return [(self.words[i], float(scores[i])) for i in best]

    def similarity(self, a: str, b: str) -> float:
        return float(self.unit[self._row(a)] @ self.unit[self._row(b)])
