"""The core's codecs: char and word only (BPE subwords are the seqforge-seq2seq plugin's), saved as plain data."""

from __future__ import annotations

import pytest

from seqforge.data.codecs import codec_from_state, fit_codec
from seqforge.errors import ConfigError


@pytest.mark.parametrize("kind", ["char", "word"])
def test_char_and_word_codecs_round_trip_through_their_saved_state(kind: str) -> None:
    """encode -> state -> rebuilt codec gives the same ids and text"""
    codec = fit_codec(kind, ["a cat sat", "a dog"], lowercase=False, min_freq=1, max_vocab=None)
    rebuilt = codec_from_state(codec.state())
    assert rebuilt.encode("a cat") == codec.encode("a cat")
    assert rebuilt.decode(codec.encode("a dog")) == "a dog"


def test_the_core_does_not_fit_subword_codecs() -> None:
    """data.tokenizer=subword reaches the core only through a data module that validates it; the core names its kinds"""
    with pytest.raises(ConfigError, match="char, word, got 'subword'"):
        fit_codec("subword", ["a b"], lowercase=False, min_freq=1, max_vocab=None)


def test_a_saved_subword_codec_points_at_the_plugin_that_rebuilds_it() -> None:
    """A subword state given to the core's codec_from_state names seqforge-seq2seq instead of a KeyError on 'tokens'"""
    with pytest.raises(ConfigError, match="seqforge-seq2seq"):
        codec_from_state({"kind": "subword", "json": "{}", "lowercase": False})
