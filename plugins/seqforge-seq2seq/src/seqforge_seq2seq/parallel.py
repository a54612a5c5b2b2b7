"""Parallel text for sequence-to-sequence tasks: reading, checking, encoding, batching."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch import Tensor

from seqforge.api import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    Codec,
    ConfigError,
    DataError,
    SplitLoaders,
    read_text,
    split_by_fractions,
)
from seqforge_seq2seq.codecs import codec_from_state, fit_codec
from seqforge_seq2seq.configs import ParallelDataConfig

log = logging.getLogger(__name__)
SPLITS = ("train", "valid", "test")
Pairs = list[tuple[str, str]]


@dataclass
class Seq2SeqBatch:
    """Padded ids. ``tgt_in`` is ``<bos> y``, ``tgt_out`` is ``y <eos>``; ``index`` points into the split's pairs."""

    src: Tensor  # (B, S)
    src_lengths: Tensor  # (B,)
    tgt_in: Tensor  # (B, T)
    tgt_out: Tensor  # (B, T)
    index: Tensor  # (B,)

    @property
    def batch_size(self) -> int:
        return self.src.shape[0]

    def to(self, device: torch.device) -> Seq2SeqBatch:
        return Seq2SeqBatch(
            *(t.to(device) for t in (self.src, self.src_lengths, self.tgt_in, self.tgt_out)), self.index
        )


def _pad(rows: Sequence[Sequence[int]]) -> Tensor:
    out = torch.full((len(rows), max(len(r) for r in rows)), PAD_ID, dtype=torch.long)  # (B, L)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def collate(examples: list[tuple[int, list[int], list[int]]]) -> Seq2SeqBatch:
    index, src, tgt = zip(*examples)
    return Seq2SeqBatch(
        src=_pad(src),
        src_lengths=torch.tensor([len(s) for s in src]),
        tgt_in=_pad([[BOS_ID, *t] for t in tgt]),
        tgt_out=_pad([[*t, EOS_ID] for t in tgt]),
        index=torch.tensor(index),
    )


def read_pairs(
    source: str | None, target: str | None, tsv: str | None, *, prefix: str = ""
) -> tuple[Pairs, int] | None:
    """Pairs from two line-aligned files or one TSV; empty pairs are skipped and counted. None if nothing is given."""
    key = lambda name: f"data.{prefix}{name}"  # noqa: E731
    if tsv:
        pairs, skipped = [], 0
        for number, line in enumerate(read_text(tsv, what="TSV file", key=key("tsv")).splitlines(), start=1):
            if not line.strip():
                skipped += 1
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise DataError(
                    f"{tsv}, line {number} (config key `{key('tsv')}`): expected 'source<TAB>target' (2 tab-separated "
                    f"fields), found {len(fields)} field(s)."
                )
            if not fields[0].strip() or not fields[1].strip():
                skipped += 1
                continue
            pairs.append((fields[0].strip(), fields[1].strip()))
        return pairs, skipped
    if source is None and target is None:
        return None
    if not (source and target):
        raise ConfigError(f"Give both `{key('source')}` and `{key('target')}` (line-aligned files), or `{key('tsv')}`.")
    src_lines = read_text(source, what="source file", key=key("source")).splitlines()
    tgt_lines = read_text(target, what="target file", key=key("target")).splitlines()
    if len(src_lines) != len(tgt_lines):
        raise DataError(
            f"The source file '{source}' has {len(src_lines)} lines but the target file '{target}' has "
            f"{len(tgt_lines)} (config keys `{key('source')}`, `{key('target')}`); they must be line-aligned, one "
            "sentence pair per line."
        )
    pairs = [(s.strip(), t.strip()) for s, t in zip(src_lines, tgt_lines)]
    kept = [(s, t) for s, t in pairs if s and t]
    return kept, len(pairs) - len(kept)


class ParallelData(SplitLoaders, L.LightningDataModule):
    """Reads pairs, learns codecs on the training split, encodes, and serves padded batches.

    Args:
        codecs: ``{"source": state, "target": state}`` from a checkpoint; learned from the training split if None.
        **options: the fields of :class:`ParallelDataConfig` (or a subclass).
    """

    config_class: type = ParallelDataConfig
    collate = staticmethod(collate)  # batches for the SplitLoaders hooks

    def __init__(self, *, codecs: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = self.config_class(**options)
        if self.cfg.too_long not in ("truncate", "error"):
            raise ConfigError(f"data.too_long must be 'truncate' or 'error', got '{self.cfg.too_long}'.")
        self.source_codec: Codec | None = codec_from_state(codecs["source"]) if codecs else None
        self.target_codec: Codec | None = codec_from_state(codecs["target"]) if codecs else None
        self.pairs: dict[str, Pairs] = {}
        self.encoded: dict[str, list[tuple[int, list[int], list[int]]]] = {}
        self.report: dict[str, int] = {}

    # -- reading ------------------------------------------------------------------
    def load_pairs(self) -> dict[str, Pairs]:
        """Train/valid/test pairs from the configured files (subclasses generate them instead)."""
        cfg = self.cfg
        train = read_pairs(cfg.source, cfg.target, cfg.tsv)
        if train is None:
            raise ConfigError("data=parallel needs `data.source` and `data.target` (line-aligned files) or `data.tsv`.")
        pairs, skipped = train
        valid = read_pairs(cfg.valid_source, cfg.valid_target, cfg.valid_tsv, prefix="valid_")
        test = read_pairs(cfg.test_source, cfg.test_target, cfg.test_tsv, prefix="test_")
        self.report["empty_skipped"] = skipped + (valid[1] if valid else 0) + (test[1] if test else 0)
        if valid is None or test is None:
            parts = split_by_fractions(pairs, cfg.split, what=f"{len(pairs)} sentence pairs")
            return {
                "train": parts["train"],
                "valid": valid[0] if valid else parts["valid"],
                "test": test[0] if test else parts["test"],
            }
        return {"train": pairs, "valid": valid[0], "test": test[0]}

    def prepare(self) -> ParallelData:
        """Read, learn codecs, encode (idempotent). Needed before the model is built (vocabulary sizes)."""
        if self.encoded:
            return self
        self.pairs = self.load_pairs()
        for split in SPLITS:
            if not self.pairs[split]:
                raise DataError(f"The {split} split has no sentence pairs.")
        if self.source_codec is None:
            self._fit_codecs()
        for split in SPLITS:
            self.encoded[split] = self._encode(split)
        skipped = self.report.get("empty_skipped", 0)
        if skipped:
            log.warning("skipped %d empty sentence pair(s)", skipped)
            print(f"seqforge: skipped {skipped} empty sentence pair(s)")
        return self

    def _fit_codecs(self) -> None:
        cfg, train = self.cfg, self.pairs["train"]
        fit = lambda texts: fit_codec(  # noqa: E731
            cfg.tokenizer, texts, lowercase=cfg.lowercase, min_freq=cfg.min_freq, max_vocab=cfg.max_vocab,
            subword_vocab_size=cfg.subword_vocab_size,
        )
        if cfg.shared_vocab:
            self.source_codec = self.target_codec = fit([s for s, _ in train] + [t for _, t in train])
        else:
            self.source_codec, self.target_codec = fit([s for s, _ in train]), fit([t for _, t in train])

    def _encode(self, split: str) -> list[tuple[int, list[int], list[int]]]:
        cfg, out, truncated, unknown = self.cfg, [], 0, 0
        for index, (source, target) in enumerate(self.pairs[split]):
            src, tgt = self.source_codec.encode(source), self.target_codec.encode(target)
            unknown += src.count(UNK_ID)
            if len(src) > cfg.max_source_len or len(tgt) > cfg.max_target_len:
                if cfg.too_long == "error":
                    raise DataError(
                        f"{split} pair {index + 1} has {len(src)} source / {len(tgt)} target tokens, more than "
                        f"data.max_source_len={cfg.max_source_len} / data.max_target_len={cfg.max_target_len}. Raise "
                        "the limits or set data.too_long=truncate."
                    )
                truncated += 1
                src, tgt = src[: cfg.max_source_len], tgt[: cfg.max_target_len]
            out.append((index, src or [UNK_ID], tgt))
        if truncated:
            print(f"seqforge: truncated {truncated} {split} pair(s) longer than data.max_source_len/max_target_len")
        self.report[f"{split}_truncated"] = truncated
        self.report[f"{split}_source_unknown_tokens"] = unknown
        return out

    def describe(self) -> str:
        sizes = "/".join(str(len(self.pairs[s])) for s in SPLITS)
        return (f"pairs train/valid/test {sizes} | vocabulary source {len(self.source_codec)} "
                f"target {len(self.target_codec)}")

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: both codecs."""
        return self.codec_states()

    def codec_states(self) -> dict[str, Any]:
        return {"source": self.source_codec.state(), "target": self.target_codec.state()}

    def encode_source(self, lines: Sequence[str]) -> tuple[list[list[int]], int]:
        """Ids for new source sentences (inference); unknown tokens map to ``<unk>`` and are counted."""
        ids = [self.source_codec.encode(line)[: self.cfg.max_source_len] or [UNK_ID] for line in lines]
        return ids, sum(row.count(UNK_ID) for row in ids)
