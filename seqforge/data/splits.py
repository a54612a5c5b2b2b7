"""Train/valid/test splits: cutting data by ``data.split`` fractions, and the Lightning loader hooks over encoded
splits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch.utils.data import DataLoader

from seqforge.data.resumable import ResumableLoader, shuffle_seed, training_loader
from seqforge.errors import ConfigError, DataError

T = TypeVar("T")


def check_fractions(fractions: Sequence[float]) -> None:
    """Refuse a ``data.split`` that is not three positive fractions (train, valid, test) summing to 1."""
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError("data.split must be three positive fractions (train, valid, test) summing to 1, got "
                          f"{list(fractions)}.")


def split_by_fractions(
    items: Sequence[T],
    fractions: Sequence[float],
    *,
    what: str,
    is_empty: Callable[[Sequence[T]], bool] = lambda part: not part,
) -> dict[str, Sequence[T]]:
    """Contiguous train/valid/test parts of ``items`` by ``fractions``; an empty part is refused, naming ``what`` was
    split."""
    check_fractions(fractions)
    cut1, cut2 = int(len(items) * fractions[0]), int(len(items) * (fractions[0] + fractions[1]))
    parts = {"train": items[:cut1], "valid": items[cut1:cut2], "test": items[cut2:]}
    for split, part in parts.items():
        if is_empty(part):
            raise DataError(f"Splitting {what} by data.split={list(fractions)} leaves the {split} split empty; give "
                            "more data or other fractions.")
    return parts


class SplitLoaders:
    """``setup``/``*_dataloader``/``transfer_batch_to_device`` over ``self.encoded[split]``.

    Lightning finds these hooks as methods of the data module, so they come in as a mixin
    (list it before ``L.LightningDataModule``) rather than a helper every module would wrap
    again. The host provides ``prepare()`` (fills ``encoded``), ``cfg`` (``batch_size``,
    ``eval_batch_size``, ``shuffle``) and ``collate(examples) -> batch`` whose batch has
    ``.to(device)``. Training batches are ``cfg.batch_size``, shuffled when ``cfg.shuffle``
    and resumable mid-epoch (:mod:`seqforge.data.resumable`); validation and test batches
    are ``cfg.eval_batch_size`` and in order.
    """

    cfg: Any
    encoded: dict[str, Sequence[Any]]
    prepare: Callable[[], Any]
    collate: Callable[[list[Any]], Any]

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    def train_dataloader(self) -> ResumableLoader:
        return training_loader(
            self.encoded["train"],
            batch_size=self.cfg.batch_size,
            collate_fn=self.collate,
            seed=shuffle_seed(),
            shuffle=self.cfg.shuffle,
            trainer=getattr(self, "trainer", None),
        )

    # The examples are a list: torch's stub asks for a Dataset, but a DataLoader only indexes it.
    def val_dataloader(self) -> DataLoader[Any]:
        return DataLoader(self.encoded["valid"], batch_size=self.cfg.eval_batch_size, collate_fn=self.collate)  # type: ignore[arg-type]

    def test_dataloader(self) -> DataLoader[Any]:
        return DataLoader(self.encoded["test"], batch_size=self.cfg.eval_batch_size, collate_fn=self.collate)  # type: ignore[arg-type]

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return batch.to(device)
