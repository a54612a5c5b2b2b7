"""The one LightningModule: generic glue between Lightning and a task.

Everything task-specific (loss, metrics, what state is carried between
batches) is the task's; this module handles what every task shares:
optimisers and schedulers, NaN detection, metric reduction across ranks
(torchmetrics), truncated BPTT (``train.tbptt_steps``: manual optimisation, one
step per time chunk, for any task with ``split_time``), and the checkpoint
payload that makes a checkpoint self-describing (config, vocabulary, carried
state, RNG state).
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any, cast

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from omegaconf import DictConfig
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from torchmetrics import SumMetric

from seqforge.builders import as_plain
from seqforge.config import OPTIMISERS
from seqforge.coverage import split_coverage, with_coverage
from seqforge.errors import ConfigError, SeqforgeError
from seqforge.interfaces import (
    BeginsEvaluation,
    ConfiguresOptimizers,
    KnowsSequenceLength,
    ManuallyOptimised,
    ResumableLoaderLike,
    TimedBatch,
    TimeSplits,
)
from seqforge.recurrent.state import detach_state
from seqforge.vendor_adapters import is_last_batch

CHECKPOINT_KEY = "seqforge"
CHECKPOINT_FORMAT = 1


def make_optimizer(optim: Any, parameters: Any) -> torch.optim.Optimizer:
    """The ``torch.optim`` class of ``optim.name``'s row in the optimiser table, with ``optim``'s values."""
    row = OPTIMISERS.get(optim.name)
    if row is None:
        raise ConfigError(f"optim.name='{optim.name}' is not known; expected one of: {', '.join(OPTIMISERS)}.")
    kwargs: dict[str, Any] = {"lr": optim.lr, "weight_decay": optim.weight_decay}
    if row.momentum is not None:
        kwargs["momentum"] = optim.momentum
    optimizer: torch.optim.Optimizer = getattr(torch.optim, row.torch_class)(parameters, **kwargs)
    return optimizer


def _time_steps(chunk: Any) -> int:
    """How many time steps a chunk holds (to weight its logs); 1 if the batch does not say."""
    return int(chunk.time_steps) if isinstance(chunk, TimedBatch) else 1


class SeqforgeModule(L.LightningModule):
    """Trains ``model`` on ``task`` as configured by ``cfg``.

    Args:
        cfg: the composed run config (kept in checkpoints as plain data).
        task: the task object (see :class:`seqforge.interfaces.Task`).
        data: the prepared data module (its vocabulary goes into checkpoints).
        model: the task's model.
    """

    #: Size and hash of every data file, by config key (seqforge.data.fingerprint): set by a training run, kept in its
    #: checkpoints so that a resume notices edited data.
    data_fingerprint: dict[str, dict[str, Any]]

    def __init__(self, cfg: DictConfig, task: Any, data: Any, model: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        self.task = task
        self.data = data
        self.model = model
        self.stateful = bool(getattr(data.cfg, "stateful", False))
        # A task may update its parameters itself (word2vec's compiled kernels): it then gets the optimiser in
        # training_step.
        self.automatic_optimization = not isinstance(task, ManuallyOptimised) or bool(task.automatic_optimization)
        self.sums = nn.ModuleDict(
            {stage: nn.ModuleDict({k: SumMetric() for k in task.metric_sums}) for stage in ("val", "test")}
        )
        self._carry: dict[str, Any] = {}
        self._texts: dict[str, list[Any]] = {"val": [], "test": []}
        self.last_metrics: dict[str, dict[str, float]] = {}
        train_cfg = cfg.get("train") or {}
        self.tbptt_steps: int | None = train_cfg.get("tbptt_steps")
        if self.tbptt_steps is not None:
            self._enable_truncated_bptt(self.tbptt_steps)

    def _enable_truncated_bptt(self, steps: int) -> None:
        if steps < 1:
            raise ConfigError(
                "train.tbptt_steps must be a positive number of time steps per chunk (or null for full "
                f"backpropagation through time), got {steps}."
            )
        if not isinstance(self.task, TimeSplits):
            raise ConfigError(
                f"train.tbptt_steps={steps} needs a task whose batches can be cut along time, but "
                f"{type(self.task).__name__} has no `split_time(batch, steps)` hook. Unset train.tbptt_steps for this "
                "task."
            )
        # the error before training
        length = self.data.sequence_length if isinstance(self.data, KnowsSequenceLength) else None
        if length is not None and steps > length:
            key = self.data.sequence_length_key
            raise ConfigError(
                f"train.tbptt_steps={steps} is larger than the training sequences, which have {length} time "
                f"steps ({key}). Use train.tbptt_steps between 1 and {length}, or longer sequences."
            )
        trainer = self.cfg.trainer
        if (trainer.get("accumulate_grad_batches") or 1) != 1:
            raise ConfigError(
                "train.tbptt_steps takes one optimiser step per chunk, so trainer.accumulate_grad_batches must be 1 "
                f"(got {trainer.accumulate_grad_batches})."
            )
        self.automatic_optimization = False  # Lightning 2.x has no truncated BPTT: the chunks are stepped by hand
        # Lightning refuses gradient_clip_val under manual optimisation
        self.clip_val = trainer.get("gradient_clip_val")
        self.clip_algorithm = trainer.get("gradient_clip_algorithm")

    # -- training -----------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        loader = self.trainer.train_dataloader
        if isinstance(loader, ResumableLoaderLike):
            # for exact mid-epoch resume (a stream batch says which one)
            loader.mark_consumed(getattr(batch, "index", None))
        if self.tbptt_steps is not None:
            return self._truncated_bptt_step(batch, batch_idx)
        # a task that updates parameters itself
        manual = {} if self.automatic_optimization else {"optimizer": self.optimizers()}
        loss: torch.Tensor  # the Task contract's (loss, logs, carry)
        loss, logs, carry = self.task.training_step(
            self.model, batch, self._carry.get("train"), stateful=self.stateful, **manual
        )
        self._carry["train"] = carry if self.stateful else None
        self._check_finite(loss, batch_idx)
        self.log_dict(
            {f"train/{k}": v for k, v in logs.items()}, prog_bar=True, on_step=True, batch_size=batch.batch_size
        )
        return loss

    def _check_finite(self, loss: torch.Tensor, batch_idx: int, chunk: int | None = None) -> None:
        if not torch.isfinite(loss):
            from seqforge.run_checks import kept_checkpoint_words

            where = f"batch {batch_idx}" + (f", truncated-BPTT chunk {chunk}" if chunk is not None else "")
            raise SeqforgeError(
                f"The training loss became {loss.item()} at step {self.global_step} (epoch {self.current_epoch}, "
                f"{where}); training stopped. {kept_checkpoint_words(self.trainer)} "
                "Lower optim.lr, set trainer.gradient_clip_val (e.g. 5), or check the data."
            )

    def _truncated_bptt_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        """One optimiser step per chunk of ``train.tbptt_steps`` time steps, the detached state carried between chunks.

        Manual optimisation (Lightning 2.x has no truncated BPTT), so this does what
        Lightning's automatic loop would: clipping (``trainer.gradient_clip_val``),
        step-interval LR schedulers (once per optimiser step), and stopping at
        ``trainer.max_steps`` (which counts optimiser steps, i.e. chunks).
        """
        # one optimiser: a list only when several are configured
        optimizer = cast(LightningOptimizer, self.optimizers())
        chunks = list(self.task.split_time(batch, self.tbptt_steps))
        n_chunks = self._chunks_on_every_rank(len(chunks))
        carry = self._carry.get("train")  # None at the start of an epoch and for data that is not stateful
        sums: dict[str, torch.Tensor] = {}
        weight = 0
        for index in range(n_chunks):
            if 0 <= self.trainer.max_steps <= self.global_step:
                break  # max_steps counts optimiser steps; the rest of this batch is not trained on
            if index < len(chunks):
                loss, logs, carry = self.task.training_step(self.model, chunks[index], carry, stateful=True)
                self._check_finite(loss, batch_idx, index)
                carry = detach_state(carry)  # the truncation: no gradient flows into an earlier chunk
                size = _time_steps(chunks[index])
                for key, value in logs.items():
                    sums[key] = sums.get(key, 0.0) + value.detach() * size
                weight += size
            else:  # this rank has fewer chunks than another: a zero-gradient step keeps DDP's collectives in lockstep
                loss = sum(p.sum() for p in self.model.parameters() if p.requires_grad) * 0.0
            optimizer.zero_grad()
            self.manual_backward(loss)
            # a LightningOptimizer subclasses the optimiser it wraps at run time (its __init__ swaps __class__)
            self.clip_gradients(
                cast(torch.optim.Optimizer, optimizer),
                gradient_clip_val=self.clip_val,
                gradient_clip_algorithm=self.clip_algorithm,
            )
            optimizer.step()
            self._step_schedulers("step")
        self._carry["train"] = carry if self.stateful else None
        if weight:
            means = {key: value / weight for key, value in sums.items()}  # per-chunk logs weighted by chunk length
            self.log_dict(
                {f"train/{k}": v for k, v in means.items()}, prog_bar=True, on_step=True, batch_size=batch.batch_size
            )
            return means.get("loss")
        return None

    def _chunks_on_every_rank(self, count: int) -> int:
        """The largest chunk count over DDP ranks.

        Every rank must take as many backward/optimiser steps, or DDP hangs.
        """
        if self.trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            total = torch.tensor([count], device=self.device)
            torch.distributed.all_reduce(total, op=torch.distributed.ReduceOp.MAX)
            return int(total.item())
        return count

    def _step_schedulers(self, interval: str) -> None:
        """LR schedulers under manual optimisation, as Lightning steps them automatically otherwise."""
        for config in self.trainer.lr_scheduler_configs:
            if config.interval != interval:
                continue
            count = self.global_step if interval == "step" else self.current_epoch + 1
            if count % config.frequency:
                continue
            if config.reduce_on_plateau:
                monitor = config.monitor  # never None here: Lightning refuses a plateau scheduler without one
                value = self.trainer.callback_metrics.get(monitor) if monitor is not None else None
                if value is None:
                    continue  # no validation yet: as Lightning, wait for the metric
                # Lightning's reduce_on_plateau flag says which kind of scheduler this is
                cast(ReduceLROnPlateau, config.scheduler).step(float(value))
            else:
                # typed as the base class: torch's ReduceLROnPlateau (a subclass) changed step()'s signature
                scheduler: LRScheduler = config.scheduler
                scheduler.step()

    def on_train_epoch_start(self) -> None:
        loader = self.trainer.train_dataloader
        consumed = loader.consumed if isinstance(loader, ResumableLoaderLike) else 0
        if not 0 < consumed < (len(loader) if isinstance(loader, Sized) else consumed + 1):
            self._carry.pop("train", None)  # a new epoch starts fresh; a run resumed mid-epoch keeps its restored carry

    def on_train_epoch_end(self) -> None:
        # As Lightning: epoch-interval schedulers step after a complete epoch, not when max_steps stops one midway.
        if self.tbptt_steps is not None and is_last_batch(self.trainer):
            self._step_schedulers("epoch")

    # -- evaluation -----------------------------------------------------------
    def _eval_start(self, stage: str) -> None:
        self._carry.pop(stage, None)
        self._texts[stage] = []
        if isinstance(self.task, BeginsEvaluation):
            self.task.begin_evaluation(self.data, "valid" if stage == "val" else "test")

    def _eval_step(self, stage: str, batch: Any) -> None:
        sums, carry = self.task.evaluation_step(self.model, batch, self._carry.get(stage), stateful=self.stateful)
        self._carry[stage] = carry if self.stateful else None
        self._texts[stage].extend(sums.pop("texts", ()))  # corpus-level metrics (BLEU) need the texts, not sums
        metrics = self._sums(stage)
        for key, value in sums.items():
            metrics[key].update(value)

    def _sums(self, stage: str) -> dict[str, SumMetric]:
        """``stage``'s metric sums by name (``self.sums`` is a ModuleDict per stage of SumMetrics)."""
        stage_sums = cast(nn.ModuleDict, self.sums[stage])
        return {key: cast(SumMetric, metric) for key, metric in stage_sums.items()}

    def _gathered_texts(self, stage: str) -> list[Any]:
        texts = self._texts[stage]
        if self.trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(gathered, texts)
            texts = [pair for rank_texts in gathered for pair in rank_texts]
        return texts

    def _eval_epoch_end(self, stage: str) -> None:
        totals = {key: float(metric.compute()) for key, metric in self._sums(stage).items()}  # reduced over ranks
        for metric in self._sums(stage).values():
            metric.reset()
        self._carry.pop(stage, None)
        texts = self._gathered_texts(stage)
        metrics = self.task.compute_metrics(totals, self.data, texts)
        # limit_*_batches shown beside it
        self.last_metrics[stage] = with_coverage(metrics, split_coverage(self.trainer, stage))
        # Already reduced across ranks by torchmetrics; sync_dist averages identical values (a no-op) and keeps
        # Lightning quiet.
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
        if isinstance(self.task, ConfiguresOptimizers):  # a task with its own update rule (word2vec's SGD)
            return self.task.configure_optimizers(self.model)
        optim = self.cfg.optim
        optimizer = make_optimizer(optim, self.model.parameters())
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
            "data_state": self.data.state(),  # the DataModule contract (seqforge.interfaces)
            "data_fingerprint": getattr(self, "data_fingerprint", None),  # size + hash per data file, checked on resume
            "carry": self._carry.get("train"),
            "rng": torch.get_rng_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        payload: dict[str, Any] | None = checkpoint.get(CHECKPOINT_KEY)
        if payload is None:
            return
        if payload.get("carry") is not None:
            self._carry["train"] = payload["carry"]
        if payload.get("rng") is not None:
            torch.set_rng_state(payload["rng"])
