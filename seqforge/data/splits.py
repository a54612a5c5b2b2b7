"""Lightning loader hooks shared by the data modules whose splits are lists of encoded examples."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
from torch.utils.data import DataLoader


class SplitLoaders:
    """``setup``/``*_dataloader``/``transfer_batch_to_device`` over ``self.encoded[split]``.

    Lightning finds these hooks as methods of the data module, so they come in as a mixin
    (list it before ``L.LightningDataModule``) rather than a helper every module would wrap
    again. The host provides ``prepare()`` (fills ``encoded``), ``cfg`` (``batch_size``,
    ``eval_batch_size``, ``shuffle``) and ``collate(examples) -> batch`` whose batch has
    ``.to(device)``. Training batches are ``cfg.batch_size`` and shuffled when
    ``cfg.shuffle``; validation and test batches are ``cfg.eval_batch_size`` and in order.
    """

    cfg: Any
    encoded: dict[str, Sequence[Any]]
    prepare: Callable[[], Any]
    collate: Callable[[list[Any]], Any]

    def setup(self, stage: Optional[str] = None) -> None:
        self.prepare()

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.encoded["train"], batch_size=self.cfg.batch_size, shuffle=self.cfg.shuffle, collate_fn=self.collate)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.encoded["valid"], batch_size=self.cfg.eval_batch_size, collate_fn=self.collate)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.encoded["test"], batch_size=self.cfg.eval_batch_size, collate_fn=self.collate)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return batch.to(device)
