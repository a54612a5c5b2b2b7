"""SIGTERM and SIGINT save last.ckpt at the step boundary, exit 128 + the signal, and the run resumes to the same end."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, interrupted_lm_run, run_seqforge, write_corpus

pytestmark = pytest.mark.slow

#: A Lightning callback module: the process sends itself `name` once, at the end of optimiser step `step` — what
#: `kill -TERM <pid>` or Ctrl-C does, at a step the test knows.
SIGNAL_AT_STEP = '''
import os, signal
import lightning as L


class SignalAt(L.Callback):
    def __init__(self, step: int, name: str) -> None:
        self.step, self.name, self.sent = step, name, False

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), getattr(signal, self.name))
'''


def _checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.mark.requires_plugins("rnn")
def test_sigterm_and_sigint_save_the_last_step_exit_non_zero_and_resume_to_the_uninterrupted_result(
    tmp_path: Path,
) -> None:
    """SIGTERM at step 13, SIGINT at step 27: exit 143/130, last.ckpt at that step, resume= ends equal to a straight run"""
    (tmp_path / "signaller.py").write_text(SIGNAL_AT_STEP)
    common = interrupted_lm_run(tmp_path)
    env = {"PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    straight = run_seqforge("train", *common, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = _checkpoint(tmp_path / "straight")

    for name, step in (("SIGTERM", 13), ("SIGINT", 27)):
        run_dir = tmp_path / name
        stopped = run_seqforge(
            "train", *common, f"hydra.run.dir={run_dir}", "+callbacks.signal._target_=signaller.SignalAt",
            f"+callbacks.signal.step={step}", f"+callbacks.signal.name={name}", cwd=tmp_path, env=env,
        )
        assert stopped.returncode == 128 + getattr(signal, name), stopped.stderr[-3000:]
        assert "Traceback" not in stopped.stderr and "graceful shutdown" not in stopped.stderr + stopped.stdout
        assert f"stopped by {name} after step {step}" in stopped.stderr
        assert f"seqforge train resume={run_dir}" in stopped.stderr
        # the last completed step, not the last periodic save (10 or 25)
        assert _checkpoint(run_dir)["global_step"] == step
        result = json.loads((run_dir / "result.json").read_text())
        assert result["interrupted"] is True and result["step"] == step

        resumed = run_seqforge("train", f"resume={run_dir}", "~callbacks.signal", cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        actual = _checkpoint(run_dir)
        assert actual["global_step"] == expected["global_step"] == 40
        for key in expected["state_dict"]:
            torch.testing.assert_close(
                actual["state_dict"][key], expected["state_dict"][key], rtol=0, atol=1e-6, msg=f"{name}: {key}"
            )


@pytest.mark.xdist_group("ddp")  # two ranks each: never two such tests at once under `pytest -n`
@pytest.mark.requires_plugins("rnn")
def test_under_ddp_a_signal_to_one_rank_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    """trainer=ddp on 2 CPU processes, SIGTERM to rank 1 only at step 7: both stop there, exit 143, last.ckpt is step 7"""
    (tmp_path / "signaller.py").write_text(SIGNAL_AT_STEP.replace("not self.sent", "not self.sent and "
                                                                                   "trainer.global_rank == 1"))
    corpus = write_corpus(tmp_path / "corpus.txt", chars=3000)
    result = run_seqforge(
        "train",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        f"data.path={corpus}",
        "trainer.max_steps=40",
        "task.sample_length=0",
        *TINY,
        "+callbacks.signal._target_=signaller.SignalAt",
        "+callbacks.signal.step=7",
        "+callbacks.signal.name=SIGTERM",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"},
        timeout=400,
    )
    assert result.returncode == 143, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "stopped by SIGTERM after step 7" in result.stderr
    assert _checkpoint(tmp_path / "run")["global_step"] == 7
