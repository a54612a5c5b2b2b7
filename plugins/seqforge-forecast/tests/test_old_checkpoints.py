"""Checkpoints written while forecasting lived in the seqforge core (``seqforge.tasks.forecast``,
``seqforge.data.series``) still evaluate: the plugin registers those paths as ``formerly=``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from cli_helpers import run_seqforge_in_process

#: Where each class lived before the move -> where it lives now.
MOVED = {
    "seqforge.tasks.forecast.ForecastTask": "seqforge_forecast.tasks.ForecastTask",
    "seqforge.data.series.TimeSeriesData": "seqforge_forecast.series.TimeSeriesData",
    "seqforge.tasks.forecast.RegressionTask": "seqforge_forecast.tasks.RegressionTask",
    "seqforge.data.series.SignalData": "seqforge_forecast.series.SignalData",
}
TINY = ["model.hidden_size=8", "trainer.max_steps=3", "trainer.enable_progress_bar=false", "task.plot=false"]


def backdate(checkpoint: Path) -> None:
    """Rewrite the stored config's task and data ``_target_`` to their pre-plugin paths, as an old release wrote them."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = state["seqforge"]["config"]
    old = {new: old for old, new in MOVED.items()}
    for key in ("task", "data"):
        config[key]["_target_"] = old[config[key]["_target_"]]
    torch.save(state, checkpoint)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["forecast", "regression"])
def test_a_checkpoint_naming_the_core_paths_still_evaluates(family: str, tmp_path: Path) -> None:
    if family == "forecast":
        rows = ["month,value"] + [
            f"{2000 + k // 12}-{k % 12 + 1:02d},{100 + 10 * math.sin(k / 2):.3f}" for k in range(60)
        ]
        (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
        overrides = [
            "task=forecast",
            "data=timeseries",
            f"data.path={tmp_path / 's.csv'}",
            "data.window=6",
            "data.horizon=2",
            *TINY,
        ]
        metric = "snaive_rmse"
    else:
        overrides = ["task=regression", "data=signal", "data.length=1200", "data.seq_len=12", "data.batch_size=4",
                     "data.eval_batch_size=2", "model.bidirectional=false", *TINY[:-1], "task.plot_steps=0"]
        metric = "r2"
    run_dir = tmp_path / "run"
    trained = run_seqforge_in_process("train", *overrides, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    backdate(checkpoint)
    assert "seqforge.tasks.forecast." in str(
        torch.load(checkpoint, map_location="cpu", weights_only=False)["seqforge"]["config"]["task"]
    )
    evaluated = run_seqforge_in_process("evaluate", f"ckpt={checkpoint}", "split=test", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert metric in evaluated.stdout
