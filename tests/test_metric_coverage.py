"""Metrics computed on part of a split say so; by default val and test cover the whole split."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose_helpers import compose_config

TINY = ["data.seq_len=16", "data.batch_size=4", "data.eval_batch_size=4", "model.hidden_size=8", "model.embedding_dim=8",
        "trainer.max_steps=3", "trainer.val_check_interval=3", "logger=none", "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false", "task.sample_length=0"]


def _train(tmp_path: Path, overrides: list[str]) -> dict:
    from seqforge.train import run_training

    text = tmp_path / "text.txt"
    text.write_text("".join(f"line {i} of a small text to model\n" for i in range(400)))
    return run_training(compose_config(TINY + [f"data.path={text}", *overrides]), tmp_path / "run")


def test_default_trainer_evaluates_whole_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """trainer=default sets no limit_val_batches/limit_test_batches: no split is marked as partial"""
    cfg = compose_config([])
    assert (cfg.trainer.limit_val_batches, cfg.trainer.limit_test_batches) == (None, None)
    metrics = _train(tmp_path, [])
    assert metrics["val"].coverage is None and metrics["test"].coverage is None
    assert "batches)" not in capsys.readouterr().out


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


def test_trainer_epochs_trains_by_epochs_on_whole_splits() -> None:
    """trainer=epochs: max_epochs, no step cap, validation every epoch, whole splits"""
    cfg = compose_config(["trainer=epochs"])
    t = cfg.trainer
    assert (t.max_steps, t.max_epochs, t.val_check_interval, t.check_val_every_n_epoch) == (-1, 20, None, 1)
    assert (t.limit_val_batches, t.limit_test_batches) == (None, None)


def test_conll_ner_preset_trains_by_epochs_on_whole_splits(tmp_path: Path) -> None:
    """experiment=conll_ner: task=tag data=conll, a char-feature BiLSTM, by epochs, whole val/test splits; it trains"""
    from seqforge.train import run_training

    lines = []
    for i in range(30):
        lines += [f"John{i % 3} B-PER", "visited O", f"Paris{i % 2} B-LOC", ". O", ""]
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.txt").write_text("\n".join(lines))
    overrides = ["experiment=conll_ner", *(f"data.{s}={tmp_path / s}.txt" for s in ("train", "valid", "test"))]
    cfg = compose_config(overrides)
    assert cfg.task._target_.endswith("TaggingTask") and cfg.task.char_features and cfg.model.bidirectional
    assert (cfg.trainer.max_steps, cfg.trainer.max_epochs, cfg.trainer.limit_test_batches) == (-1, 15, None)
    assert (cfg.checkpoint.monitor, cfg.checkpoint.mode) == ("val/f1", "max")
    metrics = run_training(compose_config(overrides + [
        "trainer.max_epochs=1", "logger=none", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
        "task.show_examples=0"]), tmp_path / "run")
    assert "f1" in metrics["test"] and metrics["test"].coverage is None
