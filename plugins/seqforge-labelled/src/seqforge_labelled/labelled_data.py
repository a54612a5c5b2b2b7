"""Labelled sequences for classification (many-to-one): reading, checking, encoding, batching.

Two input formats: text lines (``label<TAB>text`` or ``label text``) and tensor
files (``.pt``/``.npz`` with float sequences). The label set is learned on the
training split; labels that appear only in the validation or test split cannot
be predicted, so they are reported by name and left out of the metrics (or
refused with ``data.unseen_labels=error``), never silently mapped to a class.
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
    PAD_ID,
    ConfigError,
    DataError,
    SplitLoaders,
    VocabularyCodec,
    codec_from_state,
    extend_vocabulary,
    read_text,
    split_by_fractions,
)
from seqforge_labelled.data_configs import DigitsDataConfig, LabelledDataConfig

SPLITS = ("train", "valid", "test")
TENSOR_SUFFIXES = (".pt", ".pth", ".npz")
#: A label id for examples whose label the model never saw in training: left out of loss and metrics.
IGNORE = -100


@dataclass
class LabelledBatch:
    """A padded batch.

    ``inputs``: ``(B, T)`` token ids or ``(B, T, F)`` float features; ``lengths``: ``(B,)``;
    ``labels``: ``(B,)`` class ids (``IGNORE`` for labels unseen in training);
    ``index``: ``(B,)`` positions in the split.
    """

    inputs: Tensor
    lengths: Tensor
    labels: Tensor
    index: Tensor

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    def to(self, device: torch.device) -> LabelledBatch:
        return LabelledBatch(self.inputs.to(device), self.lengths.to(device), self.labels.to(device), self.index)


# -- reading ------------------------------------------------------------------------------------


def read_label_lines(path: str, *, key: str) -> list[tuple[str, str]]:
    """``(label, text)`` pairs from ``label<TAB>text`` or ``label text`` lines; blank lines are skipped.

    The format is decided by the first non-blank line (a tab or not); every line
    must then follow it, otherwise the error names the file and line.
    """
    examples: list[tuple[str, str]] = []
    tabbed: bool | None = None
    for number, line in enumerate(read_text(path, what="labelled file", key=key).splitlines(), start=1):
        if not line.strip():
            continue
        if tabbed is None:
            tabbed = "\t" in line
        label, sep, text = line.partition("\t") if tabbed else line.strip().partition(" ")
        if not sep or not label.strip() or not text.strip():
            expected = (
                "'label<TAB>text' (the file's first line has a tab)"
                if tabbed
                else "'label text' (a label, a space, then the text)"
            )
            raise DataError(f"{path}, line {number} (config key `{key}`): expected {expected}, found {line[:60]!r}.")
        examples.append((label.strip(), text.strip()))
    return examples


def _to_numpy(value: Any) -> Any:
    import numpy as np

    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def read_tensor_file(path: str, *, key: str, required: Sequence[str]) -> dict[str, Any]:
    """The arrays of a ``.pt`` (a dict of tensors, loaded with ``weights_only=True``) or ``.npz`` file."""
    import numpy as np

    file = Path(path)
    if not file.is_file():
        raise DataError(f"The tensor file '{path}' (config key `{key}`) cannot be read: no such file.")
    try:
        if file.suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                arrays: dict[str, Any] = {name: archive[name] for name in archive.files}
        else:
            arrays = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same explanation
        raise DataError(f"The tensor file '{path}' (config key `{key}`) could not be loaded: {type(exc).__name__}: "
                        f"{exc}.") from None
    if not isinstance(arrays, dict) or any(name not in arrays for name in required):
        found = sorted(arrays) if isinstance(arrays, dict) else type(arrays).__name__
        raise DataError(f"The tensor file '{path}' (config key `{key}`) must hold a dict with keys {list(required)}; "
                        f"found {found}.")
    return arrays


def read_feature_sequences(path: str, *, key: str) -> list[tuple[str, Tensor]]:
    """``(label, (T_i, F) float tensor)`` pairs from a tensor file with ``x``, ``y`` and optional ``lengths``."""
    arrays = read_tensor_file(path, key=key, required=("x", "y"))
    x, y = arrays["x"], _to_numpy(arrays["y"])
    sequences = [
        torch.as_tensor(_to_numpy(s), dtype=torch.float32)
        for s in (x if isinstance(x, (list, tuple)) else list(_to_numpy(x)))
    ]
    if len(sequences) != len(y):
        raise DataError(f"The tensor file '{path}' (config key `{key}`) has {len(sequences)} sequences in `x` but "
                        f"{len(y)} labels in `y`.")
    if "lengths" in arrays:
        lengths = _to_numpy(arrays["lengths"]).tolist()
        sequences = [s[: int(n)] for s, n in zip(sequences, lengths)]
    for number, seq in enumerate(sequences):
        if seq.dim() != 2 or seq.shape[0] == 0 or seq.shape[1] != sequences[0].shape[1]:
            raise DataError(
                f"The tensor file '{path}' (config key `{key}`): sequence {number} has shape {tuple(seq.shape)}; every "
                f"sequence must be (T >= 1, F) with the same F ({tuple(sequences[0].shape)[1:]} for the first)."
            )
        if not torch.isfinite(seq).all():
            raise DataError(f"The tensor file '{path}' (config key `{key}`): sequence {number} contains NaN or "
                            "infinite values.")
    return [(str(label), seq) for label, seq in zip(y.tolist(), sequences)]


def split_files(cfg: Any, read: Any) -> dict[str, list[Any]]:
    """``data.path`` split by ``data.split``, or ``data.train``/``valid``/``test``; ``read(path, key)`` reads a file."""
    if cfg.path is not None:
        examples = read(cfg.path, "data.path")
        return split_by_fractions(examples, cfg.split, what=f"the {len(examples)} examples of '{cfg.path}'")
    missing = [f"data.{s}" for s in SPLITS if getattr(cfg, s) is None]
    if missing:
        raise ConfigError("Give `data.path` (one file, split by data.split) or all of data.train, data.valid, "
                          f"data.test (missing: {', '.join(missing)}).")
    return {split: read(getattr(cfg, split), f"data.{split}") for split in SPLITS}


def unseen_report(
    labels: dict[str, list[str]], known: set[str], *, policy: str, what: str, consequence: str
) -> dict[str, dict[str, int]]:
    """Count evaluation labels absent from training; print them (``report``) or raise (``error``)."""
    if policy not in ("report", "error"):
        raise ConfigError(f"data.unseen_labels must be 'report' or 'error', got '{policy}'.")
    found: dict[str, dict[str, int]] = {}
    for split in ("valid", "test"):
        counts: dict[str, int] = {}
        for label in labels.get(split, ()):
            if label not in known:
                counts[label] = counts.get(label, 0) + 1
        if counts:
            found[split] = counts
    for split, counts in found.items():
        listing = ", ".join(f"'{label}' ({n})" for label, n in sorted(counts.items(), key=lambda kv: -kv[1])[:10])
        message = (
            f"The {split} split has {sum(counts.values())} {what}(s) with {len(counts)} label(s) never seen in "
            f"training: {listing}{' ...' if len(counts) > 10 else ''}."
        )
        if policy == "error":
            raise DataError(f"{message} The model cannot predict them. Add them to the training data or set "
                            "data.unseen_labels=report.")
        print(f"seqforge: {message} {consequence}")
    return found


def pad_inputs(rows: Sequence[Tensor]) -> Tensor:
    """``(T_i,)`` ids -> ``(B, T)`` padded with ``<pad>``; ``(T_i, F)`` features -> ``(B, T, F)`` padded with zeros."""
    return torch.nn.utils.rnn.pad_sequence(
        list(rows), batch_first=True, padding_value=PAD_ID if rows[0].dim() == 1 else 0.0
    )


def collate(examples: list[tuple[int, Tensor, int]]) -> LabelledBatch:
    index, inputs, labels = zip(*examples)
    return LabelledBatch(
        inputs=pad_inputs(inputs),
        lengths=torch.tensor([len(x) for x in inputs]),
        labels=torch.tensor(labels),
        index=torch.tensor(index),
    )


# -- the data module ------------------------------------------------------------------------------


class LabelledData(SplitLoaders, L.LightningDataModule):
    """Reads examples, learns the label set (and token vocabulary) on the training split, serves padded batches.

    Args:
        state: what a checkpoint saved (:meth:`state`): labels, codec, feature size.
        **options: the fields of :class:`LabelledDataConfig` (or a subclass).
    """

    config_class: type = LabelledDataConfig
    collate = staticmethod(collate)  # batches for the SplitLoaders hooks

    def __init__(self, *, state: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = self.config_class(**options)
        self.labels: list[str] = list(state["labels"]) if state else []
        self.codec = codec_from_state(state["codec"]) if state and state.get("codec") else None
        self.feature_size: int | None = state.get("feature_size") if state else None
        self.examples: dict[str, list[tuple[str, Any]]] = {}
        self.encoded: dict[str, list[tuple[int, Tensor, int]]] = {}
        self.unseen: dict[str, dict[str, int]] = {}
        self.truncated = 0
        self.embedding_cfg: Any = None  # set by the task: model.embedding (extend_vocab adds the vectors' words)

    # -- reading --------------------------------------------------------------------------
    def _read(self, path: str, key: str) -> list[tuple[str, Any]]:
        if Path(path).suffix in TENSOR_SUFFIXES:
            return read_feature_sequences(path, key=key)
        return read_label_lines(path, key=key)

    def load_examples(self) -> dict[str, list[tuple[str, Any]]]:
        """``(label, text or (T, F) tensor)`` per split (subclasses generate them instead)."""
        return split_files(self.cfg, self._read)

    def prepare(self) -> LabelledData:
        """Read, learn labels and vocabulary, encode (idempotent); needed before the model is built."""
        if self.encoded:
            return self
        cfg = self.cfg
        self.examples = self.load_examples()
        kinds = {isinstance(x, Tensor) for split in SPLITS for _, x in self.examples[split]}
        if len(kinds) > 1:
            raise DataError("The train/valid/test files mix text lines and tensor files; give all three in one format.")
        features = kinds == {True}
        if not self.labels:
            self.labels = sorted({label for label, _ in self.examples["train"]}, key=_natural_key)
            if features:
                self.feature_size = int(self.examples["train"][0][1].shape[1])
            else:
                if cfg.tokenizer not in ("char", "word"):
                    raise ConfigError("data.tokenizer must be 'char' or 'word' for labelled text, got "
                                      f"'{cfg.tokenizer}'.")
                self.codec = VocabularyCodec.fit(
                    cfg.tokenizer, [text for _, text in self.examples["train"]], lowercase=cfg.lowercase,
                    min_freq=cfg.min_freq, max_size=cfg.max_vocab,
                )
                self._extend_vocabulary()
        if len(self.labels) < 2:
            raise DataError(f"The training split has {len(self.labels)} distinct label(s) ({self.labels}); "
                            "classification needs at least 2.")
        if features and any(x.shape[1] != self.feature_size for split in SPLITS for _, x in self.examples[split]):
            raise DataError(f"Every sequence must have {self.feature_size} features per step (the training data's); "
                            "some have other sizes.")
        known = set(self.labels)
        self.unseen = unseen_report(
            {split: [label for label, _ in self.examples[split]] for split in ("valid", "test")},
            known,
            policy=cfg.unseen_labels,
            what="example",
            consequence="They are left out of loss, accuracy and F1 (counted in the `unseen` metric).",
        )
        label_id = {label: i for i, label in enumerate(self.labels)}
        for split in SPLITS:
            self.encoded[split] = [
                (index, self._encode_input(x), label_id.get(label, IGNORE))
                for index, (label, x) in enumerate(self.examples[split])
            ]
        if self.truncated:
            print(f"seqforge: truncated {self.truncated} example(s) longer than data.max_len={cfg.max_len}")
        return self

    def _extend_vocabulary(self) -> None:
        """``model.embedding.extend_vocab``: the pretrained vectors' words join the word vocabulary."""
        embedding = self.embedding_cfg
        if embedding is None or not getattr(embedding, "extend_vocab", False) or self.codec is None:
            return
        if self.codec.kind != "word":
            raise ConfigError("model.embedding.extend_vocab=true adds the words of model.embedding.pretrained to a "
                              f"word vocabulary, but data.tokenizer={self.codec.kind}; use data.tokenizer=word or "
                              "set model.embedding.extend_vocab=false.")
        lowercase = self.codec.lowercase
        vocab = extend_vocabulary(self.codec.vocab, embedding, normalise=str.lower if lowercase else None)
        self.codec = VocabularyCodec(self.codec.kind, vocab, lowercase)

    def _encode_input(self, x: Any) -> Tensor:
        if isinstance(x, Tensor):
            seq = x
        else:
            ids = self.codec.encode(x)
            seq = torch.tensor(ids or [self.codec.vocab.unk_id], dtype=torch.long)  # (T,)
        if len(seq) > self.cfg.max_len:
            self.truncated += 1
            seq = seq[: self.cfg.max_len]
        return seq

    def encode_inputs(self, inputs: Sequence[Any]) -> list[Tensor]:
        """Model inputs for new examples (inference): text strings or ``(T, F)`` tensors."""
        return [
            self._encode_input(torch.as_tensor(x, dtype=torch.float32) if not isinstance(x, str) else x) for x in inputs
        ]

    def describe(self) -> str:
        sizes = "/".join(str(len(self.examples[s])) for s in SPLITS)
        inputs = f"{self.feature_size} features per step" if self.codec is None else f"vocabulary {len(self.codec)}"
        return f"examples train/valid/test {sizes} | {len(self.labels)} labels | {inputs}"

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: the label names, the codec (text) or the feature size (tensors)."""
        return {
            "labels": list(self.labels),
            "codec": self.codec.state() if self.codec else None,
            "feature_size": self.feature_size,
        }


def _natural_key(label: str) -> tuple[int, Any]:
    """Numeric labels in numeric order ("2" before "10"), then the others alphabetically."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


# -- the digits demo ------------------------------------------------------------------------------


def stratified_split(
    labels: Sequence[Any], *, valid_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[int]]:
    """Indices of a stratified random train/valid/test split (scikit-learn's ``train_test_split``)."""
    from sklearn.model_selection import train_test_split

    if not (valid_fraction > 0 and test_fraction > 0 and valid_fraction + test_fraction < 1):
        raise ConfigError("data.valid_fraction and data.test_fraction must be > 0 with a sum below 1, got "
                          f"{valid_fraction}, {test_fraction}.")
    everything = list(range(len(labels)))
    rest, test = train_test_split(everything, test_size=test_fraction, stratify=labels, random_state=seed)
    train, valid = train_test_split(
        rest, test_size=valid_fraction / (1 - test_fraction), stratify=[labels[i] for i in rest], random_state=seed
    )
    return {"train": sorted(train), "valid": sorted(valid), "test": sorted(test)}


class DigitsData(LabelledData):
    """scikit-learn's 1,797 bundled 8x8 digits, read row by row: 8 steps of 8 pixel intensities scaled to [0, 1]."""

    config_class = DigitsDataConfig

    def load_examples(self) -> dict[str, list[tuple[str, Any]]]:
        from sklearn.datasets import load_digits

        cfg: Any = self.cfg
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32) / 16.0  # (N, 8, 8): rows are time steps
        parts = stratified_split(
            digits.target.tolist(), valid_fraction=cfg.valid_fraction, test_fraction=cfg.test_fraction, seed=cfg.seed
        )
        return {split: [(str(int(digits.target[i])), images[i]) for i in rows] for split, rows in parts.items()}
