"""``model.embedding.pretrained``: word2vec-format vectors initialise a task's embedding layer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from seqforge.embeddings import EmbeddingConfig, load_pretrained, read_word2vec
from seqforge.errors import ConfigError, DataError


def write_text_vectors(path: Path, words: list[str], vectors: np.ndarray) -> Path:
    rows = [f"{len(words)} {vectors.shape[1]}"] + [
        w + " " + " ".join(f"{x:.6f}" for x in v) for w, v in zip(words, vectors)
    ]
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
    """Rows of known tokens get their vectors (lowercase fallback too); with oov_init=module OOV tokens keep their
    init; OOV tokens are reported"""
    vectors = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    path = write_text_vectors(tmp_path / "v.txt", ["the", "cat"], vectors)
    embedding = nn.Embedding(5, 3)
    before = embedding.weight.detach().clone()
    report = load_pretrained(embedding, ["<pad>", "the", "Cat", "dog", "emu"],
                             EmbeddingConfig(pretrained=str(path), oov_init="module"))
    assert torch.equal(embedding.weight[1], torch.tensor([1.0, 2, 3])) and torch.equal(
        embedding.weight[2], torch.tensor([4.0, 5, 6])
    )
    assert torch.equal(embedding.weight[3], before[3]) and torch.equal(embedding.weight[0], before[0])
    assert "2 of 5 tokens initialised, 2 out of vocabulary ('dog', 'emu')" in report
    assert embedding.weight.requires_grad


def test_rows_without_a_vector_are_drawn_at_the_vectors_scale(tmp_path: Path) -> None:
    """oov_init=match (default): <unk> and words missing from the file start like the file's vectors (not N(0, 1),
    which for wide vectors is an input several times larger than any the encoder trained on); <pad> stays zero"""
    vectors = np.random.default_rng(0).normal(3.0, 0.25, size=(50, 40)).astype(np.float32)
    words = [f"w{i}" for i in range(50)]
    path = write_text_vectors(tmp_path / "v.txt", words, vectors)
    vocabulary = ["<pad>", "<unk>", *words, *(f"new{i}" for i in range(300))]
    embedding = nn.Embedding(len(vocabulary), 40, padding_idx=0)
    torch.manual_seed(0)
    report = load_pretrained(embedding, vocabulary, EmbeddingConfig(pretrained=str(path)))
    weight = embedding.weight.detach()
    np.testing.assert_allclose(weight[2:52].numpy(), vectors, atol=1e-6)
    drawn = torch.cat([weight[1:2], weight[52:]])
    assert abs(drawn.mean().item() - vectors.mean()) < 0.01 and abs(drawn.std().item() - vectors.std()) < 0.01
    assert torch.equal(weight[0], torch.zeros(40))
    assert re.search(r"the 301 row\(s\) without a vector drawn from N\((2\.99|3), 0\.25\d*²\)", report)


def test_explicit_init_range_still_initialises_the_rows_without_a_vector(tmp_path: Path) -> None:
    """oov_init=match replaces the module's default init only: model.init_range, an explicit choice, still decides the
    rows without a vector (and keeps the loaded vectors)"""
    from omegaconf import OmegaConf

    from seqforge.initialisation import initialise

    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.full((1, 64), 5.0, dtype=np.float32) + np.arange(64))
    for init_range, drawn_at_vector_scale in ((0.01, False), (None, True)):
        model = nn.Sequential(nn.Embedding(3, 64, padding_idx=0), nn.Linear(64, 2))
        load_pretrained(model[0], ["<pad>", "a", "b"], EmbeddingConfig(pretrained=str(path)))
        initialise(model, OmegaConf.create({"init_range": init_range, "init_std": None}))
        assert torch.equal(model[0].weight[1].detach(), torch.arange(64.0) + 5)
        row_b = model[0].weight[2].detach()
        assert (abs(row_b.mean().item() - 36.5) < 10) == drawn_at_vector_scale  # the vectors' mean is 36.5, std ~18
        assert (row_b.abs().max().item() <= 0.01) == (not drawn_at_vector_scale)


def test_unknown_oov_init_names_the_key_and_the_choices(tmp_path: Path) -> None:
    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ConfigError, match=r"model\.embedding\.oov_init must be one of match, module .*got 'zero'"):
        load_pretrained(nn.Embedding(2, 3), ["a", "b"], EmbeddingConfig(pretrained=str(path), oov_init="zero"))


def test_freeze_stops_training(tmp_path: Path) -> None:
    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.ones((1, 3), dtype=np.float32))
    embedding = nn.Embedding(2, 3)
    report = load_pretrained(embedding, ["a", "b"], EmbeddingConfig(pretrained=str(path), freeze=True))
    assert not embedding.weight.requires_grad and "embedding frozen" in report


def test_dimension_mismatch_names_the_key_and_both_sizes(tmp_path: Path) -> None:
    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ConfigError, match=r"model\.embedding\.pretrained=.*dimension 3, but the embedding has 8 "
                                          r"\(model\.embedding_dim\)"):
        load_pretrained(nn.Embedding(2, 8), ["a", "b"], EmbeddingConfig(pretrained=str(path)))


def test_missing_or_headerless_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_word2vec(tmp_path / "nope.txt")
    (tmp_path / "bad.txt").write_text("the 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(DataError, match="does not start with a word2vec header"):
        read_word2vec(tmp_path / "bad.txt")


@pytest.mark.requires_plugins("rnn")
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


def _translation_module(tmp_path: Path, *overrides: str) -> Any:
    """A tiny word-level translation run (`the cat` -> `le chat`) built in-process"""
    from compose_helpers import compose_config

    from seqforge.train import build_run

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the cat\tle chat\nthe dog\tle chien\n" * 20, encoding="utf-8")
    cfg = compose_config([
        "task=translation", "data=parallel", f"data.tsv={pairs}", "model/decoder=recurrent", "model/attention=none",
        "model.embedding_dim=4", "model.hidden_size=4", *overrides,
    ])
    return build_run(cfg)


def _rows(embedding: nn.Embedding, codec: Any, words: list[str]) -> np.ndarray:
    return embedding.weight[[codec.encode(w)[0] for w in words]].detach().numpy()


@pytest.mark.requires_plugins("rnn")
def test_translation_target_embedding_uses_its_own_file_and_reports_oov_per_side(tmp_path: Path, capsys: Any) -> None:
    """pretrained -> encoder embedding, target_pretrained -> decoder embedding (tied output layer too); one report per
    side"""
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    src_path = write_text_vectors(tmp_path / "src.txt", ["the", "cat"], source)
    tgt_path = write_binary_vectors(tmp_path / "tgt.bin", ["le", "chat", "chien"], target)
    module = _translation_module(
        tmp_path, f"model.embedding.pretrained={src_path}", f"model.embedding.target_pretrained={tgt_path}",
        "model.decoder.tie_embeddings=true", "model.embedding.freeze=true", "model.init_range=0.1",
    )
    model, data = module.model, module.data
    np.testing.assert_allclose(_rows(model.source_embedding, data.source_codec, ["the", "cat"]), source, atol=1e-6)
    np.testing.assert_allclose(
        _rows(model.decoder.embedding, data.target_codec, ["le", "chat", "chien"]), target, atol=1e-6
    )
    # still tied, so the output layer starts from them too
    assert model.decoder.output.weight is model.decoder.embedding.weight
    assert not model.source_embedding.weight.requires_grad and not model.decoder.embedding.weight.requires_grad
    out = capsys.readouterr().out
    assert (
        f"pretrained vectors {src_path}: 2 of {len(data.source_codec)} source tokens initialised, 1 out of vocabulary "
        "('dog')"
        in out
    )
    assert (
        f"pretrained vectors {tgt_path}: 3 of {len(data.target_codec)} target tokens initialised, 0 out of vocabulary"
        in out
    )


@pytest.mark.requires_plugins("rnn")
def test_translation_shared_vocabulary_initialises_both_sides_from_one_file(tmp_path: Path, capsys: Any) -> None:
    """data.shared_vocab=true: model.embedding.pretrained fills both embeddings; without it the decoder stays random"""
    words = ["the", "cat", "le", "chat"]
    vectors = np.random.default_rng(1).normal(size=(4, 4)).astype(np.float32)
    path = write_text_vectors(tmp_path / "v.txt", words, vectors)
    module = _translation_module(tmp_path, f"model.embedding.pretrained={path}", "data.shared_vocab=true")
    model, codec = module.model, module.data.target_codec
    for embedding in (model.source_embedding, model.decoder.embedding):
        np.testing.assert_allclose(_rows(embedding, codec, words), vectors, atol=1e-6)
    out = capsys.readouterr().out
    assert "source tokens initialised, 2 out of vocabulary ('chien', 'dog')" in out
    assert "target tokens initialised, 2 out of vocabulary ('chien', 'dog')" in out

    separate = _translation_module(tmp_path, f"model.embedding.pretrained={path}", "model.embedding.freeze=true")
    target = separate.data.target_codec
    assert not np.allclose(_rows(separate.model.decoder.embedding, target, ["le", "chat"]), vectors[2:], atol=1e-3)
    assert separate.model.decoder.embedding.weight.requires_grad  # freeze applies to embeddings that got vectors
    assert "target tokens" not in capsys.readouterr().out


@pytest.mark.requires_plugins("rnn")
def test_target_pretrained_errors_name_the_key(tmp_path: Path) -> None:
    """A wrong dimension names model.embedding.target_pretrained; a single-embedding task refuses the key"""
    path = write_text_vectors(tmp_path / "v.txt", ["le"], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(
        ConfigError, match=r"model\.embedding\.target_pretrained=.*dimension 3, but the embedding has 4"
    ):
        _translation_module(tmp_path, f"model.embedding.target_pretrained={path}")
    with pytest.raises(ConfigError, match=r"model\.embedding\.target_pretrained=.*single embedding; use "
                                          r"model\.embedding\.pretrained"):
        load_pretrained(nn.Embedding(2, 3), ["a", "b"], EmbeddingConfig(target_pretrained=str(path)))


@pytest.mark.requires_plugins("rnn")
def test_tagging_and_classification_word_embeddings_start_from_pretrained_vectors(tmp_path: Path, capsys: Any) -> None:
    """task=tag and task=classify read model.embedding.pretrained into their word embedding, with the OOV report"""
    from compose_helpers import compose_config

    from seqforge.train import build_run

    vectors = np.random.default_rng(1).normal(size=(2, 8)).astype(np.float32)
    path = write_text_vectors(tmp_path / "v.txt", ["EU", "rejects"], vectors)
    conll = tmp_path / "train.conll"
    conll.write_text("EU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\n\n" * 5, encoding="utf-8")
    labelled = tmp_path / "train.tsv"
    labelled.write_text("pos\tEU rejects\nneg\tGerman lamb\n" * 5, encoding="utf-8")
    runs = {
        "tag": ["task=tag", "data=conll", f"data.train={conll}", f"data.valid={conll}", f"data.test={conll}"],
        "classify": [
            "task=classify",
            "data=labelled",
            "data.tokenizer=word",
            f"data.train={labelled}",
            f"data.valid={labelled}",
            f"data.test={labelled}",
        ],
    }
    for task, overrides in runs.items():
        module = build_run(
            compose_config(
                [
                    *overrides,
                    "model.embedding_dim=8",
                    "model.hidden_size=8",
                    f"model.embedding.pretrained={path}",
                    "model.embedding.freeze=true",
                ]
            )
        )
        tokens = module.data.words.itos if task == "tag" else module.data.codec.tokens(range(len(module.data.codec)))
        weight = module.model.embedding.weight
        for word, vector in zip(["EU", "rejects"], vectors):
            np.testing.assert_allclose(weight[tokens.index(word)].detach().numpy(), vector, atol=1e-6)
        assert not weight.requires_grad, task
        assert f"pretrained vectors {path}: 2 of {len(tokens)} tokens initialised" in capsys.readouterr().out, task


@pytest.mark.parametrize("writer", [write_text_vectors, write_binary_vectors])
def test_words_only_reads_the_words_and_no_vectors(tmp_path: Path, writer: Any) -> None:
    """What extend_vocab reads: the same words, a (0, D) array (no float conversion of a large file)."""
    words = ["the", "cat", "café"]
    got_words, got = read_word2vec(writer(tmp_path / "v", words, np.ones((3, 4), dtype=np.float32)), words_only=True)
    assert got_words == words and got.shape == (0, 4)
