"""Text <-> token ids for one side of a parallel corpus: characters, words, or subwords.

Subwords use Hugging Face ``tokenizers`` (byte-pair encoding with a metaspace
pre-tokenizer, so detokenization is exact) rather than a hand-written BPE.
Every codec serialises to plain data (lists, strings) so checkpoints load
with ``weights_only=True``. Ids 0-3 are always ``<pad> <unk> <bos> <eos>``.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Protocol

from seqforge.data.vocab import SPECIALS, Vocabulary
from seqforge.errors import ConfigError

CODECS = ("char", "word", "subword")


class Codec(Protocol):
    kind: str

    def __len__(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def tokens(self, ids: Iterable[int]) -> list[str]: ...

    def state(self) -> dict[str, Any]: ...


class VocabularyCodec:
    """``char`` (every character a token) or ``word`` (whitespace-separated) over a :class:`Vocabulary`."""

    def __init__(self, kind: str, vocab: Vocabulary, lowercase: bool = False) -> None:
        self.kind, self.vocab, self.lowercase = kind, vocab, lowercase

    @classmethod
    def fit(cls, kind: str, texts: Iterable[str], *, lowercase: bool, min_freq: int, max_size: Optional[int]) -> "VocabularyCodec":
        split = (cls._split(kind, t.lower() if lowercase else t) for t in texts)
        return cls(kind, Vocabulary.build((tok for toks in split for tok in toks), min_freq=min_freq, max_size=max_size), lowercase)

    @staticmethod
    def _split(kind: str, text: str) -> list[str]:
        return list(text) if kind == "char" else text.split()

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self._split(self.kind, text.lower() if self.lowercase else text))

    def tokens(self, ids: Iterable[int]) -> list[str]:
        return self.vocab.decode(ids)

    def decode(self, ids: Iterable[int]) -> str:
        return ("" if self.kind == "char" else " ").join(self.vocab.decode(ids))

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": list(self.vocab.itos), "lowercase": self.lowercase}


class SubwordCodec:
    """Byte-pair encoding trained with Hugging Face ``tokenizers``."""

    kind = "subword"

    def __init__(self, tokenizer: Any, lowercase: bool = False) -> None:
        self.tokenizer, self.lowercase = tokenizer, lowercase

    @classmethod
    def fit(cls, texts: Iterable[str], *, lowercase: bool, vocab_size: int, min_freq: int) -> "SubwordCodec":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE(unk_token=SPECIALS[1]))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_freq, special_tokens=list(SPECIALS), show_progress=False)
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


def fit_codec(kind: str, texts: list[str], *, lowercase: bool, min_freq: int, max_vocab: Optional[int], subword_vocab_size: int) -> Codec:
    """Learn a codec of ``kind`` from training texts."""
    if kind in ("char", "word"):
        return VocabularyCodec.fit(kind, texts, lowercase=lowercase, min_freq=min_freq, max_size=max_vocab)
    if kind == "subword":
        return SubwordCodec.fit(texts, lowercase=lowercase, vocab_size=subword_vocab_size, min_freq=min_freq)
    raise ConfigError(f"data.tokenizer must be one of {', '.join(CODECS)}, got '{kind}'.")


def codec_from_state(state: dict[str, Any]) -> Codec:
    """Rebuild a codec saved with ``state()`` (e.g. from a checkpoint)."""
    if state["kind"] == "subword":
        from tokenizers import Tokenizer

        return SubwordCodec(Tokenizer.from_str(state["json"]), state.get("lowercase", False))
    return VocabularyCodec(state["kind"], Vocabulary(state["tokens"]), state.get("lowercase", False))
