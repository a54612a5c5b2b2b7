"""A killed run, resumed, ends exactly where the uninterrupted run ends."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cli_helpers import KILL_AT_STEP, TINY, run_seqforge, write_corpus

pytestmark = pytest.mark.slow


def _params(run_dir: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return checkpoint["state_dict"], checkpoint["global_step"]


def test_resume_after_kill_matches_uninterrupted_run(tmp_path: Path) -> None:
    """Kill mid-epoch (SIGKILL), resume from the run dir: same final parameters as a run never stopped"""
    (tmp_path / "killer.py").write_text(KILL_AT_STEP)
    corpus = write_corpus(tmp_path / "corpus.txt", chars=800)  # 22 training batches per epoch: the runs cross epochs
    common = [
        f"data.path={corpus}", "trainer.max_steps=40", "trainer.val_check_interval=10", "checkpoint.every_n_train_steps=5",
        "model.dropout=0.2", "task.sample_length=0", "seed=7", *TINY,
    ]
    env = {"PYTHONPATH": str(tmp_path)}

    straight = run_seqforge("train", *common, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed = run_seqforge(
        "train", *common, f"hydra.run.dir={tmp_path / 'killed'}",
        "+callbacks.killer._target_=killer.KillAt", "+callbacks.killer.step=28", cwd=tmp_path, env=env,
    )
    assert killed.returncode != 0  # SIGKILL
    _, step_at_kill = _params(tmp_path / "killed")
    assert step_at_kill == 25  # the last periodic checkpoint before the kill

    resumed = run_seqforge("train", f"resume={tmp_path / 'killed'}", "~callbacks.killer", cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    expected, expected_step = _params(tmp_path / "straight")
    actual, actual_step = _params(tmp_path / "killed")
    assert actual_step == expected_step == 40
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=name)
