"""The dates demo learns: a short run already translates most held-out dates exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import compose_config

from seqforge.train import build_run, make_trainer

pytestmark = pytest.mark.slow


def test_a_short_demo_run_reaches_clear_exact_match(tmp_path: Path) -> None:
    """250 steps of the demo recipe (smaller data) give >= 80% exact match on held-out dates"""
    cfg = compose_config(
        [
            "experiment=translate_demo",
            "data.n_train=4000",
            "data.n_valid=100",
            "data.n_test=200",
            "trainer.max_steps=250",
            "trainer.val_check_interval=1000",
            "trainer.enable_progress_bar=false",
            "logger=none",
            "task.heatmaps=0",
            "trainer.enable_model_summary=false",
        ]
    )
    module = build_run(cfg)
    trainer = make_trainer(cfg, tmp_path, task=module.task)
    trainer.fit(module, datamodule=module.data)
    trainer.test(module, datamodule=module.data, verbose=False)
    assert module.last_metrics["test"]["exact_match"] >= 0.8, module.last_metrics
