"""Shuffled training batches that resume mid-epoch exactly, on one process or sharded over DDP ranks.

A plain ``DataLoader(shuffle=True)`` draws its permutation from the global RNG and keeps
no position, so a run resumed from a mid-epoch checkpoint replays a different order from
the start of the epoch. :class:`ResumableSampler` makes the order a pure function of
``(seed, epoch)`` and shards it by rank itself; :class:`ResumableLoader` saves how many
batches were consumed, so the resumed epoch continues at the next unseen batch.

The sampler subclasses ``DistributedSampler`` so Lightning keeps it under DDP instead of
injecting its own (``_requires_distributed_sampler`` is false for a ``DistributedSampler``
whatever ``use_distributed_sampler`` says). Lightning calls ``set_epoch`` before each
epoch and saves ``state_dict()`` of the loader it iterates in every checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Sized
from typing import Any, cast

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class ResumableSampler(DistributedSampler[int]):
    """Example indices for one rank: a permutation seeded by ``seed + epoch``, skipping consumed batches.

    As ``DistributedSampler`` (whose permutation it reuses): the epoch's order is padded
    by repeating its head up to a multiple of ``world_size`` and rank ``r`` takes every
    ``world_size``-th index from ``r``, so every rank serves the same number of examples
    and therefore of batches (DDP never waits on a missing one). ``world_size=1`` is the
    single-process case. ``consumed`` counts training batches this rank has finished in
    the current epoch; after :meth:`load_state_dict` the next epoch of the restored number
    starts after them.
    """

    def __init__(
        self, dataset: Sized, *, batch_size: int, seed: int, shuffle: bool = True, rank: int = 0, world_size: int = 1
    ) -> None:
        # torch's stub asks for a Dataset, but DistributedSampler only takes len(dataset)
        super().__init__(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)  # type: ignore[arg-type]
        self.batch_size = batch_size
        self.consumed = 0
        self._resume: dict[str, int] | None = None  # a restored position, used by the next iteration only

    def batches_per_epoch(self) -> int:
        return -(-self.num_samples // self.batch_size)

    def __iter__(self) -> Iterator[int]:
        order = list(super().__iter__())  # this rank's num_samples indices, from (seed, epoch)
        start = 0
        if (
            self._resume is not None
            and self._resume["epoch"] == self.epoch
            and self._resume["consumed"] < self.batches_per_epoch()
        ):
            start = self._resume["consumed"]
        self._resume = None
        self.consumed = start
        return iter(order[start * self.batch_size :])

    def mark_consumed(self) -> None:
        self.consumed += 1

    def state_dict(self) -> dict[str, int]:
        # Identical on every rank (same epoch, same batch count), so rank 0's copy in the checkpoint serves them all.
        return {"epoch": self.epoch, "consumed": self.consumed, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume = {"epoch": int(state.get("epoch", 0)), "consumed": int(state.get("consumed", 0))}
        self.consumed = self._resume["consumed"]


class ResumableLoader(DataLoader[Any]):
    """A ``DataLoader`` over a :class:`ResumableSampler` whose position Lightning saves and restores.

    ``mark_consumed`` is called by the training step (not when a batch is yielded: Lightning
    fetches one batch ahead), so a checkpoint records exactly the batches trained on.
    """

    sampler: ResumableSampler

    def __init__(
        self, dataset: Dataset[Any], *, sampler: ResumableSampler, collate_fn: Callable[[list[Any]], Any]
    ) -> None:
        # Its own generator: every new iterator draws a worker base seed, which from the global RNG would shift
        # dropout's random numbers in a resumed run (one more iterator than the uninterrupted run had at that point).
        generator = torch.Generator().manual_seed(sampler.seed)
        super().__init__(
            dataset, batch_size=sampler.batch_size, sampler=sampler, collate_fn=collate_fn, generator=generator
        )

    @property
    def consumed(self) -> int:
        return self.sampler.consumed

    def mark_consumed(self, index: Any = None) -> None:
        """One more training batch done (``index``, the batch's example indices, is not needed)."""
        self.sampler.mark_consumed()

    def state_dict(self) -> dict[str, int]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.load_state_dict(state)


def shuffle_seed() -> int:
    """The seed of the training order: the run's (``build_run`` seeds torch with ``cfg.seed`` before the data exist).

    A resumed run reseeds with the same ``cfg.seed``, and the RNG state it restores from
    the checkpoint carries that seed too, so both runs shuffle identically.
    """
    return torch.initial_seed() % 2**62


def training_loader(
    examples: Sequence[Any] | Dataset[Any],
    *,
    batch_size: int,
    collate_fn: Callable[[list[Any]], Any],
    seed: int,
    shuffle: bool,
    trainer: Any = None,
) -> ResumableLoader:
    """The training loader of a map-style data module: resumable, sharded by the ``trainer``'s rank (if attached)."""
    rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
    sized = cast(Sized, examples)  # a map-style dataset has a length, which the sampler needs
    sampler = ResumableSampler(sized, batch_size=batch_size, seed=seed, shuffle=shuffle, rank=rank, world_size=world)
    # torch's stub asks for a Dataset, but a DataLoader only indexes it: a Sequence works
    return ResumableLoader(examples, sampler=sampler, collate_fn=collate_fn)  # type: ignore[arg-type]
