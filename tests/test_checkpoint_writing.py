"""Checkpoint writes are atomic."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqforge.checkpoint_writing import AtomicCheckpointIO


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


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), RuntimeError("[enforce fail at "
                                                                                          "inline_container.cc:603] . "
                                                                                          "unexpected pos 64 vs 0")])
def test_a_write_that_fails_names_the_file_and_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch, failure: Exception
) -> None:
    """A full disk (OSError, or torch's zip-writer RuntimeError) becomes one message; the old file stays, no temporary
    is left"""
    from seqforge.run_dir import RunDirError

    target = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": torch.tensor(1)}, target)

    def fails(obj, handle):
        handle.write(b"partial bytes")
        raise failure

    monkeypatch.setattr(torch, "save", fails)
    with pytest.raises(RunDirError, match=rf"Could not write the checkpoint {target} at step 2: .*previous last.ckpt "
                                          rf"is intact.*resume={tmp_path}"):
        io.save_checkpoint({"step": torch.tensor(2), "global_step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True)["step"] == 1
    assert list(target.parent.iterdir()) == [target]


def test_a_bug_inside_torch_save_is_not_reported_as_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    """Only write failures are translated; any other RuntimeError keeps its traceback (it is a bug)"""
    monkeypatch.setattr(torch, "save", lambda obj, handle: (_ for _ in ()).throw(RuntimeError("cannot pickle "
                                                                                              "'generator'")))
    with pytest.raises(RuntimeError, match="cannot pickle"):
        AtomicCheckpointIO().save_checkpoint({"step": torch.tensor(1)}, tmp_path / "last.ckpt")
