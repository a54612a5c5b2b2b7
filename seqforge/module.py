"""The one LightningModule: generic glue between Lightning and a task.

Everything task-specific (loss, metrics, what state is carried between
batches) is the task's; this module handles what every task shares:
optimisers and schedulers, NaN detection, metric reduction across ranks
(torchmetrics), and the checkpoint payload that makes a checkpoint
self-describing (config, vocabulary, carried state, RNG state).
"""

from __future__ import annotations

from typing import Any, Optional

import lightning as L
import torch
from omegaconf import DictConfig
from torch import nn
from torchmetrics import SumMetric

from seqforge.build import as_plain
from seqforge.errors import ConfigError, SeqforgeError

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}
CHECKPOINT_KEY = "seqforge"
CHECKPOINT_FORMAT = 1


class SeqforgeModule(L.LightningModule):
    """Trains ``model`` on ``task`` as configured by ``cfg``.

    Args:
        cfg: the composed run config (kept in checkpoints as plain data).
        task: the task object (see :class:`seqforge.interfaces.Task`).
        data: the prepared data module (its vocabulary goes into checkpoints).
        model: the task's model.
    """

    def __init__(self, cfg: DictConfig, task: Any, data: Any, model: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        self.task = task
        self.data = data
        self.model = model
        self.stateful = bool(getattr(data.cfg, "stateful", False))
        # A task may update its parameters itself (word2vec's compiled kernels): it then gets the optimiser in training_step.
        self.automatic_optimization = bool(getattr(task, "automatic_optimization", True))
        self.sums = nn.ModuleDict(
            {stage: nn.ModuleDict({k: SumMetric() for k in task.metric_sums}) for stage in ("val", "test")}
        )
        self._carry: dict[str, Any] = {}
        self._texts: dict[str, list[Any]] = {"val": [], "test": []}
        self.last_metrics: dict[str, dict[str, float]] = {}

    # -- training -----------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loader = self.trainer.train_dataloader
        if hasattr(loader, "mark_consumed"):
            loader.mark_consumed(batch.index)  # for exact mid-epoch resume
        manual = {} if self.automatic_optimization else {"optimizer": self.optimizers()}
        loss, logs, self._carry["train"] = self.task.training_step(self.model, batch, self._carry.get("train"), stateful=self.stateful, **manual)
        if not torch.isfinite(loss):
            raise SeqforgeError(
                f"The training loss became {loss.item()} at step {self.global_step} (epoch {self.current_epoch}, batch "
                f"{batch_idx}); training stopped. The last good checkpoint is kept in the run's checkpoints/ folder. "
                "Lower optim.lr, set trainer.gradient_clip_val (e.g. 5), or check the data."
            )
        self.log_dict({f"train/{k}": v for k, v in logs.items()}, prog_bar=True, on_step=True, batch_size=batch.batch_size)
        return loss

    def on_train_epoch_start(self) -> None:
        if getattr(self.trainer.train_dataloader, "consumed", 0) == 0:
            self._carry.pop("train", None)

    # -- evaluation -----------------------------------------------------------
    def _eval_start(self, stage: str) -> None:
        self._carry.pop(stage, None)
        self._texts[stage] = []
        if hasattr(self.task, "begin_evaluation"):
            self.task.begin_evaluation(self.data, "valid" if stage == "val" else "test")

    def _eval_step(self, stage: str, batch: Any) -> None:
        sums, self._carry[stage] = self.task.evaluation_step(self.model, batch, self._carry.get(stage), stateful=self.stateful)
        self._texts[stage].extend(sums.pop("texts", ()))  # corpus-level metrics (BLEU) need the texts, not sums
        for key, value in sums.items():
            self.sums[stage][key].update(value)

    def _gathered_texts(self, stage: str) -> list[Any]:
        texts = self._texts[stage]
        if self.trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(gathered, texts)
            texts = [pair for rank_texts in gathered for pair in rank_texts]
        return texts

    def _eval_epoch_end(self, stage: str) -> None:
        totals = {key: float(metric.compute()) for key, metric in self.sums[stage].items()}  # reduced over ranks
        for metric in self.sums[stage].values():
            metric.reset()
        self._carry.pop(stage, None)
        texts = self._gathered_texts(stage)
        metrics = self.task.compute_metrics(totals, self.data, texts)
        self.last_metrics[stage] = metrics
        # Already reduced across ranks by torchmetrics; sync_dist averages identical values (a no-op) and keeps Lightning quiet.
        self.log_dict({f"{stage}/{k}": float(v) for k, v in metrics.items()}, prog_bar=(stage == "val"), sync_dist=True)

    def on_validation_epoch_start(self) -> None:
        self._eval_start("val")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step("val", batch)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def on_test_epoch_start(self) -> None:
        self._eval_start("test")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    # -- optimisation ---------------------------------------------------------
    def configure_optimizers(self) -> Any:
        if hasattr(self.task, "configure_optimizers"):  # a task with its own update rule (word2vec's SGD)
            return self.task.configure_optimizers(self.model)
        optim = self.cfg.optim
        if optim.name not in OPTIMIZERS:
            raise ConfigError(f"optim.name='{optim.name}' is not known; expected one of: {', '.join(OPTIMIZERS)}.")
        kwargs: dict[str, Any] = {"lr": optim.lr, "weight_decay": optim.weight_decay}
        if optim.name in ("sgd", "rmsprop"):
            kwargs["momentum"] = optim.momentum
        optimizer = OPTIMIZERS[optim.name](self.model.parameters(), **kwargs)
        scheduler_cfg = optim.scheduler
        if not scheduler_cfg.name:
            return optimizer
        scheduler_cls = getattr(torch.optim.lr_scheduler, scheduler_cfg.name, None)
        if scheduler_cls is None or not isinstance(scheduler_cls, type):
            raise ConfigError(
                f"optim.scheduler.name='{scheduler_cfg.name}' is not a class in torch.optim.lr_scheduler "
                "(e.g. MultiStepLR, StepLR, CosineAnnealingLR, ReduceLROnPlateau)."
            )
        if scheduler_cfg.interval not in ("epoch", "step"):
            raise ConfigError(f"optim.scheduler.interval must be 'epoch' or 'step', got '{scheduler_cfg.interval}'.")
        try:
            scheduler = scheduler_cls(optimizer, **as_plain(scheduler_cfg.kwargs))
        except TypeError as exc:
            raise ConfigError(f"optim.scheduler.kwargs do not fit {scheduler_cfg.name}: {exc}.") from None
        config = {"scheduler": scheduler, "interval": scheduler_cfg.interval}
        if scheduler_cls is torch.optim.lr_scheduler.ReduceLROnPlateau:
            config["monitor"] = self.cfg.checkpoint.monitor
        return {"optimizer": optimizer, "lr_scheduler": config}

    # -- checkpoints ----------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "config": as_plain(self.cfg),
            "data_state": self.data.state() if hasattr(self.data, "state") else None,
            "carry": self._carry.get("train"),
            "rng": torch.get_rng_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        payload: Optional[dict[str, Any]] = checkpoint.get(CHECKPOINT_KEY)
        if payload is None:
            return
        if payload.get("carry") is not None:
            self._carry["train"] = payload["carry"]
        if payload.get("rng") is not None:
            torch.set_rng_state(payload["rng"])
