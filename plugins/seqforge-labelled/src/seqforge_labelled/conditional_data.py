"""One-to-many data: a condition (a label or a feature vector) and the token sequence it should produce.

Text files hold ``label<TAB>text`` / ``label text`` lines (text conditioned on a
category); tensor files hold integer ``targets`` with ``labels`` or float
``features``. Integer targets become tokens ``"0"``, ``"1"``, ... so both formats
share one vocabulary and one decoder. The demo (``data=digit_rows``) asks for a
handwritten digit's 64 pixel intensities (8 rows of 8, 0-16) given its label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from seqforge.api import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    ConfigError,
    DataError,
    SplitLoaders,
    Vocabulary,
    VocabularyCodec,
    codec_from_state,
)
from seqforge_labelled.data_configs import ConditionalDataConfig, DigitRowsDataConfig
from seqforge_labelled.labelled_data import (
    SPLITS,
    TENSOR_SUFFIXES,
    _natural_key,
    _to_numpy,
    read_label_lines,
    read_tensor_file,
    split_files,
    stratified_split,
    unseen_report,
)

#: ``(condition, target tokens)``: the condition is a label string or a ``(F,)`` float tensor.
Example = tuple[Any, list[str]]


@dataclass
class ConditionalBatch:
    """``condition``: ``(B,)`` label ids or ``(B, F)`` features; ``tgt_in`` = ``<bos> y``, ``tgt_out`` = ``y <eos>``:
    ``(B, T)``."""

    condition: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    index: Tensor

    @property
    def batch_size(self) -> int:
        return self.condition.shape[0]

    def to(self, device: torch.device) -> ConditionalBatch:
        return ConditionalBatch(self.condition.to(device), self.tgt_in.to(device), self.tgt_out.to(device), self.index)


def collate(examples: list[tuple[int, Tensor, list[int]]]) -> ConditionalBatch:
    index, conditions, targets = zip(*examples)
    pad = torch.nn.utils.rnn.pad_sequence
    return ConditionalBatch(
        condition=torch.stack(list(conditions)),
        tgt_in=pad([torch.tensor([BOS_ID, *t]) for t in targets], batch_first=True, padding_value=PAD_ID),
        tgt_out=pad([torch.tensor([*t, EOS_ID]) for t in targets], batch_first=True, padding_value=PAD_ID),
        index=torch.tensor(index),
    )


def read_tensor_targets(path: str, *, key: str) -> list[Example]:
    """Examples from a tensor file: ``targets`` ``(N, T)`` ints (negative = padding) and ``labels`` or ``features``."""
    arrays = read_tensor_file(path, key=key, required=("targets",))
    targets = _to_numpy(arrays["targets"])
    if targets.ndim != 2 or targets.dtype.kind not in "iu":
        raise DataError(f"The tensor file '{path}' (config key `{key}`): `targets` must be an (N, T) integer array, "
                        f"got {targets.dtype} {targets.shape}.")
    if ("labels" in arrays) == ("features" in arrays):
        raise DataError(f"The tensor file '{path}' (config key `{key}`) must hold exactly one condition: `labels` (N,) "
                        "or `features` (N, F).")
    if "labels" in arrays:
        conditions: list[Any] = [str(v) for v in _to_numpy(arrays["labels"]).tolist()]
    else:
        features = torch.as_tensor(_to_numpy(arrays["features"]), dtype=torch.float32)
        if features.dim() != 2 or not torch.isfinite(features).all():
            raise DataError(f"The tensor file '{path}' (config key `{key}`): `features` must be a finite (N, F) float "
                            f"array, got shape {tuple(features.shape)}.")
        conditions = list(features)
    if len(conditions) != len(targets):
        raise DataError(f"The tensor file '{path}' (config key `{key}`) has {len(targets)} target rows but "
                        f"{len(conditions)} conditions.")
    return [(c, [str(v) for v in row if v >= 0]) for c, row in zip(conditions, targets.tolist())]


class ConditionalData(SplitLoaders, L.LightningDataModule):
    """Reads examples, learns the condition labels and the target vocabulary on the training split, serves batches.

    Args:
        state: what a checkpoint saved (:meth:`state`).
        **options: the fields of :class:`ConditionalDataConfig` (or a subclass).
    """

    config_class: type = ConditionalDataConfig
    collate = staticmethod(collate)  # batches for the SplitLoaders hooks
    #: Targets drawn as a grid of intensities when printed (rows, columns), or None for text.
    grid: tuple[int, int] | None = None

    def __init__(self, *, state: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = self.config_class(**options)
        self.labels: list[str] = list(state["labels"]) if state and state.get("labels") else []
        self.feature_size: int | None = state.get("feature_size") if state else None
        self.codec: VocabularyCodec | None = codec_from_state(state["codec"]) if state else None  # type: ignore[assignment]
        self.examples: dict[str, list[Example]] = {}
        self.encoded: dict[str, list[tuple[int, Tensor, list[int]]]] = {}
        self.unseen: dict[str, dict[str, int]] = {}
        self.truncated = 0

    @property
    def conditioned_on_labels(self) -> bool:
        return self.feature_size is None

    # -- reading ------------------------------------------------------------------------------
    def _read(self, path: str, key: str) -> list[Example]:
        if Path(path).suffix in TENSOR_SUFFIXES:
            return read_tensor_targets(path, key=key)
        if self.cfg.tokenizer not in ("char", "word"):
            raise ConfigError("data.tokenizer must be 'char' or 'word' for conditional text, got "
                              f"'{self.cfg.tokenizer}'.")
        split = (lambda text: list(text)) if self.cfg.tokenizer == "char" else str.split
        lower = self.cfg.lowercase
        return [(label, split(text.lower() if lower else text)) for label, text in read_label_lines(path, key=key)]

    def load_examples(self) -> dict[str, list[Example]]:
        return split_files(self.cfg, self._read)

    def prepare(self) -> ConditionalData:
        if self.encoded:
            return self
        cfg = self.cfg
        self.examples = self.load_examples()
        train = self.examples["train"]
        by_label = {isinstance(c, str) for split in SPLITS for c, _ in self.examples[split]}
        if len(by_label) > 1:
            raise DataError("The splits mix label conditions and feature-vector conditions; use one kind in all files.")
        if self.codec is None:
            vocab = Vocabulary.build(
                (t for _, tokens in train for t in tokens), min_freq=cfg.min_freq, max_size=cfg.max_vocab
            )
            # tensor targets: word-like tokens
            numbers = all(t.lstrip("-").isdigit() for _, tokens in train[:50] for t in tokens)
            self.codec = VocabularyCodec("char" if cfg.tokenizer == "char" and not numbers else "word", vocab)
            if by_label == {True}:
                self.labels = sorted({c for c, _ in train}, key=_natural_key)
            else:
                self.feature_size = int(train[0][0].shape[0])
        if self.conditioned_on_labels:
            self.unseen = unseen_report(
                {split: [c for c, _ in self.examples[split]] for split in ("valid", "test")},
                set(self.labels),
                policy=cfg.unseen_labels,
                what="example",
                consequence="Nothing can be generated for them; they are left out of evaluation.",
            )
        elif any(c.shape[0] != self.feature_size for split in SPLITS for c, _ in self.examples[split]):
            raise DataError(f"Every condition vector must have {self.feature_size} features (the training data's); "
                            "some have other sizes.")
        for split in SPLITS:
            self.encoded[split] = [
                (index, self.encode_condition(c), self._encode_target(tokens))
                for index, (c, tokens) in enumerate(self.examples[split])
                if not self.conditioned_on_labels or c in self.labels
            ]
        if self.truncated:
            print(f"seqforge: truncated {self.truncated} target(s) longer than data.max_len={cfg.max_len}")
        return self

    def encode_condition(self, condition: Any) -> Tensor:
        """A label's id ``()`` or a feature vector ``(F,)``; an unknown label is refused, naming the known ones."""
        if self.conditioned_on_labels:
            if str(condition) not in self.labels:
                shown = ", ".join(self.labels[:20]) + (" ..." if len(self.labels) > 20 else "")
                raise DataError(f"The condition label '{condition}' was never seen in training; known labels: {shown}.")
            return torch.tensor(self.labels.index(str(condition)))
        vector = torch.as_tensor(condition, dtype=torch.float32).flatten()
        if vector.numel() != self.feature_size:
            raise DataError(f"A condition vector needs {self.feature_size} numbers, got {vector.numel()}.")
        return vector

    def _encode_target(self, tokens: Sequence[str]) -> list[int]:
        ids = self.codec.vocab.encode(tokens)
        if len(ids) > self.cfg.max_len:
            self.truncated += 1
            ids = ids[: self.cfg.max_len]
        return ids

    def describe(self) -> str:
        sizes = "/".join(str(len(self.examples[s])) for s in SPLITS)
        condition = (
            f"{len(self.labels)} condition labels"
            if self.conditioned_on_labels
            else f"{self.feature_size}-dim condition vectors"
        )
        return f"examples train/valid/test {sizes} | {condition} | target vocabulary {len(self.codec)}"

    def state(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "feature_size": self.feature_size, "codec": self.codec.state()}


class DigitRowsData(ConditionalData):
    """scikit-learn's 8x8 digits as 64 intensity tokens (row by row), conditioned on the digit."""

    config_class = DigitRowsDataConfig
    grid = (8, 8)

    def load_examples(self) -> dict[str, list[Example]]:
        from sklearn.datasets import load_digits

        cfg: Any = self.cfg
        digits = load_digits()
        parts = stratified_split(
            digits.target.tolist(), valid_fraction=cfg.valid_fraction, test_fraction=cfg.test_fraction, seed=cfg.seed
        )
        pixels = digits.data.astype(int)  # (N, 64), 0..16
        return {
            split: [(str(int(digits.target[i])), [str(v) for v in pixels[i]]) for i in rows]
            for split, rows in parts.items()
        }
