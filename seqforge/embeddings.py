"""Pretrained word vectors for any task's embedding layer (``model.embedding.pretrained``).

Reads the word2vec text and binary formats (what ``seqforge-word2vec``, word2vec.c and
gensim write) and copies the vector of every vocabulary token that has one into an
``nn.Embedding``; the others keep their initialisation and are counted as out of
vocabulary. ``model.embedding.freeze=true`` stops their training. A task with a target
side (translation) initialises its decoder embedding from ``target_pretrained``, or from
``pretrained`` when both sides share one vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from seqforge.errors import ConfigError, DataError

if TYPE_CHECKING:
    from torch import nn

    from seqforge.data.vocab import Vocabulary


@dataclass
class EmbeddingConfig:
    """``model.embedding.*``: how tokens become vectors, and initialising them from pretrained vectors."""

    # learned (nn.Embedding of model.embedding_dim)|onehot (fixed identity rows: input size = vocabulary size)
    kind: str = "learned"
    pretrained: str | None = None  # a word2vec text or binary file (format detected)
    # translation's decoder embedding; unset: `pretrained` if data.shared_vocab=true
    target_pretrained: str | None = None
    freeze: bool = False  # keep the embedding fixed during training (the target one only if it has a vectors file)
    lowercase_fallback: bool = True  # a token without a vector uses its lowercase form's vector, if any
    # every word of `pretrained` gets a row even if training never saw it (task=classify/tag, word tokens), so
    # evaluation and prediction words unseen in training keep their vector instead of becoming <unk>
    extend_vocab: bool = False
    # rows that get no vector (<unk>, words missing from the file): `match` draws them from N(mean, std) of the
    # file's vectors, so an unseen word is not an input several times larger than any the encoder trained on (an
    # N(0, 1) row of 300 dimensions has norm ~17, a spaCy/GloVe vector ~5-7); `module` keeps the module's own init.
    # An explicit model.init_range/init_std re-initialises them either way
    oov_init: str = "match"


def build_token_embedding(
    vocab_size: int, dim: int, cfg: Any, *, padding_idx: int = 0, key: str = "model.embedding"
) -> nn.Module:
    """The token embedding a task puts before its encoder, by ``cfg.kind`` (``model.embedding.kind``).

    ``learned`` is an ``nn.Embedding(vocab_size, dim)``; ``onehot`` is the fixed identity
    (:class:`~seqforge.onehot.OneHotEmbedding`, no parameters), so the encoder reads
    ``vocab_size`` inputs and learns everything in its own first layer — the baseline that
    learned and word2vec-initialised embeddings are compared against. Either way the module's
    ``embedding_dim`` is the encoder's input size.
    Raises:
        ConfigError: an unknown kind, or ``onehot`` with ``pretrained`` vectors.
    """
    kind = getattr(cfg, "kind", "learned")
    if kind == "learned":
        from torch import nn

        return nn.Embedding(vocab_size, dim, padding_idx=padding_idx)
    if kind != "onehot":
        raise ConfigError(f"{key}.kind must be learned or onehot, got '{kind}'.")
    if getattr(cfg, "pretrained", None):
        raise ConfigError(
            f"{key}.kind=onehot is a fixed identity and cannot be initialised from "
            f"{key}.pretrained='{cfg.pretrained}'; use {key}.kind=learned with pretrained vectors, or unset "
            f"{key}.pretrained."
        )
    from seqforge.onehot import OneHotEmbedding

    return OneHotEmbedding(vocab_size, padding_idx=padding_idx)


def _header(first: bytes, path: Path, key: str) -> tuple[int, int]:
    parts = first.split()
    try:
        count, dim = int(parts[0]), int(parts[1])
        if len(parts) != 2 or count < 0 or dim < 1:
            raise ValueError
    except (ValueError, IndexError):
        raise DataError(
            f"The vectors file '{path}' (config key `{key}`) does not start with a word2vec header "
            f"'<words> <dimension>' (line 1 is {first[:60]!r})."
        ) from None
    return count, dim


def read_word2vec(path: str | Path, *, key: str = "model.embedding.pretrained",
                  words_only: bool = False) -> tuple[list[str], np.ndarray]:
    """``(words, vectors (N, D) float32)`` from a word2vec text or binary file.

    The format is detected: a binary file has exactly ``4 * D`` bytes of floats after each word.
    ``words_only`` skips converting the numbers (vectors ``(0, D)``): what extending a vocabulary
    needs, several times faster on a large text file. Nothing is cached, so a multi-GB file is
    not held in memory for the rest of a run.
    Raises :class:`DataError` naming the file and line (text) or word number (binary).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"The vectors file '{path}' (config key `{key}`) does not exist; give a word2vec text or "
                        "binary file.")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        raw = gzip.decompress(raw)
    newline = raw.find(b"\n")
    count, dim = _header(raw[: newline if newline >= 0 else len(raw)], path, key)
    body = memoryview(raw)[newline + 1 :]
    if _looks_binary(bytes(body[: 256 + 32 * dim]), dim):
        return _read_binary(bytes(body), count, dim, path, key, words_only)
    return _read_text(bytes(body), count, dim, path, key, words_only)


def _looks_binary(head: bytes, dim: int) -> bool:
    line = head.split(b"\n", 1)[0]
    fields = line.split(b" ")
    fields = [f for f in fields if f]
    if len(fields) == dim + 1:
        try:
            [float(f) for f in fields[1:]]
            return False
        except ValueError:
            return True
    return True


def _read_text(body: bytes, count: int, dim: int, path: Path, key: str,
               words_only: bool) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((0 if words_only else count, dim), dtype=np.float32)
    for number, line in enumerate(body.decode("utf-8", errors="strict").splitlines(), start=2):
        if not line.strip():
            continue
        parts = line.rstrip().split(" ")
        if len(parts) != dim + 1 or len(words) >= count:
            raise DataError(
                f"The vectors file '{path}' (config key `{key}`), line {number}: expected a word and {dim} numbers "
                f"(header says {count} words of dimension {dim}), got {len(parts)} fields."
            )
        try:
            if not words_only:
                vectors[len(words)] = [float(x) for x in parts[1:]]
        except ValueError:
            raise DataError(
                f"The vectors file '{path}' (config key `{key}`), line {number}: a value is not a number."
            ) from None
        words.append(parts[0])
    if len(words) != count:
        raise DataError(f"The vectors file '{path}' (config key `{key}`) has {len(words)} vectors; its header "
                        f"announces {count}.")
    return words, vectors


def _read_binary(body: bytes, count: int, dim: int, path: Path, key: str,
                 words_only: bool) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((0 if words_only else count, dim), dtype=np.float32)
    pos, width = 0, 4 * dim
    for number in range(count):
        while pos < len(body) and body[pos : pos + 1] in (b"\n", b" "):
            pos += 1
        space = body.find(b" ", pos)
        if space < 0 or space + 1 + width > len(body):
            raise DataError(
                f"The vectors file '{path}' (config key `{key}`) ends inside word {number + 1} of {count} "
                f"(binary word2vec format, dimension {dim}); the file is truncated."
            )
        words.append(body[pos:space].decode("utf-8", errors="replace"))
        if not words_only:
            vectors[number] = np.frombuffer(body, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + width
    return words, vectors


Side = Literal["only", "source", "target"]
#: The attribute on an embedding's weight listing the rows loaded from pretrained vectors (a list of row indices):
#: build_run's ``model.init_range`` leaves these rows alone.
PRETRAINED_ROWS = "_seqforge_pretrained_rows"

_WHAT = {"only": "tokens", "source": "source tokens", "target": "target tokens"}


def _vectors_file(cfg: EmbeddingConfig, side: Side, shared_vocab: bool, key: str) -> tuple[str | None, str]:
    """The file for ``side`` and the config key that named it."""
    if side == "target":
        if cfg.target_pretrained:
            return cfg.target_pretrained, f"{key}.target_pretrained"
        return (cfg.pretrained if shared_vocab else None), f"{key}.pretrained"
    if side == "only" and cfg.target_pretrained:
        raise ConfigError(
            f"{key}.target_pretrained='{cfg.target_pretrained}' initialises a decoder (target-side) embedding, but "
            f"this task has a single embedding; use {key}.pretrained instead."
        )
    return cfg.pretrained, f"{key}.pretrained"


def _vector_lookup(words: Sequence[str], cfg: EmbeddingConfig) -> Callable[[str], int | None]:
    """``token -> row of the vectors file`` (None: no vector), trying the lowercase form if ``lowercase_fallback``."""
    index = {word: i for i, word in enumerate(words)}
    fallback = bool(getattr(cfg, "lowercase_fallback", True))

    def lookup(token: str) -> int | None:
        found = index.get(token)
        return index.get(token.lower()) if found is None and fallback else found

    return lookup


def extend_vocabulary(vocabulary: Vocabulary, cfg: EmbeddingConfig, *, normalise: Callable[[str], str] | None = None,
                      key: str = "model.embedding") -> Vocabulary:
    """``vocabulary`` plus every word of ``cfg.pretrained`` it lacks, when ``cfg.extend_vocab`` (else unchanged).

    For a task to call on its training vocabulary *before* encoding the splits: a word that
    training never saw (or saw fewer than ``data.min_freq`` times) but that has a pretrained
    vector then keeps that vector at evaluation and prediction time instead of becoming
    ``<unk>``, as with Kim (2014) and Lample et al. (2016). ``normalise`` is the data's own token
    normalisation (e.g. lowercasing); a normalised word joins only if it still has a vector,
    looked up as :func:`load_pretrained` will look it up. The added rows are never trained
    unless the word occurs in training, so they keep their vectors. Prints how many joined.
    Raises:
        ConfigError: ``extend_vocab`` without ``pretrained``.
    """
    if not getattr(cfg, "extend_vocab", False):
        return vocabulary
    if not cfg.pretrained:
        raise ConfigError(f"{key}.extend_vocab=true adds the words of {key}.pretrained to the vocabulary, but "
                          f"{key}.pretrained is not set; give a word2vec file or set {key}.extend_vocab=false.")
    words, _ = read_word2vec(cfg.pretrained, key=f"{key}.pretrained", words_only=True)
    lookup = _vector_lookup(words, cfg)
    candidates = (normalise(word) for word in words) if normalise is not None else iter(words)
    extended = vocabulary.extend(word for word in candidates if lookup(word) is not None)
    print(f"seqforge: {key}.extend_vocab: {len(extended) - len(vocabulary)} word(s) of {cfg.pretrained} added to the "
          f"{len(vocabulary)} of the training vocabulary")
    return extended


def init_embedding(embedding: nn.Embedding, vocabulary: Sequence[str], cfg: EmbeddingConfig, **options: Any) -> None:
    """What tasks call: :func:`load_pretrained` (same ``options``), its report printed as one ``seqforge:`` line.

    A one-hot embedding (``model.embedding.kind=onehot``) has nothing to initialise: it is skipped.
    A learned ``nn.Embedding`` while ``kind=onehot`` means the task built its embedding without
    :func:`build_token_embedding`: refused, rather than silently training a learned one.
    """
    if not hasattr(embedding, "weight"):
        return
    if getattr(cfg, "kind", "learned") == "onehot":
        raise ConfigError(
            f"{options.get('key', 'model.embedding')}.kind=onehot is supported by the tasks that embed tokens with "
            "build_token_embedding (task=classify, tag, doc_classify); this task builds a learned embedding. "
            "Use model.embedding.kind=learned here."
        )
    report = load_pretrained(embedding, vocabulary, cfg, **options)
    if report:
        print(f"seqforge: {report}")


def load_pretrained(embedding: nn.Embedding, vocabulary: Sequence[str], cfg: EmbeddingConfig, *,
                    key: str = "model.embedding", side: Side = "only", shared_vocab: bool = False,
                    cache: dict[str, tuple[list[str], np.ndarray]] | None = None,
                    extended: bool = False) -> str | None:
    """Copy pretrained vectors into ``embedding`` (row ``i`` = ``vocabulary[i]``) and apply ``freeze``.

    ``side`` is ``only`` for a task's single embedding, ``source``/``target`` for the two sides
    of a sequence-to-sequence model: the target side reads ``target_pretrained``, else
    ``pretrained`` when ``shared_vocab``, and is frozen only when it gets vectors (freezing a
    random decoder embedding, possibly tied to the output layer, helps nobody). ``cache`` (path ->
    vectors) lets both sides read a shared file once. ``extended`` says the task passed its
    vocabulary through :func:`extend_vocabulary`; without it ``extend_vocab=true`` is refused
    rather than silently ignored.
    Returns a one-line report (vectors found, OOV count with examples), or None without a file.
    Raises:
        ConfigError: the vectors' dimension differs from the embedding's, ``target_pretrained``
            is set for a task with a single embedding, ``extend_vocab`` for a task that does not extend, or an
            unknown ``oov_init``.
    """
    import torch

    if getattr(cfg, "extend_vocab", False) and not extended:
        raise ConfigError(
            f"{key}.extend_vocab=true is supported by the tasks that build a word vocabulary with "
            "extend_vocabulary (task=classify, doc_classify and tag, with word tokens); this task's vocabulary is "
            f"its training split's. Set {key}.extend_vocab=false."
        )

    oov_init = getattr(cfg, "oov_init", "match")
    if oov_init not in OOV_INITS:
        raise ConfigError(f"{key}.oov_init must be one of {', '.join(OOV_INITS)} (how rows without a vector start), "
                          f"got '{oov_init}'.")
    path, file_key = _vectors_file(cfg, side, shared_vocab, key)
    if cfg.freeze and (path or side != "target"):
        embedding.weight.requires_grad_(False)
    if not path:
        return None
    if cache is not None and path in cache:
        words, vectors = cache[path]
    else:
        words, vectors = read_word2vec(path, key=file_key)
        if cache is not None:
            cache[path] = words, vectors
    if vectors.shape[1] != embedding.embedding_dim:
        raise ConfigError(
            f"{file_key}='{path}' has vectors of dimension {vectors.shape[1]}, but the embedding has "
            f"{embedding.embedding_dim} (model.embedding_dim); set model.embedding_dim={vectors.shape[1]}."
        )
    lookup = _vector_lookup(words, cfg)
    rows, sources, missing, unmatched = [], [], [], []
    for row, token in enumerate(vocabulary):
        found = lookup(token)
        if found is None:
            if row != embedding.padding_idx:
                unmatched.append(row)
            if not (token.startswith("<") and token.endswith(">")):  # specials (<pad>, <unk>, ...) are not OOV
                missing.append(token)
            continue
        rows.append(row)
        sources.append(found)
    with torch.no_grad():
        if rows:
            embedding.weight[torch.tensor(rows)] = torch.from_numpy(vectors[sources]).to(embedding.weight.dtype)
        drawn = _match_scale(embedding.weight, unmatched, vectors) if oov_init == "match" and rows else ""
    # model.init_range/init_std, when set, re-initialise every other row (the drawn ones too): an explicit choice
    setattr(embedding.weight, PRETRAINED_ROWS, list(rows))
    examples = ", ".join(repr(t) for t in missing[:5]) + (", ..." if len(missing) > 5 else "")
    return (
        f"pretrained vectors {path}: {len(rows)} of {len(vocabulary)} {_WHAT[side]} initialised, "
        f"{len(missing)} out of vocabulary{' (' + examples + ')' if missing else ''}{drawn}"
        f"{'; embedding frozen' if cfg.freeze else ''}"
    )


OOV_INITS = ("match", "module")


def _match_scale(weight: Any, rows: list[int], vectors: np.ndarray) -> str:
    """Redraw ``rows`` of ``weight`` from N(mean, std) of all of ``vectors`` (AllenNLP's rule); returns the report.

    One scalar mean and std over every element, not per dimension: it only has to put unseen
    words on the vectors' scale, and stays defined for a file of one vector.
    """
    import torch

    if not rows:
        return ""
    mean, std = float(vectors.mean()), float(vectors.std())
    index = torch.tensor(rows)
    weight[index] = torch.randn(len(rows), weight.shape[1], dtype=weight.dtype, device=weight.device) * std + mean
    return f"; the {len(rows)} row(s) without a vector drawn from N({mean:.3g}, {std:.3g}²) like the vectors"
