"""``model.embedding.extend_vocab``: words with a pretrained vector get a row even if training never saw them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_embeddings import write_text_vectors

from seqforge.data.vocab import SPECIALS, UNK_ID, Vocabulary
from seqforge.embeddings import EmbeddingConfig, extend_vocabulary, load_pretrained
from seqforge.errors import ConfigError


def test_vocabulary_extend_keeps_ids_and_appends_new_tokens_once() -> None:
    vocab = Vocabulary.build(["b", "a", "b"])
    extended = vocab.extend(["a", "c", "d", "c"])
    assert extended.itos == [*vocab.itos, "c", "d"]
    assert all(extended.stoi[t] == i for i, t in enumerate(vocab.itos))
    assert vocab.extend(["a", "b"]) is vocab


def test_extend_vocabulary_adds_words_the_lookup_will_find(tmp_path: Path, capsys: Any) -> None:
    """A normalised word joins only if load_pretrained will find its vector (exact, then lowercase fallback)."""
    path = write_text_vectors(tmp_path / "v.txt", ["the", "Paris", "berlin", "Rome"],
                              np.ones((4, 2), dtype=np.float32))
    vocab = Vocabulary.build(["the", "cat"])
    cfg = EmbeddingConfig(pretrained=str(path), extend_vocab=True)
    assert extend_vocabulary(vocab, EmbeddingConfig(pretrained=str(path)), normalise=str.lower) is vocab
    cased = extend_vocabulary(vocab, cfg)
    assert cased.itos[len(vocab):] == ["Paris", "berlin", "Rome"]
    # lowercased data: "paris" has no vector of its own ("Paris" only), so it would stay random: not added
    lowered = extend_vocabulary(vocab, cfg, normalise=str.lower)
    assert lowered.itos[len(vocab):] == ["berlin"]
    assert "extend_vocab: 3 word(s) of" in capsys.readouterr().out
    with pytest.raises(ConfigError, match=r"model\.embedding\.extend_vocab=true .*\.pretrained is not set"):
        extend_vocabulary(vocab, EmbeddingConfig(extend_vocab=True))


def test_load_pretrained_refuses_extend_vocab_for_a_task_that_does_not_extend(tmp_path: Path) -> None:
    path = write_text_vectors(tmp_path / "v.txt", ["a"], np.ones((1, 2), dtype=np.float32))
    cfg = EmbeddingConfig(pretrained=str(path), extend_vocab=True)
    with pytest.raises(ConfigError, match=r"extend_vocab=true is supported by .*task=classify"):
        load_pretrained(torch.nn.Embedding(5, 2), [*SPECIALS, "a"], cfg)
    assert load_pretrained(torch.nn.Embedding(5, 2), [*SPECIALS, "a"], cfg, extended=True)


def _files(tmp_path: Path) -> dict[str, list[str]]:
    """Tagging and classification runs whose test split holds a word ("Lisbon") that training lacks."""
    train, test = tmp_path / "train.conll", tmp_path / "test.conll"
    train.write_text("Paris B-LOC\nis O\nbig O\n\n" * 4, encoding="utf-8")
    test.write_text("Lisbon B-LOC\nis O\nbig O\n\n", encoding="utf-8")
    labelled_train, labelled_test = tmp_path / "train.tsv", tmp_path / "test.tsv"
    labelled_train.write_text("pos\tParis is big\nneg\tis big\n" * 4, encoding="utf-8")
    labelled_test.write_text("pos\tLisbon is big\n", encoding="utf-8")
    return {
        "tag": ["task=tag", "data=conll", f"data.train={train}", f"data.valid={train}", f"data.test={test}"],
        "classify": ["task=classify", "data=labelled", "data.tokenizer=word", f"data.train={labelled_train}",
                     f"data.valid={labelled_train}", f"data.test={labelled_test}"],
    }


@pytest.mark.parametrize("task", ["tag", "classify"])
def test_an_evaluation_word_unseen_in_training_keeps_its_vector(tmp_path: Path, task: str) -> None:
    """With extend_vocab the test word is encoded to its own row holding its vector; without, it is <unk>."""
    from compose_helpers import compose_config

    from seqforge.train import build_run

    vectors = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    path = write_text_vectors(tmp_path / "v.txt", ["Paris", "Lisbon", "Madrid"], vectors)
    base = [*_files(tmp_path)[task], "model.embedding_dim=8", "model.hidden_size=8",
            f"model.embedding.pretrained={path}"]
    for extend in (False, True):
        module = build_run(compose_config([*base, f"model.embedding.extend_vocab={str(extend).lower()}"]))
        data = module.data
        vocab = data.words if task == "tag" else data.codec.vocab
        test_ids = data.encoded["test"][0][1].tolist()
        if not extend:
            assert "Lisbon" not in vocab.stoi and test_ids[0] == UNK_ID
            continue
        assert vocab.itos[-2:] == ["Lisbon", "Madrid"]
        assert test_ids[0] == vocab.stoi["Lisbon"]
        row = module.model.embedding.weight[vocab.stoi["Lisbon"]].detach().numpy()
        np.testing.assert_allclose(row, vectors[1], atol=1e-6)


def test_extend_vocab_is_refused_where_the_vocabulary_is_not_extended(tmp_path: Path) -> None:
    """task=lm and char tokens say what is supported instead of ignoring the option."""
    from compose_helpers import compose_config

    from seqforge.train import build_run

    path = write_text_vectors(tmp_path / "v.txt", ["the"], np.ones((1, 8), dtype=np.float32))
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat\n" * 20, encoding="utf-8")
    extend = [f"model.embedding.pretrained={path}", "model.embedding.extend_vocab=true", "model.embedding_dim=8",
              "model.hidden_size=8"]
    with pytest.raises(ConfigError, match=r"supported by .*task=classify, doc_classify and tag"):
        build_run(compose_config([f"data.path={corpus}", "data.tokenizer=word", *extend]))
    labelled = tmp_path / "l.tsv"
    labelled.write_text("a\tthe cat\nb\tcat the\n" * 3, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"word vocabulary, but data\.tokenizer=char"):
        build_run(compose_config(["task=classify", "data=labelled", "data.tokenizer=char", f"data.train={labelled}",
                                  f"data.valid={labelled}", f"data.test={labelled}", *extend]))
