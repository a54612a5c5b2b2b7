"""Streaming corpora, the vocabulary, training chunks, and the bad inputs the issue lists."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from seqforge.api import ConfigError, DataError
from seqforge_word2vec.corpus import TextCorpus, demo_corpus
from seqforge_word2vec.data import Word2VecData, encode_chunks
from seqforge_word2vec.task import Word2VecTask
from seqforge_word2vec.vocab import Vocab


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_vocab_counts_sorts_and_applies_min_count_and_max_vocab(tmp_path: Path) -> None:
    """Words by decreasing count (ties in first-seen order); rarer than min_count dropped; max_vocab keeps the top"""
    corpus = TextCorpus(write(tmp_path / "c.txt", "b a a c\nc a b b\nd\n"))
    vocab = Vocab.build(corpus, min_count=2)
    assert vocab.words == ["b", "a", "c"] and list(vocab.counts) == [3, 3, 2] and vocab.corpus_words == 9
    assert Vocab.build(corpus, min_count=1, max_vocab=2).words == ["b", "a"]


def test_gzip_corpus_streams_the_same_lines(tmp_path: Path) -> None:
    """A .gz file yields the same token lines as the plain file, lowercased on request"""
    text = "The cat\nsat On the mat\n"
    with gzip.open(tmp_path / "c.txt.gz", "wt", encoding="utf-8") as f:
        f.write(text)
    assert list(TextCorpus(tmp_path / "c.txt.gz", lowercase=True)) == [["the", "cat"], ["sat", "on", "the", "mat"]]


def test_chunks_hold_exactly_chunk_words_in_vocabulary_words(tmp_path: Path) -> None:
    """OOV words are dropped, sentences are cut at chunk boundaries and at max_sentence_len, nothing is lost"""
    index = {"a": 0, "b": 1}
    lines = [["a", "x", "b", "a"], ["b", "b", "b", "b", "b"], ["x"], ["a"]]
    chunks = list(encode_chunks(lines, index, chunk_words=4, max_sentence_len=3))
    assert [len(w) for w, _ in chunks] == [4, 4, 1]
    words = np.concatenate([w for w, _ in chunks])
    assert words.tolist() == [0, 1, 0, 1, 1, 1, 1, 1, 0]
    for w, starts in chunks:
        assert starts[0] == 0 and starts[-1] == len(w) and np.all(np.diff(starts) > 0) and np.all(np.diff(starts) <= 3)


def test_empty_corpus_is_refused(tmp_path: Path) -> None:
    """An empty (or whitespace-only) corpus says so, naming the file"""
    path = write(tmp_path / "empty.txt", "  \n\n")
    with pytest.raises(DataError, match=r"empty\.txt.*contains no words"):
        Vocab.build(TextCorpus(path), min_count=1)


def test_corpus_without_a_word_above_min_count_names_the_threshold(tmp_path: Path) -> None:
    """No word reaching min_count: the message names data.min_count, its value and the best count"""
    path = write(tmp_path / "rare.txt", "a b c a\n")
    with pytest.raises(DataError) as excinfo:
        Vocab.build(TextCorpus(path), min_count=5)
    message = str(excinfo.value)
    assert "data.min_count=5" in message and "'a', occurs 2 times" in message and "rare.txt" in message


def test_non_utf8_corpus_names_file_offset_and_line(tmp_path: Path) -> None:
    """A latin-1 byte is reported with the file, its byte offset and line"""
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"good line\ncaf\xe9 au lait\n")
    with pytest.raises(DataError) as excinfo:
        Vocab.build(TextCorpus(path), min_count=1)
    message = str(excinfo.value)
    assert "latin1.txt" in message and "byte 0xe9 at byte offset 13" in message and "line 2" in message


def test_missing_corpus_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data\.path.*no such file"):
        TextCorpus(tmp_path / "nope.txt")


@pytest.mark.parametrize("window", [0, -2])
def test_window_must_be_positive(window: int) -> None:
    with pytest.raises(ConfigError, match=rf"data\.window must be >= 1, got {window}"):
        Word2VecData(window=window)


@pytest.mark.parametrize("negative", [0, -1])
def test_negatives_must_be_positive(negative: int) -> None:
    with pytest.raises(ConfigError, match=rf"task\.negative must be >= 1 .*got {negative}"):
        Word2VecTask(negative=negative)


def test_data_module_describes_and_restores_its_vocabulary_without_the_corpus(tmp_path: Path) -> None:
    """A checkpoint's data state rebuilds vocabulary and tables; no corpus is read"""
    data = Word2VecData(path=str(write(tmp_path / "c.txt", "a b a b c\n" * 10)), min_count=1, chunk_words=7).prepare()
    assert data.chunks_per_epoch == 8 and "vocabulary 3" in data.describe()
    restored = Word2VecData(path=str(tmp_path / "gone.txt"), vocab=data.state())
    assert restored.vocab.words == data.vocab.words
    np.testing.assert_array_equal(restored.alias_word, data.alias_word)


def test_demo_corpus_is_deterministic_and_plants_its_pairs() -> None:
    first, second = demo_corpus(200, seed=3), demo_corpus(200, seed=3)
    assert first.lines == second.lines
    words = {w for line in first.lines for w in line}
    assert {"king", "queen", "paris", "france"} <= words


@pytest.mark.parametrize("cache", [True, False])
def test_every_epoch_sees_the_same_chunks_with_or_without_the_encoded_cache(tmp_path: Path, cache: bool) -> None:
    """Epoch 2 (memory-mapped cache or re-read text) yields exactly epoch 1's chunks; progress advances across epochs"""
    lines = [" ".join(f"w{(i * 7 + j) % 13}" for j in range(i % 9 + 1)) for i in range(300)]
    data = Word2VecData(path=str(write(tmp_path / "c.txt", "\n".join(lines) + "\n")), min_count=1, chunk_words=100,
                        cache_encoded=cache).prepare()
    stream = data.train_dataloader()

    def epoch() -> list:  # as Lightning iterates: stop after len(stream) batches, never exhausting the iterator
        iterator = iter(stream)
        return [next(iterator) for _ in range(len(stream))]

    first, second = epoch(), epoch()
    assert len(first) == len(second) == data.chunks_per_epoch
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.words, b.words)
        np.testing.assert_array_equal(a.starts, b.starts)
    assert second[0].progress > first[-1].progress
    assert (data.encoded is not None and data.encoded.complete) == cache
