"""``model.embedding.pretrained``: word2vec-format vectors initialise a task's embedding layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from seqforge.embeddings import EmbeddingConfig, load_pretrained, read_word2vec
from seqforge.errors import ConfigError, DataError


def write_text_vectors(path: Path, words: list[str], vectors: np.ndarray) -> Path:
    rows = [f"{len(words)} {vectors.shape[1]}"] + [w + " " + " ".join(f"{x:.6f}" for x in v) for w, v in zip(words, vectors)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_binary_vectors(path: Path, words: list[str], vectors: np.ndarray) -> Path:
    body = b"".join(w.encode() + b" " + v.astype("<f4").tobytes() + b"\n" for w, v in zip(words, vectors))
    path.write_bytes(f"{len(words)} {vectors.shape[1]}\n".encode() + body)
    return path


@pytest.mark.parametrize("writer", [write_text_vectors, write_binary_vectors])
def test_reader_detects_text_and_binary(tmp_path: Path, writer: Any) -> None:
    words = ["the", "cat", "café"]
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    got_words, got = read_word2vec(writer(tmp_path / "v", words, vectors))
    assert got_words == words
    np.testing.assert_allclose(got, vectors, atol=1e-6)


def test_known_tokens_are_copied_and_oov_counted(tmp_path: Path) -> None:
    """Rows of known tokens get their vectors (lowercase fallback too); OOV tokens keep their init and are reported"""
    vectors = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    path = write_text_vectors(tmp_path / "v.txt", ["the", "cat"], vectors)
    embedding = nn.Embedding(5, 3)
    before = embedding.weight.detach().clone()
    report = load_pretrained(embedding, ["<pad>", "the", "Cat", "dog", "emu"], EmbeddingConfig(pretrained=str(path)))
    assert torch.equal(embedding.weight[1], torch.tensor([1.0, 2, 3])) and torch.equal(embedding.weight[2], torch.tensor([4.0, 5, 6]))
    assert torch.equal(embedding.weight[3], before[3]) and torch.equal(embedding.weight[0], before[0])
    assert "2 of 5 tokens initialised, 2 out of vocabulary ('dog', 'emu')" in report
    assert embedding.weight.requires_grad


def test_freeze_stops_training(tmp_path: Path) -> None:
    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.ones((1, 3), dtype=np.float32))
    embedding = nn.Embedding(2, 3)
    report = load_pretrained(embedding, ["a", "b"], EmbeddingConfig(pretrained=str(path), freeze=True))
    assert not embedding.weight.requires_grad and "embedding frozen" in report


def test_dimension_mismatch_names_the_key_and_both_sizes(tmp_path: Path) -> None:
    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ConfigError, match=r"model\.embedding\.pretrained=.*dimension 3, but the embedding has 8 \(model\.embedding_dim\)"):
        load_pretrained(nn.Embedding(2, 8), ["a", "b"], EmbeddingConfig(pretrained=str(path)))


def test_missing_or_headerless_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_word2vec(tmp_path / "nope.txt")
    (tmp_path / "bad.txt").write_text("the 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(DataError, match="does not start with a word2vec header"):
        read_word2vec(tmp_path / "bad.txt")


def test_language_model_starts_from_pretrained_vectors_and_init_range_keeps_them(tmp_path: Path) -> None:
    """task=lm with model.embedding.pretrained: the embedding rows equal the file's vectors even with model.init_range"""
    from compose_helpers import compose_config
    from seqforge.train import build_run

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 40, encoding="utf-8")
    vectors = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    path = write_text_vectors(tmp_path / "v.txt", ["the", "cat", "mat"], vectors)
    cfg = compose_config([
        f"data.path={corpus}", "data.tokenizer=word", "model.embedding_dim=8", "model.hidden_size=8",
        f"model.embedding.pretrained={path}", "model.embedding.freeze=true", "model.init_range=0.1",
    ])
    module = build_run(cfg)
    itos = module.data.vocab.itos
    weight = module.model.embedding.weight
    for word, vector in zip(["the", "cat", "mat"], vectors):
        np.testing.assert_allclose(weight[itos.index(word)].detach().numpy(), vector, atol=1e-6)
    assert not weight.requires_grad
