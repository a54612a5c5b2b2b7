"""Language-modelling data: plain text -> contiguous ``(B, L)`` batches.

The corpus is cut into ``world_size * B`` equal streams; rank ``r`` owns streams
``r*B .. r*B+B-1``, and batch ``n`` holds the next ``seq_len`` tokens of each
stream. So row ``i`` of batch ``n+1`` continues row ``i`` of batch ``n`` (the
hidden state can be carried over), every rank sees the same number of batches
(DDP never waits on a missing one), and the order is deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from seqforge.data.configs import TextDataConfig
from seqforge.data.corpus import pydoc_corpus
from seqforge.data.splits import split_by_fractions
from seqforge.data.streams import StreamBatches, StreamLoaders
from seqforge.data.text_io import read_text
from seqforge.data.tokenize import tokenize
from seqforge.data.vocab import Vocabulary
from seqforge.errors import ConfigError, DataError

SPLITS = ("train", "valid", "test")


def make_streams(ids: Tensor, batch_size: int, rank: int = 0, world_size: int = 1) -> Tensor:
    """``(N,)`` ids -> this rank's ``(B, N // (world*B))`` contiguous streams."""
    total = batch_size * world_size
    length = ids.numel() // total
    if length < 2:
        raise DataError(
            f"Too little text for data.batch_size={batch_size} on {world_size} device(s): {ids.numel()} tokens give "
            f"streams of {length} token(s). Use a smaller batch size or more text."
        )
    streams = ids[: length * total].view(total, length)  # (world*B, N)
    return streams[rank * batch_size : (rank + 1) * batch_size]  # (B, N)


def _find_split_file(folder: Path, split: str) -> Path:
    names = {"valid": ("valid", "val", "dev"), "train": ("train",), "test": ("test",)}[split]
    files = [*folder.glob("*.txt"), *folder.glob("*.txt.gz")]  # gzipped too (PTB's train file is often shipped so)
    stems = {p: p.name.removesuffix(".gz").removesuffix(".txt") for p in files}
    matches = sorted(p for p in files if any(stems[p].split(".")[-1] == n or stems[p].endswith(n) for n in names))
    if not matches:
        raise DataError(
            f"data.path '{folder}' is a folder but has no {split} file: expected a .txt (or .txt.gz) file whose name "
            f"ends in {' or '.join(repr(n) for n in names)} (e.g. ptb.{names[0]}.txt)."
        )
    return matches[0]


def load_split_texts(cfg: Any) -> dict[str, str]:
    """The train/valid/test texts named by ``data.path`` (or the embedded corpus)."""
    if cfg.path is None:
        return _split_text(pydoc_corpus(), list(cfg.split), "the embedded pydoc corpus")
    path = Path(cfg.path).expanduser()
    if path.is_dir():
        return {split: read_text(_find_split_file(path, split), what=f"{split} file") for split in SPLITS}
    return _split_text(read_text(path), list(cfg.split), str(path))


def _split_text(text: str, fractions: list[float], source: str) -> dict[str, str]:
    lines = text.splitlines(keepends=True)
    if len(lines) < 3:
        lines = list(text)  # one long line: split by characters
    parts = split_by_fractions(lines, fractions, what=source, is_empty=lambda part: not "".join(part).strip())
    return {split: "".join(part) for split, part in parts.items()}


class LanguageModelData(StreamLoaders, L.LightningDataModule):
    """Tokenizes, builds the vocabulary on the training split, and serves contiguous batches."""

    cfg: TextDataConfig
    sequence_length_key = "data.seq_len"  # named when train.tbptt_steps exceeds it
    next_token = True  # the targets are the next tokens of the same stream

    def __init__(self, *, vocab: Vocabulary | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = cfg = TextDataConfig(**options)
        self._vocab = vocab  # None until prepare() builds it on the training split
        self.ids: dict[str, Tensor] = {}
        if cfg.seq_len < 1 or cfg.batch_size < 1 or cfg.eval_batch_size < 1:
            raise ConfigError(
                f"data.seq_len, data.batch_size and data.eval_batch_size must be >= 1, got "
                f"{cfg.seq_len}, {cfg.batch_size}, {cfg.eval_batch_size}."
            )
        self._loaders: dict[str, StreamBatches] = {}

    @property
    def vocab(self) -> Vocabulary:
        """The vocabulary: the one given (restored from a checkpoint) or the one :meth:`prepare` built."""
        if self._vocab is None:
            raise RuntimeError("LanguageModelData has no vocabulary before prepare() (which builds it) has run.")
        return self._vocab

    @property
    def sequence_length(self) -> int:
        """Time steps of a training batch (what ``train.tbptt_steps`` cuts into chunks)."""
        return self.cfg.seq_len

    def prepare(self) -> LanguageModelData:
        """Read and encode every split (idempotent); called before the model is built (it needs the vocabulary size)."""
        if self.ids:
            return self
        texts = load_split_texts(self.cfg)
        tokens = {
            split: tokenize(text, self.cfg.tokenizer, lowercase=self.cfg.lowercase) for split, text in texts.items()
        }
        if self._vocab is None:
            self._vocab = Vocabulary.build(tokens["train"], min_freq=self.cfg.min_freq, max_size=self.cfg.max_vocab)
        self.ids = {split: torch.tensor(self.vocab.encode(toks), dtype=torch.long) for split, toks in tokens.items()}
        self.unknown_counts = {split: int((ids == self.vocab.unk_id).sum()) for split, ids in self.ids.items()}
        return self

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    def data_files(self) -> dict[str, Path]:
        """The files read, by config key (fingerprinted for resume): a folder's three split files, not whatever lies
        beside them."""
        if self.cfg.path is None:
            return {}
        path = Path(self.cfg.path).expanduser()
        if not path.is_dir():
            return {"data.path": path}
        files = [_find_split_file(path, split) for split in SPLITS]
        return {f"data.path/{file.name}": file for file in files}

    def state(self) -> list[str]:
        """What a checkpoint keeps: the vocabulary."""
        return list(self.vocab.itos)

    def describe(self) -> str:
        unk = self.unknown_counts
        return (
            f"vocabulary {len(self.vocab)} | train tokens {self.ids['train'].numel()} | "
            f"<unk> in valid/test: {unk.get('valid', 0)}/{unk.get('test', 0)}"
        )

    def split_streams(self, split: str, batch_size: int, rank: int, world_size: int) -> Tensor:
        return make_streams(self.ids[split], batch_size, rank, world_size)
