"""Intrinsic evaluation: analogies (Google ``questions-words.txt`` format) and word similarity (``wordsim353.tsv``
format).

Both follow gensim's ``evaluate_word_analogies`` / ``evaluate_word_pairs`` so numbers are
comparable: case-insensitive matching (the most frequent casing wins), analogy answers
searched among the ``restrict_vocab`` most frequent words with the three question words
excluded (3CosAdd), questions with a word outside that vocabulary skipped and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqforge.api import DataError
from seqforge_word2vec.vectors import WordVectors


@dataclass
class AnalogySection:
    name: str
    questions: list[tuple[str, str, str, str]] = field(default_factory=list)
    correct: int = 0
    incorrect: int = 0
    skipped: int = 0

    @property
    def accuracy(self) -> float:
        answered = self.correct + self.incorrect
        return self.correct / answered if answered else float("nan")


@dataclass
class AnalogyResult:
    sections: list[AnalogySection]

    @property
    def correct(self) -> int:
        return sum(s.correct for s in self.sections)

    @property
    def answered(self) -> int:
        return sum(s.correct + s.incorrect for s in self.sections)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.sections)

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def _read(source: str, key: str, what: str) -> tuple[str, str]:
    if source == "demo":
        from seqforge_word2vec.corpus import demo_analogies

        return demo_analogies(), "the demo analogy questions"
    path = Path(source).expanduser()
    if not path.is_file():
        raise DataError(f"The {what} '{path}' (`{key}`) does not exist.")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except UnicodeDecodeError as exc:
        raise DataError(f"The {what} '{path}' (`{key}`) is not valid UTF-8 (byte offset {exc.start}).") from None


def read_analogies(source: str, *, key: str = "analogy") -> list[AnalogySection]:
    """``: section`` lines and ``a b c d`` questions (``a:b = c:d``); ``source="demo"`` gives the demo corpus'
    questions."""
    text, name = _read(source, key, "analogy file")
    sections: list[AnalogySection] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(":"):
            sections.append(AnalogySection(stripped[1:].strip() or f"section {len(sections) + 1}"))
            continue
        words = stripped.split()
        if len(words) != 4:
            raise DataError(
                f"The analogy file {name} (`{key}`), line {number}: expected four words 'a b c d' (a is to b as c is "
                f"to d) or a ': section' header, got {len(words)} field(s): {stripped[:80]!r}."
            )
        if not sections:
            sections.append(AnalogySection("questions"))
        sections[-1].questions.append((words[0], words[1], words[2], words[3]))
    if not any(s.questions for s in sections):
        raise DataError(f"The analogy file {name} (`{key}`) holds no questions.")
    return sections


def _case_insensitive_index(vectors: WordVectors, limit: int) -> dict[str, int]:
    index: dict[str, int] = {}
    for row, word in enumerate(vectors.words[:limit]):
        index.setdefault(word.lower(), row)  # rows are by frequency: the most frequent casing wins
    return index


def evaluate_analogies(vectors: WordVectors, sections: list[AnalogySection], *, restrict_vocab: int = 30000,
                       batch: int = 512) -> AnalogyResult:
    """Answer every question ``a b c ?`` by ``argmax cos(x, b - a + c)`` over the restricted vocabulary (inputs
    excluded)."""
    limit = min(restrict_vocab, len(vectors))
    index = _case_insensitive_index(vectors, limit)
    unit = vectors.unit[:limit]  # (R, D)
    for section in sections:
        section.correct = section.incorrect = section.skipped = 0
        rows = []
        for question in section.questions:
            ids = [index.get(w.lower()) for w in question]
            if any(i is None for i in ids):
                section.skipped += 1
            else:
                rows.append(ids)
        if not rows:
            continue
        ids = np.asarray(rows)  # (Q, 4)
        for begin in range(0, len(ids), batch):
            part = ids[begin : begin + batch]
            query = unit[part[:, 1]] - unit[part[:, 0]] + unit[part[:, 2]]  # (q, D)
            scores = query @ unit.T  # (q, R)
            for col in range(3):
                scores[np.arange(len(part)), part[:, col]] = -np.inf
            hits = int((scores.argmax(1) == part[:, 3]).sum())
            section.correct += hits
            section.incorrect += len(part) - hits
    return AnalogyResult(sections)


@dataclass
class SimilarityResult:
    spearman: float
    pearson: float
    pairs: int
    skipped: int


def read_similarity(source: str, *, key: str = "similarity") -> list[tuple[str, str, float]]:
    """``word1<TAB>word2<TAB>score`` lines (``#`` comments; any whitespace separates fields)."""
    text, name = _read(source, key, "word-similarity file")
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split("\t") if "\t" in stripped else stripped.split()
        try:
            if len(parts) != 3:
                raise ValueError
            pairs.append((parts[0].strip(), parts[1].strip(), float(parts[2])))
        except ValueError:
            raise DataError(
                f"The word-similarity file {name} (`{key}`), line {number}: expected 'word1<TAB>word2<TAB>score' "
                f"(a number), got {stripped[:80]!r}."
            ) from None
    if not pairs:
        raise DataError(f"The word-similarity file {name} (`{key}`) holds no word pairs.")
    return pairs


def evaluate_similarity(vectors: WordVectors, pairs: list[tuple[str, str, float]]) -> SimilarityResult:
    """Spearman (and Pearson) correlation between human scores and cosine similarity, over pairs in the vocabulary."""
    from scipy.stats import pearsonr, spearmanr

    index = _case_insensitive_index(vectors, len(vectors))
    human, model = [], []
    skipped = 0
    for a, b, score in pairs:
        ia, ib = index.get(a.lower()), index.get(b.lower())
        if ia is None or ib is None:
            skipped += 1
            continue
        human.append(score)
        model.append(float(vectors.unit[ia] @ vectors.unit[ib]))
    if len(human) < 2:
        return SimilarityResult(float("nan"), float("nan"), len(human), skipped)
    spearman = float(spearmanr(human, model).statistic)
    pearson = float(pearsonr(human, model).statistic)
    return SimilarityResult(spearman if not math.isnan(spearman) else float("nan"), pearson, len(human), skipped)
