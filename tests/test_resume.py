"""A killed run, resumed, ends exactly where the uninterrupted run ends."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from cli_helpers import KILL_AT_STEP, QUIET, TINY_MODEL, interrupted_lm_run, run_seqforge

pytestmark = pytest.mark.slow


def _params(run_dir: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return checkpoint["state_dict"], checkpoint["global_step"]


@pytest.mark.requires_plugins("rnn", "seq2seq", "forecast")
def test_resume_after_kill_matches_uninterrupted_run(tmp_path: Path) -> None:
    """Kill mid-epoch (SIGKILL), resume from the run dir: same final parameters as a run never stopped"""
    (tmp_path / "killer.py").write_text(KILL_AT_STEP)
    common = interrupted_lm_run(tmp_path)
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


# -- every task family: kill mid-epoch, resume, same parameters (in-process, so the five cases stay fast) -------------

class Stopped(Exception):
    """The in-process stand-in for SIGKILL: raised after an optimiser step, no checkpoint is written on the way out."""


class StopAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step >= self.step:
            raise Stopped(trainer.global_step)


_QUIET_TINY = [
    *QUIET,
    *TINY_MODEL,
    "test_after_fit=false",
    "trainer.limit_val_batches=0",
    "trainer.val_check_interval=null",
    "trainer.check_val_every_n_epoch=1",
]
#: family -> overrides with 5 training batches per epoch; every run takes max_steps over two epochs or more.
FAMILIES = {
    # 1,257 digits: 5 batches
    "classification": ["experiment=digits_demo", "data.batch_size=256", "task.show_examples=0"],
    # 5
    "tagging": ["experiment=tagging_demo", "data.n_train=80", "data.n_valid=8", "data.n_test=8", "data.batch_size=16"],
    "translation": [
        "experiment=translate_demo",
        "data.n_train=160",
        "data.n_valid=8",
        "data.n_test=8",
        "data.batch_size=32",
    ],  # 5
    "one_to_many": ["experiment=conditional_demo", "data.batch_size=256", "task.show_examples=0"],  # 5
    "forecasting": ["experiment=airline_demo", "data.batch_size=16"],  # 72 windows: 5
}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.requires_plugins("rnn")
def test_every_task_family_resumes_mid_epoch_to_the_uninterrupted_parameters(family: str, tmp_path: Path) -> None:
    """Stop a shuffled run mid-epoch (second epoch), resume from last.ckpt: bit-identical parameters to a run never
    stopped"""
    from compose_helpers import compose_config

    from seqforge.train import run_training

    overrides = [*FAMILIES[family], *_QUIET_TINY, "seed=3", "trainer.max_steps=13", "checkpoint.every_n_train_steps=4"]
    run_training(compose_config(overrides), tmp_path / "straight")

    stop = {"stop": {"_target_": f"{__name__}.StopAt", "step": 10}}
    cfg = compose_config(overrides)
    cfg.callbacks = stop
    with pytest.raises(Stopped):
        run_training(cfg, tmp_path / "killed")
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    _, step_at_stop = _params(tmp_path / "killed")
    assert step_at_stop == 8  # the last periodic checkpoint: mid-epoch for every family (5 batches per epoch)

    run_training(compose_config(overrides), tmp_path / "killed", ckpt_path=last)

    expected, expected_step = _params(tmp_path / "straight")
    actual, actual_step = _params(tmp_path / "killed")
    assert actual_step == expected_step == 13
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(actual[name], expected[name]), (
            f"{family}: {name} differs by {(actual[name] - expected[name]).abs().max():.3g}"
        )


@pytest.mark.xdist_group("ddp")  # two ranks each: never two such tests at once under `pytest -n`
@pytest.mark.requires_plugins("rnn")
def test_ddp_classification_resumes_mid_epoch_to_the_uninterrupted_parameters(tmp_path: Path) -> None:
    """2 CPU ranks (gloo) through the console script: SIGKILL mid-epoch, resume, same parameters as the DDP run never
    stopped"""
    (tmp_path / "killer.py").write_text(KILL_AT_STEP)
    common = [
        # 629 per rank: 5
        "experiment=digits_demo", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "data.batch_size=128",
        "task.show_examples=0", *_QUIET_TINY, "seed=3", "trainer.max_steps=13", "checkpoint.every_n_train_steps=4",
    ]
    env = {"PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    straight = run_seqforge("train", *common, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = run_seqforge(
        "train",
        *common,
        f"hydra.run.dir={tmp_path / 'killed'}",
        "+callbacks.killer._target_=killer.KillAt",
        "+callbacks.killer.step=10",
        cwd=tmp_path,
        env=env,
    )
    assert killed.returncode != 0  # SIGKILL
    assert _params(tmp_path / "killed")[1] == 8  # mid-epoch (batch 3 of 5 on each rank)
    resumed = run_seqforge("train", f"resume={tmp_path / 'killed'}", "~callbacks.killer", cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    expected, expected_step = _params(tmp_path / "straight")
    actual, actual_step = _params(tmp_path / "killed")
    assert actual_step == expected_step == 13
    for name in expected:
        assert torch.equal(actual[name], expected[name]), (
            f"{name} differs by {(actual[name] - expected[name]).abs().max():.3g}"
        )
