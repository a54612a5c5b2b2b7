"""Labelled documents (sentences of words) for hierarchical classification: ``data=documents``.

Two file formats (``data.format``):

* ``lines`` — one document per line, ``label<TAB>sentence ||| sentence ||| ...`` (``data.sentence_separator``,
  default ``" ||| "``);
* ``blocks`` — documents separated by blank lines; a document's first line is its label, every further line
  one sentence.

Batches are ``(B, S, W)`` word ids (``S`` sentences of ``W`` words, ``<pad>``-padded on both axes) with
``lengths`` ``(B,)`` = sentences per document, so the classification task's steps and metrics apply
unchanged. ``data.flat=true`` instead concatenates each document's sentences into one ``(T,)`` sequence:
the flat-encoder baseline on the very same documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seqforge.api import PAD_ID, ConfigError, DataError, read_text
from seqforge_labelled.data_configs import AuthorsDataConfig, DocumentDataConfig
from seqforge_labelled.labelled_data import LabelledBatch, LabelledData, collate

#: Sentences are joined with this inside the data module (the word codec splits on any whitespace).
SENTENCE_BREAK = "\n"
FORMATS = ("lines", "blocks")


def read_documents(path: str, *, key: str, format: str, separator: str) -> list[tuple[str, str]]:
    """``(label, sentences joined by newlines)`` per document; errors name the file and line."""
    if format not in FORMATS:
        raise ConfigError(f"data.format must be one of {', '.join(FORMATS)}, got '{format}'.")
    if not separator.strip():
        raise ConfigError(f"data.sentence_separator must contain a non-space character, got {separator!r}.")
    text = read_text(path, what="documents file", key=key)
    documents: list[tuple[str, str]] = []
    if format == "lines":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            label, tab, body = line.partition("\t")
            sentences = [s.strip() for s in body.split(separator.strip())] if tab else []
            sentences = [s for s in sentences if s]
            if not label.strip() or not sentences:
                raise DataError(
                    f"{path}, line {number} (config key `{key}`, data.format=lines): expected "
                    f"'label<TAB>sentence{separator}sentence...', found {line[:60]!r}."
                )
            documents.append((label.strip(), SENTENCE_BREAK.join(sentences)))
        return documents
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        if line.strip():
            block.append((number, line.strip()))
            continue
        if not block:
            continue
        if len(block) < 2:
            raise DataError(
                f"{path}, line {block[0][0]} (config key `{key}`, data.format=blocks): a document needs its label on "
                f"the first line and at least one sentence line after it; found only {block[0][1][:60]!r} before a "
                "blank line."
            )
        documents.append((block[0][1], SENTENCE_BREAK.join(s for _, s in block[1:])))
        block = []
    return documents


def pad_documents(documents: Sequence[Tensor]) -> Tensor:
    """``(S_i, W_i)`` word ids per document -> ``(B, S, W)`` padded with ``<pad>``."""
    S = max(d.shape[0] for d in documents)
    W = max(d.shape[1] for d in documents)
    out = torch.full((len(documents), S, W), PAD_ID, dtype=torch.long)  # (B, S, W)
    for row, doc in enumerate(documents):
        out[row, : doc.shape[0], : doc.shape[1]] = doc
    return out


def collate_documents(examples: list[tuple[int, Tensor, int]]) -> LabelledBatch:
    """``(index, (S_i, W_i) ids, label)`` -> a batch of ``(B, S, W)`` inputs with ``lengths`` = sentence counts."""
    index, inputs, labels = zip(*examples)
    if inputs[0].dim() == 1:  # data.flat: one token sequence per document
        return collate(examples)
    return LabelledBatch(
        inputs=pad_documents(inputs), lengths=torch.tensor([d.shape[0] for d in inputs]), labels=torch.tensor(labels),
        index=torch.tensor(index),
    )


class DocumentData(LabelledData):
    """Labelled documents, encoded as ``(S, W)`` word ids (or one ``(T,)`` sequence with ``data.flat``)."""

    config_class = DocumentDataConfig
    collate = staticmethod(collate_documents)
    documents = True  # what task=doc_classify checks

    def _read(self, path: str, key: str) -> list[tuple[str, Any]]:
        return read_documents(path, key=key, format=self.cfg.format, separator=self.cfg.sentence_separator)

    def _encode_input(self, x: Any) -> Tensor:
        if isinstance(x, Tensor):
            raise DataError("data=documents reads text files of documents; tensor inputs are not supported.")
        sentences = [s for s in x.split(SENTENCE_BREAK) if s.strip()] or [x]
        if self.cfg.flat:  # (T,), cut at the hierarchical model's capacity: max_sentences x max_len words
            ids = [i for s in sentences[: self.cfg.max_sentences] for i in self.codec.encode(s)[: self.cfg.max_len]]
            return torch.tensor(ids or [self.codec.vocab.unk_id], dtype=torch.long)
        if len(sentences) > self.cfg.max_sentences:
            self.truncated += 1
            sentences = sentences[: self.cfg.max_sentences]
        rows = [self.codec.encode(s)[: self.cfg.max_len] or [self.codec.vocab.unk_id] for s in sentences]
        doc = torch.full((len(rows), max(len(r) for r in rows)), PAD_ID, dtype=torch.long)  # (S, W)
        for i, r in enumerate(rows):
            doc[i, : len(r)] = torch.tensor(r)
        return doc

    def encode_inputs(self, inputs: Sequence[Any]) -> list[Tensor]:
        """New documents (inference): each a string, sentences separated by ``data.sentence_separator`` or newlines."""
        separator = self.cfg.sentence_separator.strip()
        return [
            self._encode_input(
                SENTENCE_BREAK.join(s.strip() for s in str(x).replace(separator, SENTENCE_BREAK).split(SENTENCE_BREAK))
            )
            for x in inputs
        ]

    def describe(self) -> str:
        return super().describe() + (" | flat" if self.cfg.flat else " | sentences of words")


#: The han_demo documents (scripts/make_authors_data.py; origin and licence in DATA.md there).
AUTHORS_DIR = Path(__file__).parent / "data" / "authors"


class AuthorsData(DocumentData):
    """``data=authors``: 570 passages of 3-6 sentences by Austen, Carroll or Chesterton (public domain), shipped with
    the plugin."""

    config_class = AuthorsDataConfig

    def load_examples(self) -> dict[str, list[tuple[str, Any]]]:
        return {split: self._read(str(AUTHORS_DIR / f"{split}.txt"), "data") for split in ("train", "valid", "test")}
