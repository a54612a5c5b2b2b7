"""Checkpoint writes are atomic."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqforge.checkpoint_io import AtomicCheckpointIO


def test_a_write_that_dies_midway_leaves_the_previous_checkpoint_intact(tmp_path: Path, monkeypatch) -> None:
    """An interrupted save keeps the old file whole and leaves no temporary file behind"""
    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": torch.tensor(1)}, target)

    def dies_midway(obj, handle):
        handle.write(b"partial bytes")
        raise KeyboardInterrupt  # what a kill looks like from inside the process

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": torch.tensor(2)}, target)
    monkeypatch.undo()

    assert torch.load(target, weights_only=True)["step"] == 1
    assert list(tmp_path.iterdir()) == [target]


def test_a_completed_write_replaces_the_checkpoint(tmp_path: Path) -> None:
    """A normal save overwrites the previous checkpoint"""
    target = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": torch.tensor(1)}, target)
    io.save_checkpoint({"step": torch.tensor(2)}, target)
    assert torch.load(target, weights_only=True)["step"] == 2
