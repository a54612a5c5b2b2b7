"""The language-modelling data module's vocabulary: given, or built by prepare(); never None."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqforge.data.lm import LanguageModelData
from seqforge.data.vocab import Vocabulary


def test_vocabulary_is_built_by_prepare_and_asked_for_earlier_names_prepare(tmp_path: Path) -> None:
    """Before prepare() the vocabulary is an error that says to call prepare(), not a silent None"""
    text = tmp_path / "text.txt"
    text.write_text("abc\n" * 60, encoding="utf-8")
    data = LanguageModelData(path=str(text), seq_len=2, batch_size=2, eval_batch_size=1)
    with pytest.raises(RuntimeError, match=r"prepare\(\)"):
        _ = data.vocab
    data.prepare()
    assert {"a", "b", "c"} <= set(data.vocab.itos)


def test_a_given_vocabulary_is_used_without_reading_data() -> None:
    """A restored run's vocabulary (from its checkpoint) is there before any data is read"""
    vocab = Vocabulary.build(["x", "y"])
    data = LanguageModelData(vocab=vocab, path="/nonexistent/never-read.txt")
    assert data.vocab is vocab and data.state() == list(vocab.itos)
