"""Text <-> token ids: characters or words over a :class:`Vocabulary`.

Subword (BPE) codecs belong to the seqforge-seq2seq plugin (Hugging Face
``tokenizers`` is its dependency, not the core's); it extends :func:`fit_codec`
and :func:`codec_from_state` with the ``subword`` kind. Every codec serialises
to plain data (lists, strings) so checkpoints load with ``weights_only=True``. Ids 0-3 are always ``<pad> <unk> <bos>
<eos>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from seqforge.data.vocab import Vocabulary
from seqforge.errors import ConfigError

CODECS = ("char", "word")


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
    def fit(
        cls, kind: str, texts: Iterable[str], *, lowercase: bool, min_freq: int, max_size: int | None
    ) -> VocabularyCodec:
        split = (cls._split(kind, t.lower() if lowercase else t) for t in texts)
        return cls(
            kind,
            Vocabulary.build((tok for toks in split for tok in toks), min_freq=min_freq, max_size=max_size),
            lowercase,
        )

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


def fit_codec(kind: str, texts: list[str], *, lowercase: bool, min_freq: int, max_vocab: int | None) -> Codec:
    """Learn a ``char`` or ``word`` codec from training texts (subword codecs are the seqforge-seq2seq plugin's)."""
    if kind in ("char", "word"):
        return VocabularyCodec.fit(kind, texts, lowercase=lowercase, min_freq=min_freq, max_size=max_vocab)
    raise ConfigError(f"data.tokenizer must be one of {', '.join(CODECS)}, got '{kind}'.")


def codec_from_state(state: dict[str, Any]) -> Codec:
    """Rebuild a codec saved with ``state()`` (e.g. from a checkpoint)."""
    if state["kind"] not in CODECS:
        raise ConfigError(f"A saved codec of kind '{state['kind']}' cannot be rebuilt by the core (it knows "
                          f"{', '.join(CODECS)}); subword codecs are rebuilt by the seqforge-seq2seq plugin.")
    return VocabularyCodec(state["kind"], Vocabulary(state["tokens"]), state.get("lowercase", False))
