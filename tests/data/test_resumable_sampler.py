"""The resumable training order: a function of (seed, epoch), sharded by rank, continuing after the consumed batches."""

from __future__ import annotations

from torch.utils.data import DistributedSampler

from seqforge.data.resumable import ResumableSampler, training_loader


def _order(sampler: ResumableSampler, epoch: int = 0) -> list[int]:
    sampler.set_epoch(epoch)
    return list(sampler)


def _batches(loader) -> list[list[int]]:
    return [list(batch) for batch in loader]


def test_order_is_a_function_of_seed_and_epoch() -> None:
    """Two samplers with one seed give one order per epoch; another epoch or seed gives another"""
    data = list(range(50))
    a, b = ResumableSampler(data, batch_size=4, seed=3), ResumableSampler(data, batch_size=4, seed=3)
    assert _order(a, 0) == _order(b, 0) and sorted(_order(a, 0)) == data
    assert _order(a, 1) == _order(b, 1) != _order(a, 0)
    assert _order(ResumableSampler(data, batch_size=4, seed=4), 0) != _order(a, 0)
    assert _order(ResumableSampler(data, batch_size=4, seed=3, shuffle=False), 5) == data


def test_ranks_share_out_every_example_and_serve_equal_batch_counts() -> None:
    """Every rank gets as many batches (DDP never waits), together covering every example of the epoch"""
    data = list(range(23))
    ranks = [ResumableSampler(data, batch_size=4, seed=1, rank=r, world_size=3) for r in range(3)]
    orders = [_order(s, 2) for s in ranks]
    assert {len(o) for o in orders} == {8} and {s.batches_per_epoch() for s in ranks} == {2}
    assert set().union(*orders) == set(data)
    assert all(isinstance(s, DistributedSampler) for s in ranks)  # so Lightning does not inject its own under DDP


def test_restored_position_skips_the_consumed_batches_once() -> None:
    """After load_state_dict the epoch continues at the next unseen batch; the epoch after starts from its beginning"""
    data = list(range(30))
    straight = training_loader(data, batch_size=4, collate_fn=list, seed=9, shuffle=True)
    straight.sampler.set_epoch(1)
    expected = _batches(straight)

    first = training_loader(data, batch_size=4, collate_fn=list, seed=9, shuffle=True)
    first.sampler.set_epoch(1)
    for _ in zip(range(3), first):
        first.mark_consumed()
    state = first.state_dict()
    assert state == {"epoch": 1, "consumed": 3, "seed": 9}

    resumed = training_loader(data, batch_size=4, collate_fn=list, seed=9, shuffle=True)
    resumed.load_state_dict(state)
    resumed.sampler.set_epoch(1)
    assert _batches(resumed) == expected[3:]
    # the epoch's length, as Lightning counts batch indices across the restart
    assert len(resumed) == len(expected) == 8
    resumed.sampler.set_epoch(2)
    assert len(_batches(resumed)) == 8


def test_restored_position_of_another_epoch_or_a_finished_epoch_is_ignored() -> None:
    """A state saved at an epoch's end, or for another epoch than the one starting, starts that epoch from batch 0"""
    data = list(range(12))  # 3 batches of 4
    for state, epoch in (({"epoch": 0, "consumed": 3}, 0), ({"epoch": 0, "consumed": 1}, 1)):
        loader = training_loader(data, batch_size=4, collate_fn=list, seed=0, shuffle=True)
        loader.load_state_dict(state)
        loader.sampler.set_epoch(epoch)
        assert len(_batches(loader)) == 3, state
