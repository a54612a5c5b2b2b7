"""Contiguous stream batches shared by the language-model text and the forecasting signals.

Both cut their data into ``B`` equal streams and serve the next ``seq_len`` steps of every
stream as batch ``n``, so row ``i`` of batch ``n+1`` continues row ``i`` of batch ``n`` (the
hidden state can be carried over) and the order is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass
class StreamBatch:
    """``inputs`` ``(B, L)`` token ids or ``(B, L, F)`` features, ``targets`` ``(B, L)``; ``index``: position in the
    epoch."""

    inputs: Tensor
    targets: Tensor
    index: int

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def time_steps(self) -> int:
        return self.inputs.shape[1]

    def to(self, device: torch.device) -> StreamBatch:
        return StreamBatch(self.inputs.to(device), self.targets.to(device), self.index)

    def split_time(self, steps: int) -> list[StreamBatch]:
        """Truncated BPTT: consecutive chunks of ``steps`` time steps (the last may be shorter)."""
        # (B, <=steps[, F]), (B, <=steps)
        pieces = zip(torch.split(self.inputs, steps, dim=1), torch.split(self.targets, steps, dim=1))
        return [StreamBatch(inputs, targets, self.index) for inputs, targets in pieces]


class StreamBatches:
    """Iterable of :class:`StreamBatch` over ``(B, N)`` or ``(B, N, C)`` streams; resumable mid-epoch.

    ``next_token=True`` (text): the targets are the inputs shifted by one step, so ``N - 1``
    steps are served. ``next_token=False`` (signals): the last channel is the target and the
    others are the inputs, at every one of the ``N`` steps.

    Lightning saves ``state_dict()`` in checkpoints and restores it on resume. ``consumed`` is
    advanced by the training step (not at yield time, since Lightning pre-fetches one batch
    ahead), so a resumed run continues at exactly the next unseen batch.
    """

    def __init__(self, streams: Tensor, seq_len: int, *, next_token: bool) -> None:
        self.streams = streams  # (B, N) or (B, N, C)
        self.seq_len = seq_len
        self.next_token = next_token
        self.consumed = 0

    @property
    def steps(self) -> int:
        return self.streams.shape[1] - 1 if self.next_token else self.streams.shape[1]

    def __len__(self) -> int:
        return max(0, -(-self.steps // self.seq_len))

    def __iter__(self) -> Iterator[StreamBatch]:
        start = self.consumed if self.consumed < len(self) else 0  # a restored mid-epoch position, else a new epoch
        for index in range(start, len(self)):
            begin = index * self.seq_len
            end = min(begin + self.seq_len, self.steps)
            if self.next_token:
                # (B, L) each
                yield StreamBatch(self.streams[:, begin:end], self.streams[:, begin + 1 : end + 1], index)
            else:
                rows = self.streams[:, begin:end]  # (B, L, C)
                yield StreamBatch(rows[..., :-1], rows[..., -1], index)
        self.consumed = 0

    def mark_consumed(self, index: int) -> None:
        self.consumed = index + 1

    def state_dict(self) -> dict[str, int]:
        return {"consumed": self.consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.consumed = int(state.get("consumed", 0))


class StreamLoaders:
    """Lightning loader hooks for a data module served as :class:`StreamBatches`, one per split.

    A mixin (list it before ``L.LightningDataModule``) because Lightning finds these hooks as
    methods of the data module. The host sets ``cfg`` (``seq_len``, ``batch_size``,
    ``eval_batch_size``), ``next_token`` (see :class:`StreamBatches`) and ``_loaders = {}``, and
    implements ``split_streams(split, batch_size, rank, world_size)`` -> this rank's streams.
    """

    cfg: Any
    next_token: bool
    _loaders: dict[str, StreamBatches]
    split_streams: Callable[[str, int, int, int], Tensor]

    def _rank(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _loader(self, split: str, batch_size: int) -> StreamBatches:
        # Kept per split so Lightning's state_dict/load_state_dict talk to the object it iterates.
        if split not in self._loaders:
            rank, world = self._rank()
            self._loaders[split] = StreamBatches(
                self.split_streams(split, batch_size, rank, world), self.cfg.seq_len, next_token=self.next_token
            )
        return self._loaders[split]

    def train_dataloader(self) -> StreamBatches:
        return self._loader("train", self.cfg.batch_size)

    def val_dataloader(self) -> StreamBatches:
        return self._loader("valid", self.cfg.eval_batch_size)

    def test_dataloader(self) -> StreamBatches:
        return self._loader("test", self.cfg.eval_batch_size)

    def transfer_batch_to_device(self, batch: StreamBatch, device: torch.device, dataloader_idx: int) -> StreamBatch:
        return batch.to(device)
