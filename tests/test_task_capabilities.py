"""A Task's optional hooks are runtime_checkable Protocols: the core sees a capability exactly when the methods are
there."""

from __future__ import annotations

from typing import Any

import pytest

from seqforge.errors import ConfigError
from seqforge.interfaces import (
    TASK_CAPABILITIES,
    Generates,
    Predicts,
    TimeSplits,
    Translates,
    capabilities,
)
from seqforge.testing import task_capabilities


class Plain:
    """The required Task methods only."""

    metric_sums = ("nll",)

    def build_data(self, cfg: Any, *, state: Any = None) -> Any: ...
    def build_model(self, cfg: Any, data: Any) -> Any: ...
    def training_step(self, model: Any, batch: Any, carry: Any, *, stateful: bool) -> Any: ...
    def evaluation_step(self, model: Any, batch: Any, carry: Any, *, stateful: bool) -> Any: ...
    def compute_metrics(self, sums: Any, data: Any, texts: Any = ()) -> Any: ...


class Classifier(Plain):
    def predict(self, model: Any, data: Any, lines: Any, batch_size: int) -> Any: ...
    def begin_evaluation(self, data: Any, split: str) -> None: ...


class OwnUpdates(Plain):
    automatic_optimization = False

    def configure_optimizers(self, model: Any) -> Any: ...


def test_the_language_model_splits_time_generates_and_reports() -> None:
    """The core's reference task: truncated BPTT, `seqforge generate`, samples after training"""
    assert task_capabilities("lm") == ["Generates", "Reports", "TimeSplits"]


def test_a_task_with_only_the_required_methods_has_no_capability() -> None:
    assert capabilities(Plain()) == []


def test_capabilities_follow_the_methods_a_task_defines() -> None:
    assert capabilities(Classifier()) == ["BeginsEvaluation", "Predicts"]
    assert isinstance(Classifier(), Predicts) and not isinstance(Classifier(), (Generates, Translates, TimeSplits))
    assert capabilities(OwnUpdates()) == ["ConfiguresOptimizers", "ManuallyOptimised"]


def test_every_capability_is_exported_by_the_public_api() -> None:
    import seqforge.api as api

    assert {p.__name__ for p in TASK_CAPABILITIES} <= set(api.__all__)
    assert all(getattr(api, p.__name__) is p for p in TASK_CAPABILITIES)


def test_tbptt_needs_a_task_that_splits_time() -> None:
    """train.tbptt_steps on a task without split_time is refused by name before training"""
    from omegaconf import OmegaConf
    from torch import nn

    from seqforge.module import SeqforgeModule

    cfg = OmegaConf.create({"train": {"tbptt_steps": 4}, "trainer": {}})
    data = type("Data", (), {"cfg": OmegaConf.create({})})()
    with pytest.raises(ConfigError, match=r"Plain has no `split_time\(batch, steps\)` hook"):
        SeqforgeModule(cfg, Plain(), data, nn.Linear(1, 1))


def test_a_manual_task_switches_lightning_to_manual_optimisation() -> None:
    from omegaconf import OmegaConf
    from torch import nn

    from seqforge.module import SeqforgeModule

    cfg = OmegaConf.create({"train": {}, "trainer": {}})
    data = type("Data", (), {"cfg": OmegaConf.create({})})()
    assert SeqforgeModule(cfg, OwnUpdates(), data, nn.Linear(1, 1)).automatic_optimization is False
    assert SeqforgeModule(cfg, Classifier(), data, nn.Linear(1, 1)).automatic_optimization is True


def test_the_task_protocol_contract_names_what_a_data_module_lacks() -> None:
    """check_task's `protocol` contract refuses a data module the core cannot checkpoint or describe, naming the missing
    members"""
    from types import SimpleNamespace

    from seqforge.testing import Broken
    from seqforge.testing._contracts import Subject
    from seqforge.testing.modules import task_protocol

    class NoState:
        cfg = None

        def prepare(self) -> Any: ...
        def train_dataloader(self) -> Any: ...
        def val_dataloader(self) -> Any: ...
        def test_dataloader(self) -> Any: ...

    subject = Subject(
        "task", "'plain'", build=lambda **_: None, options={"run": SimpleNamespace(task=Plain(), data=NoState())}
    )
    with pytest.raises(Broken, match=r"build_data returned a NoState without state, describe \(the DataModule "
                                     r"contract\)"):
        task_protocol.run(subject)
