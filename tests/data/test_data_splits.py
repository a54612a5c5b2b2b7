"""The shared data helpers: data.split fractions, split loaders and contiguous stream batches."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import SequentialSampler

from seqforge.data.lm import _split_text
from seqforge.data.resumable import ResumableSampler
from seqforge.data.splits import SplitLoaders, check_fractions, split_by_fractions
from seqforge.data.streams import StreamBatch, StreamBatches
from seqforge.errors import ConfigError, DataError


def test_split_by_fractions_cuts_contiguous_parts_in_order() -> None:
    parts = split_by_fractions(list(range(10)), [0.6, 0.2, 0.2], what="ten numbers")
    assert parts == {"train": [0, 1, 2, 3, 4, 5], "valid": [6, 7], "test": [8, 9]}


@pytest.mark.parametrize("fractions", [[0.5, 0.5], [0.8, 0.3, 0.1], [1.0, 0.0, 0.0], [0.9, -0.1, 0.2]])
def test_bad_fractions_are_refused_naming_the_key(fractions: list[float]) -> None:
    with pytest.raises(ConfigError, match=r"data\.split must be three positive fractions"):
        check_fractions(fractions)
    with pytest.raises(ConfigError, match=r"data\.split"):
        split_by_fractions(list(range(10)), fractions, what="x")


def test_an_empty_split_is_refused_naming_what_was_split() -> None:
    with pytest.raises(DataError, match=r"Splitting 3 sentence pairs by data\.split=\[0\.8, 0\.1, 0\.1\] leaves the "
                                        r"valid split empty"):
        split_by_fractions([1, 2, 3], [0.8, 0.1, 0.1], what="3 sentence pairs")


def test_text_split_counts_a_whitespace_only_part_as_empty() -> None:
    text = "".join(f"line {i}\n" for i in range(18)) + "\n\n"  # the last two lines (the test part) are blank
    with pytest.raises(DataError, match="leaves the test split empty"):
        _split_text(text, [0.8, 0.1, 0.1], "corpus.txt")
    assert _split_text("a\nb\nc\nd\n", [0.5, 0.25, 0.25], "corpus.txt") == {
        "train": "a\nb\n",
        "valid": "c\n",
        "test": "d\n",
    }


class _Splits(SplitLoaders):
    def __init__(self) -> None:
        self.cfg = SimpleNamespace(batch_size=2, eval_batch_size=3, shuffle=True)
        self.encoded = {"train": [1, 2, 3, 4], "valid": [5, 6, 7, 8], "test": [9]}
        self.prepared = 0

    def prepare(self) -> _Splits:
        self.prepared += 1
        return self

    def collate(self, examples: list[int]) -> torch.Tensor:
        return torch.tensor(examples)


def test_split_loaders_use_train_and_eval_batch_sizes() -> None:
    data = _Splits()
    data.setup("fit")
    assert data.prepared == 1
    train, valid, test = data.train_dataloader(), data.val_dataloader(), data.test_dataloader()
    # resumable mid-epoch
    assert train.batch_size == 2 and isinstance(train.sampler, ResumableSampler) and train.sampler.shuffle
    assert valid.batch_size == 3 and isinstance(valid.sampler, SequentialSampler)
    assert [b.tolist() for b in valid] == [[5, 6, 7], [8]] and [b.tolist() for b in test] == [[9]]
    assert sorted(x for b in train for x in b.tolist()) == [1, 2, 3, 4]
    data.cfg.shuffle = False
    assert [b.tolist() for b in data.train_dataloader()] == [[1, 2], [3, 4]]


def test_text_streams_target_the_next_token() -> None:
    streams = torch.arange(20).view(2, 10)  # (B, N)
    batches = list(StreamBatches(streams, 4, next_token=True))
    assert len(batches) == 3 and [b.time_steps for b in batches] == [4, 4, 1]  # N - 1 = 9 steps
    assert torch.equal(torch.cat([b.inputs for b in batches], 1), streams[:, :-1])
    assert torch.equal(torch.cat([b.targets for b in batches], 1), streams[:, 1:])


def test_signal_streams_target_the_last_channel() -> None:
    streams = torch.arange(30.0).view(1, 10, 3)  # (B, N, C)
    batches = list(StreamBatches(streams, 4, next_token=False))
    assert [b.time_steps for b in batches] == [4, 4, 2]  # all N = 10 steps
    assert torch.equal(torch.cat([b.inputs for b in batches], 1), streams[..., :2])
    assert torch.equal(torch.cat([b.targets for b in batches], 1), streams[..., 2])


def test_streams_resume_after_the_last_consumed_batch() -> None:
    loader = StreamBatches(torch.arange(20).view(2, 10), 3, next_token=True)
    first = next(iter(loader))
    loader.mark_consumed(first.index)
    resumed = StreamBatches(loader.streams, 3, next_token=True)
    resumed.load_state_dict(loader.state_dict())
    assert [b.index for b in resumed] == [1, 2]
    assert [b.index for b in resumed] == [0, 1, 2]  # the next epoch starts afresh


def test_split_time_chunks_keep_the_batch_index() -> None:
    batch = StreamBatch(torch.arange(14).view(2, 7), torch.arange(14).view(2, 7) + 1, index=5)
    chunks = batch.split_time(3)
    assert [c.time_steps for c in chunks] == [3, 3, 1] and {c.index for c in chunks} == {5}
    assert torch.equal(torch.cat([c.inputs for c in chunks], 1), batch.inputs)
    assert torch.equal(torch.cat([c.targets for c in chunks], 1), batch.targets)
