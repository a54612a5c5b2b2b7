"""Character and word tokenizers for language modelling."""

from __future__ import annotations

from seqforge.data.vocab import EOS
from seqforge.errors import ConfigError

TOKENIZERS = ("char", "word")


def tokenize(text: str, kind: str, *, lowercase: bool = False) -> list[str]:
    """Split ``text`` into tokens.

    ``char``: every character (newlines included) is a token.
    ``word``: whitespace-separated words, each line ended by ``<eos>`` (the PTB convention).
    """
    if lowercase:
        text = text.lower()
    if kind == "char":
        return list(text)
    if kind == "word":
        tokens: list[str] = []
        for line in text.splitlines():
            words = line.split()
            if words:
                tokens.extend(words)
                tokens.append(EOS)
        return tokens
    raise ConfigError(f"data.tokenizer must be one of {', '.join(TOKENIZERS)}, got '{kind}'.")


def detokenize(tokens: list[str], kind: str) -> str:
    """Inverse of :func:`tokenize` (up to whitespace for ``word``)."""
    if kind == "char":
        return "".join(tokens)
    return " ".join("\n" if t == EOS else t for t in tokens).replace(" \n ", "\n")
