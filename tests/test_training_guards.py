"""Training stops cleanly on a non-finite loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, write_corpus
from compose_helpers import compose_config

from seqforge.errors import SeqforgeError
from seqforge.train import build_run, make_trainer


@pytest.mark.requires_plugins("rnn")
def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    """A NaN at step 3 raises a message naming step 3; last.ckpt is step 3's finite weights"""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=3000)
    cfg = compose_config([f"data.path={corpus}", "trainer.max_steps=10", "checkpoint.every_n_train_steps=1",
                          "trainer.val_check_interval=100", "logger=none", *TINY])
    module = build_run(cfg)
    healthy = module.task.training_step

    def poisoned(model, batch, carry, *, stateful):
        loss, logs, carry = healthy(model, batch, carry, stateful=stateful)
        return (loss * float("nan") if module.global_step >= 3 else loss), logs, carry

    module.task.training_step = poisoned
    trainer = make_trainer(cfg, tmp_path)
    with pytest.raises(SeqforgeError, match=r"became nan at step 3 .*last good checkpoint"):
        trainer.fit(module, datamodule=module.data)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 3
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values())
