"""Subword (BPE) codecs, and the codec constructors of parallel data (char, word and subword).

Subwords use Hugging Face ``tokenizers`` (byte-pair encoding with a metaspace
pre-tokenizer, so detokenization is exact) rather than a hand-written BPE. The
core's codecs know ``char`` and ``word``; :func:`fit_codec` and
:func:`codec_from_state` here add ``subword`` and hand the other kinds to them.
A subword codec's state is plain data (the tokenizer's JSON), so checkpoints
still load with ``weights_only=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seqforge.api import SPECIALS, Codec, ConfigError
from seqforge.api import codec_from_state as core_codec_from_state
from seqforge.api import fit_codec as core_fit_codec

CODECS = ("char", "word", "subword")


class SubwordCodec:
    """Byte-pair encoding trained with Hugging Face ``tokenizers``."""

    kind = "subword"

    def __init__(self, tokenizer: Any, lowercase: bool = False) -> None:
        self.tokenizer, self.lowercase = tokenizer, lowercase

    @classmethod
    def fit(cls, texts: Iterable[str], *, lowercase: bool, vocab_size: int, min_freq: int) -> SubwordCodec:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE(unk_token=SPECIALS[1]))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_freq, special_tokens=list(SPECIALS), show_progress=False
        )
        tokenizer.train_from_iterator((t.lower() if lowercase else t for t in texts), trainer=trainer)
        return cls(tokenizer, lowercase)

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text.lower() if self.lowercase else text).ids

    def tokens(self, ids: Iterable[int]) -> list[str]:
        return [self.tokenizer.id_to_token(i) for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def state(self) -> dict[str, Any]:
        return {"kind": "subword", "json": self.tokenizer.to_str(), "lowercase": self.lowercase}


def fit_codec(
    kind: str, texts: list[str], *, lowercase: bool, min_freq: int, max_vocab: int | None, subword_vocab_size: int
) -> Codec:
    """Learn a codec of ``kind`` (char|word|subword) from training texts."""
    if kind == "subword":
        return SubwordCodec.fit(texts, lowercase=lowercase, vocab_size=subword_vocab_size, min_freq=min_freq)
    if kind not in CODECS:
        raise ConfigError(f"data.tokenizer must be one of {', '.join(CODECS)}, got '{kind}'.")
    return core_fit_codec(kind, texts, lowercase=lowercase, min_freq=min_freq, max_vocab=max_vocab)


def codec_from_state(state: dict[str, Any]) -> Codec:
    """Rebuild a codec saved with ``state()`` (e.g. from a checkpoint)."""
    if state["kind"] == "subword":
        from tokenizers import Tokenizer

        return SubwordCodec(Tokenizer.from_str(state["json"]), state.get("lowercase", False))
    return core_codec_from_state(state)
