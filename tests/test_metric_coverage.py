"""Metrics computed on part of a split say so; by default val and test cover the whole split."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import compose_config

TINY = [
    "data.seq_len=16",
    "data.batch_size=4",
    "data.eval_batch_size=4",
    "model.hidden_size=8",
    "model.embedding_dim=8",
    "trainer.max_steps=3",
    "trainer.val_check_interval=3",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "task.sample_length=0",
]


def _train(tmp_path: Path, overrides: list[str]) -> dict:
    from seqforge.train import run_training

    text = tmp_path / "text.txt"
    text.write_text("".join(f"line {i} of a small text to model\n" for i in range(400)))
    return run_training(compose_config([*TINY, f"data.path={text}", *overrides]), tmp_path / "run")


@pytest.mark.requires_plugins("rnn")
def test_default_trainer_evaluates_whole_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """trainer=default sets no limit_val_batches/limit_test_batches: no split is marked as partial"""
    cfg = compose_config([])
    assert (cfg.trainer.limit_val_batches, cfg.trainer.limit_test_batches) == (None, None)
    metrics = _train(tmp_path, [])
    assert metrics["val"].coverage is None and metrics["test"].coverage is None
    assert "batches)" not in capsys.readouterr().out


@pytest.mark.requires_plugins("rnn")
def test_limited_evaluation_is_printed_beside_the_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """limit_test_batches=2 prints `test (2 of N batches)` and keeps the metric values plain numbers"""
    metrics = _train(tmp_path, ["trainer.limit_test_batches=2", "trainer.limit_val_batches=1"])
    out = capsys.readouterr().out
    test_cov, val_cov = metrics["test"].coverage, metrics["val"].coverage
    assert test_cov.startswith("2 of ") and val_cov.startswith("1 of ")
    total = int(test_cov.split()[2])
    assert total > 2
    assert f"test (2 of {total} batches)" in out and f"val ({val_cov})" in out
    assert isinstance(metrics["test"]["loss"], float)

