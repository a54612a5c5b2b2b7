"""Export in word2vec formats (gensim reads them), neighbours, and evaluation agreeing with gensim's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqforge.api import DataError, SeqforgeError, read_word2vec
from seqforge_word2vec.evaluation import evaluate_analogies, evaluate_similarity, read_analogies, read_similarity
from seqforge_word2vec.vectors import WordVectors

gensim = pytest.importorskip("gensim")
from gensim.models import KeyedVectors  # noqa: E402


@pytest.fixture
def vectors() -> WordVectors:
    rng = np.random.default_rng(0)
    words = ["the", "king", "queen", "man", "woman", "paris", "France", "rome", "italy", "café"]
    return WordVectors(words, rng.normal(size=(len(words), 8)).astype(np.float32))


@pytest.mark.parametrize("binary", [False, True])
def test_export_round_trips_through_gensim(vectors: WordVectors, tmp_path: Path, binary: bool) -> None:
    """gensim's KeyedVectors.load_word2vec_format reads our files: same words, order and vectors"""
    path = vectors.save(tmp_path / ("v.bin" if binary else "v.txt"), binary=binary)
    loaded = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert loaded.index_to_key == vectors.words
    np.testing.assert_allclose(loaded.vectors, vectors.vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("binary", [False, True])
def test_reader_loads_gensim_written_files(vectors: WordVectors, tmp_path: Path, binary: bool) -> None:
    """The core reader (model.embedding.pretrained) detects and reads both formats as gensim writes them"""
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(vectors.words, vectors.vectors)
    path = tmp_path / "g.vec"
    kv.save_word2vec_format(str(path), binary=binary)
    words, loaded = read_word2vec(path)
    assert words == vectors.words
    np.testing.assert_allclose(loaded, vectors.vectors, rtol=1e-5, atol=1e-6)


def test_truncated_and_malformed_vector_files_name_the_problem(vectors: WordVectors, tmp_path: Path) -> None:
    path = vectors.save(tmp_path / "v.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "queen 0.1 0.2"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 4: expected a word and 8 numbers"):
        read_word2vec(path)
    binary = vectors.save(tmp_path / "v.bin", binary=True)
    binary.write_bytes(binary.read_bytes()[:-20])
    with pytest.raises(DataError, match="truncated"):
        read_word2vec(binary)


def test_most_similar_and_analogy_queries_match_gensim(vectors: WordVectors) -> None:
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(vectors.words, vectors.vectors)
    ours = vectors.most_similar(["king"], topn=4)
    theirs = kv.most_similar("king", topn=4)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    ours = vectors.most_similar(["king", "woman"], ["man"], topn=3)
    theirs = kv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    with pytest.raises(SeqforgeError, match=r"'kingz' is not in the vocabulary.*king"):
        vectors.most_similar(["kingz"])


def test_analogy_evaluation_matches_gensim_per_section(tmp_path: Path) -> None:
    """Accuracy per section and in total, restrict_vocab and case-insensitivity as gensim's evaluate_word_analogies"""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)] + ["Paris", "France"]
    base = WordVectors(words, rng.normal(size=(len(words), 6)).astype(np.float32))
    # plant a few exact analogies: w1 - w0 + w2 = w3
    base.vectors[3] = base.vectors[1] - base.vectors[0] + base.vectors[2]
    vectors = WordVectors(words, base.vectors)
    questions = tmp_path / "q.txt"
    rows = [": planted", "w0 w1 w2 w3", "W0 W1 W2 W3", "w0 w1 w5 w9", ": random"]
    rows += [" ".join(f"w{j}" for j in rng.choice(40, 4, replace=False)) for _ in range(30)]
    # the first has an OOV word (w40 unknown); the last is outside restrict_vocab
    rows += ["paris france w1 w40", "w1 w2 w3 w41"]
    questions.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ours = evaluate_analogies(vectors, read_analogies(str(questions)), restrict_vocab=40)
    kv = KeyedVectors(vector_size=6)
    kv.add_vectors(words, vectors.vectors)
    score, sections = kv.evaluate_word_analogies(str(questions), restrict_vocab=40)
    theirs = {s["section"]: (len(s["correct"]), len(s["incorrect"])) for s in sections}
    for section in ours.sections:
        assert (section.correct, section.incorrect) == theirs[section.name], section.name
    assert ours.accuracy == pytest.approx(score)
    assert ours.sections[0].correct >= 2 and ours.skipped == 2


def test_similarity_spearman_matches_gensim(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(20)]
    vectors = WordVectors(words, rng.normal(size=(20, 5)).astype(np.float32))
    pairs = tmp_path / "ws.tsv"
    lines = ["# Word 1\tWord 2\tHuman (mean)"] + [
        f"w{a}\tw{b}\t{rng.uniform(0, 10):.2f}" for a, b in rng.integers(0, 20, (25, 2))
    ]
    lines.append("w1\tunknown\t5.0")
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ours = evaluate_similarity(vectors, read_similarity(str(pairs)))
    kv = KeyedVectors(vector_size=5)
    kv.add_vectors(words, vectors.vectors)
    pearson, spearman, _oov = kv.evaluate_word_pairs(str(pairs), delimiter="\t")
    assert ours.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert ours.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert ours.skipped == 1


def test_analogy_file_with_a_bad_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text(": capital\nathens greece baghdad iraq\nberlin germany\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"q\.txt.*line 3: expected four words.*got 2 field"):
        read_analogies(str(path))


def test_similarity_file_with_a_bad_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ws.tsv"
    path.write_text("# comment\nlove\tsex\t6.77\ntiger\tcat\thigh\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"ws\.tsv.*line 3: expected 'word1<TAB>word2<TAB>score'"):
        read_similarity(str(path))
