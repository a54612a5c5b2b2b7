"""``train.flush_denormal``: denormal floats count as 0 while training runs, and the setting is restored afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import QUIET, interrupted_lm_run, run_seqforge_in_process

from seqforge.precision import flushing_denormals

DENORMAL = 1e-39  # below float32's smallest normal number, ~1.18e-38


def _product_of_a_denormal() -> float:
    return (torch.tensor([DENORMAL], dtype=torch.float32) * 1.0).item()


def test_inside_the_block_denormals_are_zero_and_outside_they_are_kept() -> None:
    assert _product_of_a_denormal() > 0.0
    with flushing_denormals(True):
        assert _product_of_a_denormal() == 0.0
    assert _product_of_a_denormal() > 0.0  # restored, also for later tests in this process
    with flushing_denormals(False):
        assert _product_of_a_denormal() > 0.0


def test_the_setting_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), flushing_denormals(True):
        raise RuntimeError("boom")
    assert _product_of_a_denormal() > 0.0


@pytest.mark.requires_plugins("rnn")
@pytest.mark.parametrize("flush", [True, False])
def test_training_runs_under_the_key_and_leaves_the_process_as_it_found_it(tmp_path: Path, monkeypatch, flush) -> None:
    seen: list[float] = []
    from seqforge.module import SeqforgeModule

    original = SeqforgeModule.on_train_start

    def spy(self) -> None:  # what the CPU does with a denormal while this run trains
        seen.append(_product_of_a_denormal())
        original(self)

    monkeypatch.setattr(SeqforgeModule, "on_train_start", spy)
    options = [o for o in interrupted_lm_run(tmp_path) if not o.startswith("trainer.max_steps=")]
    result = run_seqforge_in_process(
        "train", *options, *QUIET, "trainer.max_steps=2", f"train.flush_denormal={str(flush).lower()}",
        f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert seen == ([0.0] if flush else [pytest.approx(DENORMAL, rel=1e-3)])
    assert _product_of_a_denormal() > 0.0
