"""A run shorter than trainer.val_check_interval still ends validated; a sweep trial without an objective fails alone."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import TINY, run_seqforge, write_corpus

pytestmark = pytest.mark.slow

FAKE_JOB = Path(__file__).parent / "fixtures" / "fake_sweep_job.py"
QUIET = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.mark.requires_plugins("rnn")
def test_an_optuna_sweep_of_runs_shorter_than_the_validation_interval_gets_an_objective_from_every_trial(
    tmp_path: Path,
) -> None:
    """trainer.max_steps=4 < val_check_interval=200: each trial validates at its last step, has best.ckpt and an
    objective"""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    corpus = write_corpus(tmp_path / "corpus.txt", chars=2000)
    sweep = tmp_path / "sweep"
    result = run_seqforge(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.sampler.seed=3",
        "optim.lr=interval(0.001,0.01)",
        "trainer.max_steps=4",
        "trainer.val_check_interval=200",
        f"data.path={corpus}",
        "logger=csv",
        "task.sample_length=0",
        *TINY,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env=QUIET,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    objectives = []
    for job in ("0", "1"):
        outcome = json.loads((sweep / job / "result.json").read_text())
        assert outcome["step"] == 4 and outcome["objective"] is not None and "val/loss" in outcome["final"]
        assert (sweep / job / "checkpoints" / "best.ckpt").is_file()
        objectives.append(outcome["objective"])
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(objectives))


@pytest.mark.requires_plugins("rnn")
def test_trials_without_an_objective_fail_with_their_reason_and_the_sweep_ends_with_a_summary(tmp_path: Path) -> None:
    """checkpoint.monitor never logged: 3 trials run, each FAIL in Optuna with the reason; one paragraph at the end, no
    traceback"""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    sweep = tmp_path / "sweep"
    storage = tmp_path / "study.db"
    result = run_seqforge(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=1",
        "optim.lr=interval(0.001,0.01)",
        "checkpoint.monitor=val/bleu",
        f"hydra.sweeper.storage=sqlite:///{storage}",
        "hydra.sweeper.study_name=t",
        f"hydra.launcher.command=[{sys.executable},{FAKE_JOB}]",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env=QUIET,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "No trials are completed yet" not in result.stderr
    assert "No trial of the Optuna sweep produced an objective" in result.stderr
    for job in range(3):  # the sweep went on after the first trial without an objective
        assert f"sweep job #{job} " in result.stderr
    assert "checkpoint.monitor=val/bleu was never logged (metrics it logged: val/loss)" in result.stderr
    with sqlite3.connect(storage) as db:
        states = [state for (state,) in db.execute("SELECT state FROM trials ORDER BY number")]
    assert states == ["FAIL", "FAIL", "FAIL"]
    summary = (sweep / "summary.md").read_text()
    assert summary.count("| no objective |") == 3
