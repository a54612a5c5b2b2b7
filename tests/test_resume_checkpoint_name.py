"""A resumed run keeps refreshing checkpoints/last.ckpt, also when the resume changes checkpoint.every_n_train_steps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import QUIET, interrupted_lm_run, run_seqforge_in_process


@pytest.mark.requires_plugins("rnn")
def test_resume_with_another_checkpoint_interval_still_writes_last_ckpt(tmp_path: Path) -> None:
    """Train to step 20 saving every 5, resume to 40 saving every 3: last.ckpt holds step 40 and no last-v1.ckpt
    appears (Lightning's version counter would have written one, leaving resume=<dir> the step-20 file)"""
    run_dir = tmp_path / "run"
    common = [o for o in interrupted_lm_run(tmp_path) if not o.startswith("trainer.max_steps=")]
    first = run_seqforge_in_process("train", *common, *QUIET, "trainer.max_steps=20", f"hydra.run.dir={run_dir}",
                                    cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = run_seqforge_in_process("train", f"resume={run_dir}", "trainer.max_steps=40",
                                      "checkpoint.every_n_train_steps=3", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    names = sorted(p.name for p in (run_dir / "checkpoints").glob("last*.ckpt"))
    assert names == ["last.ckpt"]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] == 40
