"""task.eval_teacher_forcing: validation/test loss of a model fed its own predictions (bentrevett's evaluate_fn)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from compose_helpers import compose_config

from seqforge.api import PAD_ID, ConfigError
from seqforge.train import build_run


def _module(*overrides: str):
    cfg = compose_config([
        "experiment=translate_demo", "data.n_train=64", "data.n_valid=16", "data.n_test=16", "model.hidden_size=16",
        "model.embedding_dim=8", "data.eval_batch_size=16", *overrides,
    ])
    module = build_run(cfg)
    module.model.eval()
    module.task.begin_evaluation(module.data, "valid")
    return module, next(iter(module.data.val_dataloader()))


def _nll_per_token(sums) -> float:
    return (sums["nll"] / sums["tokens"]).item()


def test_free_running_validation_loss_is_the_loss_of_the_models_own_greedy_inputs() -> None:
    """eval_teacher_forcing=0: the loss equals the model run with teacher_forcing=0, not the teacher-forced loss"""
    module, batch = _module("task.eval_teacher_forcing=0.0")
    sums, _ = module.task.evaluation_step(module.model, batch, None, stateful=False)
    with torch.no_grad():
        own, _ = module.model(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing=0.0)  # (B, T, V)
        forced, _ = module.model(batch.src, batch.src_lengths, batch.tgt_in)
    expected = F.cross_entropy(own.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum")
    torch.testing.assert_close(sums["nll"], expected)
    teacher_forced = F.cross_entropy(forced.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID).item()
    assert abs(_nll_per_token(sums) - teacher_forced) > 1e-4


def test_teacher_forced_validation_stays_the_default() -> None:
    """Without the key, validation loss is the teacher-forced loss, as before"""
    module, batch = _module()
    assert module.task.eval_teacher_forcing == 1.0
    sums, _ = module.task.evaluation_step(module.model, batch, None, stateful=False)
    with torch.no_grad():
        forced, _ = module.model(batch.src, batch.src_lengths, batch.tgt_in)
    expected = F.cross_entropy(forced.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum")
    torch.testing.assert_close(sums["nll"], expected)


def test_partial_eval_teacher_forcing_gives_the_same_loss_at_every_validation() -> None:
    """0 < eval_teacher_forcing < 1 flips its coins from a fixed generator: two validations agree exactly"""
    module, batch = _module("task.eval_teacher_forcing=0.5")
    first, _ = module.task.evaluation_step(module.model, batch, None, stateful=False)
    torch.rand(7)  # the global RNG moves between validations, as training would move it
    second, _ = module.task.evaluation_step(module.model, batch, None, stateful=False)
    assert first["nll"].item() == second["nll"].item()


def test_an_out_of_range_eval_teacher_forcing_names_the_key() -> None:
    """task.eval_teacher_forcing=1.5 is refused, naming the key"""
    with pytest.raises(ConfigError, match=r"task\.eval_teacher_forcing"):
        _module("task.eval_teacher_forcing=1.5")
