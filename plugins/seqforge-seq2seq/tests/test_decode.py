"""Translation's decoding (``seqforge_seq2seq.translation.decode``) on the real encoder-decoder model."""

from __future__ import annotations

import pytest
from test_seq2seq import batch, make_model  # the core's encoder-decoder fixtures (tests/ is on pytest's pythonpath)

from seqforge.api import DecodeConfig
from seqforge_seq2seq.translation import decode


@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_a_sentence_decodes_the_same_alone_and_in_a_padded_batch(strategy: str) -> None:
    """Padding and batch composition do not change a sentence's translation"""
    model = make_model()
    src, lengths = batch()
    options = DecodeConfig(strategy=strategy, beam_size=3, max_len=8, max_len_ratio=0)
    together = decode(model, src, lengths, options)
    for row, length in enumerate(lengths.tolist()):
        alone = decode(model, src[row : row + 1, :length], lengths[row : row + 1], options)
        assert alone[0][0].tokens == together[row][0].tokens
