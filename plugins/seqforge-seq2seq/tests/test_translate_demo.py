"""The dates demo learns: a short run already translates most held-out dates exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import compose_config

from seqforge.train import build_run, make_trainer

pytestmark = pytest.mark.slow


def test_a_short_demo_run_reaches_clear_exact_match(tmp_path: Path) -> None:
    """100 steps of the demo recipe (smaller data, hidden size 64, a higher learning rate) give >= 80% exact match on
    held-out dates"""
    # 100 steps at H=64 cost about a quarter of 250 at H=128 and still reach 0.93-0.99 with seed=0,1,2 (0.955 here)
    cfg = compose_config(
        [
            "experiment=translate_demo",
            "data.n_train=4000",
            "data.n_valid=100",
            "data.n_test=200",
            "model.hidden_size=64",
            "optim.lr=1e-2",
            "trainer.max_steps=100",
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
