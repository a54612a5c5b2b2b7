"""Token-level tagging data: CoNLL column files, IOB1/IOB2 tags, word and character ids.

A CoNLL file has one token per line with whitespace- (or tab-) separated
columns, a blank line between sentences, and optional ``-DOCSTART-`` lines
between documents. IOB1 tags (``I-X`` may begin an entity; ``B-X`` only
separates two adjacent entities of one type) are converted to IOB2 (every
entity begins with ``B-X``) on reading, so the model learns one scheme and
seqeval scores entities the same way whichever the file used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch import Tensor

from seqforge.api import (
    PAD_ID,
    UNK_ID,
    ConfigError,
    DataError,
    SplitLoaders,
    Vocabulary,
    extend_vocabulary,
    read_text,
)
from seqforge_labelled.data_configs import ConllDataConfig
from seqforge_labelled.labelled_data import IGNORE, unseen_report

SPLITS = ("train", "valid", "test")
SCHEMES = ("auto", "iob1", "iob2", "none")
_IOB = re.compile(r"^(O|[BI]-.+)$")
Sentence = tuple[list[str], list[str]]


@dataclass
class TagBatch:
    """``words`` ``(B, T)`` ids, ``chars`` ``(B, T, C)`` ids (or None), ``lengths`` ``(B,)``,
    ``tags`` ``(B, T)`` ids (``IGNORE`` at padding and for tags unseen in training), ``index`` ``(B,)``."""

    words: Tensor
    chars: Tensor | None
    lengths: Tensor
    tags: Tensor
    index: Tensor

    @property
    def batch_size(self) -> int:
        return self.words.shape[0]

    def to(self, device: torch.device) -> TagBatch:
        chars = self.chars.to(device) if self.chars is not None else None
        return TagBatch(self.words.to(device), chars, self.lengths.to(device), self.tags.to(device), self.index)


# -- reading ------------------------------------------------------------------------------------


def read_conll(
    path: str,
    *,
    key: str,
    token_column: int = 0,
    tag_column: int = -1,
    columns: int | None = None,
    separator: str = "whitespace",
) -> tuple[list[Sentence], list[list[int]]]:
    """Sentences ``(tokens, tags)`` and each token's line number.

    Raises:
        DataError: a token line with a different number of columns (naming file and line).
        ConfigError: a column index outside the file's columns.
    """
    if separator not in ("whitespace", "tab"):
        raise ConfigError(f"data.separator must be 'whitespace' or 'tab', got '{separator}'.")
    sentences: list[Sentence] = []
    line_numbers: list[list[int]] = []
    tokens: list[str] = []
    tags: list[str] = []
    numbers: list[int] = []
    expected = columns

    def flush() -> None:
        if tokens:
            sentences.append((list(tokens), list(tags)))
            line_numbers.append(list(numbers))
            tokens.clear(), tags.clear(), numbers.clear()

    for number, line in enumerate(read_text(path, what="CoNLL file", key=key).splitlines(), start=1):
        fields = line.rstrip("\r\n").split("\t") if separator == "tab" else line.split()
        if not line.strip():
            flush()
            continue
        if fields[0] == "-DOCSTART-":
            flush()
            continue
        if expected is None:
            expected = len(fields)
            for name, column in (("data.token_column", token_column), ("data.tag_column", tag_column)):
                if not -expected <= column < expected:
                    raise ConfigError(f"`{name}={column}` is outside the {expected} column(s) of {path} (line "
                                      f"{number}: {line[:60]!r}).")
            if expected < 2:
                raise DataError(f"{path}, line {number} (config key `{key}`): a CoNLL line needs at least a token and "
                                f"a tag column, found {line[:60]!r}.")
        if len(fields) != expected:
            raise DataError(
                f"{path}, line {number} (config key `{key}`): expected {expected} {separator}-separated column(s) like "
                f"the {'setting data.columns' if columns else 'first token line'}, found {len(fields)}: {line[:80]!r}."
            )
        tokens.append(fields[token_column])
        tags.append(fields[tag_column])
        numbers.append(number)
    flush()
    return sentences, line_numbers


def is_iob(tags: Sequence[str]) -> bool:
    """Every tag is ``O``, ``B-X`` or ``I-X``."""
    return all(_IOB.match(tag) for tag in tags)


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """``I-X`` that begins an entity (after ``O`` or another type) becomes ``B-X``; IOB2 input is unchanged."""
    out = []
    for i, tag in enumerate(tags):
        previous = tags[i - 1] if i > 0 else "O"
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
    return out


def resolve_scheme(scheme: str, train_tags: Sequence[str]) -> str:
    """``iob`` (entity metrics) or ``none`` (plain tags) for ``data.scheme``."""
    if scheme not in SCHEMES:
        raise ConfigError(f"data.scheme must be one of {', '.join(SCHEMES)}, got '{scheme}'.")
    if scheme == "none":
        return "none"
    if is_iob(train_tags):
        return "iob"
    if scheme == "auto":
        return "none"
    bad = next(tag for tag in train_tags if not _IOB.match(tag))
    raise DataError(f"data.scheme={scheme} but the training tags are not IOB (e.g. '{bad}'); use data.scheme=none for "
                    "plain tags such as POS.")


def check_iob2(sentences: list[Sentence], numbers: list[list[int]], path: str, key: str) -> None:
    """Refuse an ``I-X`` that begins an entity (allowed in IOB1, not in IOB2), naming file and line."""
    for (_, tags), lines in zip(sentences, numbers):
        for i, tag in enumerate(tags):
            previous = tags[i - 1] if i > 0 else "O"
            if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
                raise DataError(
                    f"{path}, line {lines[i]} (config key `{key}`): '{tag}' begins an entity after '{previous}', which "
                    "IOB2 does not allow (every entity starts with B-). If the file is IOB1, set data.scheme=iob1 (or "
                    "auto)."
                )


# -- the data module ------------------------------------------------------------------------------


class TaggingData(SplitLoaders, L.LightningDataModule):
    """Reads CoNLL files, learns word/character/tag vocabularies on the training split, serves padded batches.

    Args:
        state: what a checkpoint saved (:meth:`state`).
        **options: the fields of :class:`ConllDataConfig` (or a subclass).
    """

    config_class: type = ConllDataConfig

    def __init__(self, *, state: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = self.config_class(**options)
        self.words: Vocabulary | None = Vocabulary(state["words"]) if state else None
        self.chars: Vocabulary | None = Vocabulary(state["chars"]) if state else None
        self.tags: list[str] = list(state["tags"]) if state else []
        self.scheme: str = state["scheme"] if state else ""
        self.sentences: dict[str, list[Sentence]] = {}
        self.encoded: dict[str, list[tuple[int, Tensor, Tensor, Tensor]]] = {}
        self.unseen: dict[str, dict[str, int]] = {}
        self.use_chars = False  # set by the task when the model has character features
        self.embedding_cfg: Any = None  # set by the task: model.embedding (extend_vocab adds the vectors' words)

    # -- reading ------------------------------------------------------------------------------
    def load_sentences(self) -> dict[str, tuple[list[Sentence], list[list[int]], str]]:
        """Per split: sentences, their line numbers, and the file (subclasses generate them instead)."""
        cfg = self.cfg
        missing = [f"data.{s}" for s in SPLITS if getattr(cfg, s) is None]
        if missing:
            raise ConfigError("data=conll needs CoNLL files for data.train, data.valid and data.test (missing: "
                              f"{', '.join(missing)}).")
        out = {}
        for split in SPLITS:
            path = getattr(cfg, split)
            sentences, numbers = read_conll(
                path,
                key=f"data.{split}",
                token_column=cfg.token_column,
                tag_column=cfg.tag_column,
                columns=cfg.columns,
                separator=cfg.separator,
            )
            if not sentences:
                raise DataError(f"The CoNLL file '{path}' (config key `data.{split}`) holds no sentences.")
            out[split] = (sentences, numbers, path)
        return out

    def prepare(self) -> TaggingData:
        """Read, convert IOB1 to IOB2, learn vocabularies, encode (idempotent)."""
        if self.encoded:
            return self
        cfg = self.cfg
        loaded = self.load_sentences()
        if not self.scheme:
            self.scheme = resolve_scheme(cfg.scheme, [t for _, tags in loaded["train"][0] for t in tags])
        for split, (sentences, numbers, path) in loaded.items():
            if self.scheme == "iob" and cfg.scheme == "iob2":
                check_iob2(sentences, numbers, path, f"data.{split}")
            if self.scheme == "iob":
                sentences = [(tokens, iob1_to_iob2(tags)) for tokens, tags in sentences]
            self.sentences[split] = sentences
        if self.words is None:
            train = self.sentences["train"]
            self.words = Vocabulary.build(
                (self._word(w) for tokens, _ in train for w in tokens), min_freq=cfg.min_freq, max_size=cfg.max_vocab
            )
            if self.embedding_cfg is not None:
                self.words = extend_vocabulary(self.words, self.embedding_cfg, normalise=self._word)
            self.chars = Vocabulary.build(c for tokens, _ in train for w in tokens for c in w)
            self.tags = sorted({t for _, tags in train for t in tags}, key=lambda t: (t != "O", t[2:], t))
        self.unseen = unseen_report(
            {split: [t for _, tags in self.sentences[split] for t in tags] for split in ("valid", "test")},
            set(self.tags),
            policy=cfg.unseen_labels,
            what="token",
            consequence="The model cannot predict them; they count as errors in every metric.",
        )
        for split in SPLITS:
            self.encoded[split] = [
                self._encode(index, tokens, tags) for index, (tokens, tags) in enumerate(self.sentences[split])
            ]
        return self

    def _word(self, word: str) -> str:
        return word.lower() if self.cfg.lowercase else word

    def _encode(self, index: int, tokens: Sequence[str], tags: Sequence[str]) -> tuple[int, Tensor, Tensor, Tensor]:
        tag_id = {t: i for i, t in enumerate(self.tags)}
        words = torch.tensor(self.words.encode(self._word(w) for w in tokens), dtype=torch.long)  # (T,)
        chars = [
            torch.tensor(self.chars.encode(w[: self.cfg.max_word_len]) or [UNK_ID], dtype=torch.long) for w in tokens
        ]
        char_ids = torch.nn.utils.rnn.pad_sequence(chars, batch_first=True, padding_value=PAD_ID)  # (T, C)
        return index, words, char_ids, torch.tensor([tag_id.get(t, IGNORE) for t in tags], dtype=torch.long)

    def encode_sentences(self, sentences: Sequence[Sequence[str]]) -> list[tuple[int, Tensor, Tensor, Tensor]]:
        """Model inputs for new tokenised sentences (inference)."""
        return [self._encode(i, tokens, ["O"] * len(tokens)) for i, tokens in enumerate(sentences)]

    def singleton_ids(self) -> Tensor:
        """Ids of the words that occur exactly once in the training split (for ``task.singleton_unk``)."""
        counts = Counter(self._word(w) for tokens, _ in self.sentences["train"] for w in tokens)
        return torch.tensor(
            sorted({self.words.stoi[w] for w, n in counts.items() if n == 1 and w in self.words.stoi}), dtype=torch.long
        )

    def count_unknown(self, sentences: Sequence[Sequence[str]]) -> int:
        """Tokens outside the word vocabulary (after ``data.lowercase``), which the model sees as ``<unk>``."""
        return sum(self._word(w) not in self.words.stoi for tokens in sentences for w in tokens)

    # -- batching -------------------------------------------------------------------------------
    def collate(self, examples: list[tuple[int, Tensor, Tensor, Tensor]]) -> TagBatch:
        index, words, chars, tags = zip(*examples)
        pad = torch.nn.utils.rnn.pad_sequence
        char_batch = None
        if self.use_chars:
            T, C = max(len(w) for w in words), max(c.shape[1] for c in chars)
            char_batch = torch.full((len(words), T, C), PAD_ID, dtype=torch.long)  # (B, T, C)
            for row, c in enumerate(chars):
                char_batch[row, : c.shape[0], : c.shape[1]] = c
        return TagBatch(
            words=pad(list(words), batch_first=True, padding_value=PAD_ID), chars=char_batch,
            lengths=torch.tensor([len(w) for w in words]), tags=pad(list(tags), batch_first=True, padding_value=IGNORE),
            index=torch.tensor(index),
        )

    def describe(self) -> str:
        sizes = "/".join(str(len(self.sentences[s])) for s in SPLITS)
        scheme = "IOB2" if self.scheme == "iob" else "plain"
        return f"sentences train/valid/test {sizes} | words {len(self.words)} | tags {len(self.tags)} ({scheme})"

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: word, character and tag vocabularies and the resolved scheme."""
        return {
            "words": list(self.words.itos),
            "chars": list(self.chars.itos),
            "tags": list(self.tags),
            "scheme": self.scheme,
        }
