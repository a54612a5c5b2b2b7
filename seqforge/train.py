"""Lightning glue: build the trainer from ``trainer.*``, fit, test, report.

Outputs go to the Hydra run directory (``hydra.job.chdir`` stays false):
``checkpoints/last.ckpt`` (refreshed every ``checkpoint.every_n_train_steps``
and at the end, written to a temporary file and renamed, so a kill never
leaves a torn ``last``), ``checkpoints/best.ckpt``
(by ``checkpoint.monitor``), ``csv/metrics.csv``, ``config.yaml`` (the effective config).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from seqforge.builders import as_plain, instantiate
from seqforge.checkpoint_loading import CHECKPOINT_DIR, load_checkpoint
from seqforge.checkpoint_safety import apply_overrides, stored_run_config
from seqforge.checkpoint_writing import AtomicCheckpointIO
from seqforge.data.fingerprint import ACCEPT_KEY, check_unchanged, fingerprint
from seqforge.errors import ConfigError
from seqforge.initialisation import initialise
from seqforge.interfaces import ManuallyOptimised, ProvidesCallbacks, Reports
from seqforge.interrupts import RunInterrupted, StopOnSignal
from seqforge.metrics_table import print_metrics
from seqforge.module import CHECKPOINT_KEY, SeqforgeModule
from seqforge.precision import check_precision, flushing_denormals
from seqforge.run_checks import check_accelerator, check_training_config, checkpoints_line
from seqforge.run_dir import claim, disk_errors, release
from seqforge.vendor_adapters import every_n_train_steps, is_last_batch, save_checkpoints_now, save_last_checkpoint

# Lightning-internal deprecation noise that users cannot act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
# Truncated BPTT saves after the whole batch (all its chunks) has been stepped, which is the state we want.
warnings.filterwarnings("ignore", message=r"Using ModelCheckpoint with manual optimization and every_n_train_steps")


def build_run(cfg: DictConfig, *, data_state: Any = None) -> SeqforgeModule:
    """Task, data and model for ``cfg`` (seeded, so a resumed run rebuilds the same model).

    ``data_state`` is what a checkpoint saved of the data (vocabularies), so a
    restored model sees the same token ids it was trained with.
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    task = instantiate(cfg.task, "task")
    data = task.build_data(cfg, state=data_state)
    if data_state is None:
        data.prepare()  # training: read the data and learn vocabularies before sizing the model
    # restoring: vocabularies come from the checkpoint; data files are read only if evaluation asks (setup)
    model = task.build_model(cfg, data)
    initialise(model, cfg.model)  # model.init_range / model.init_std (pretrained embedding rows are kept)
    return SeqforgeModule(cfg, task, data, model)


def restore(
    checkpoint: dict[str, Any], overrides: DictConfig | None = None, *, source: str = "given", command: str = "evaluate"
) -> SeqforgeModule:
    """Rebuild a trained run from a checkpoint loaded by :func:`seqforge.checkpoint_loading.load_checkpoint`.

    Only targets the installed registry provides are built (see :mod:`seqforge.checkpoint_safety`).
    """
    payload = checkpoint[CHECKPOINT_KEY]
    cfg = apply_overrides(stored_run_config(checkpoint, source=source), overrides, command=command)
    cfg.model.embedding.pretrained = None  # the checkpoint holds the trained embedding; the vectors file is not needed
    cfg.model.embedding.target_pretrained = None
    module = build_run(cfg, data_state=payload.get("data_state"))
    module.load_state_dict(checkpoint["state_dict"])
    return module


class StepCheckpoint(ModelCheckpoint):
    """``last.ckpt`` every ``every_n_train_steps`` optimiser steps and at the end of training.

    Lightning saves only when ``global_step`` is a multiple of the interval at a
    batch end; with k chunks per batch (truncated BPTT) it would skip most saves, so
    this saves at the end of every batch during which a multiple was reached. A run
    that stops at ``max_steps`` between two multiples also saves its final state.
    """

    _step_at_batch_start = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self._step_at_batch_start = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if pl_module.automatic_optimization:
            return super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        every = every_n_train_steps(self)
        if every < 1 or trainer.global_step // every == self._step_at_batch_start // every:
            return
        save_checkpoints_now(self, trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if self.save_last and not trainer.sanity_checking:
            save_last_checkpoint(self, trainer)


class ValidateAtEnd(L.Callback):
    """Validate at the last training step when the schedule (``trainer.val_check_interval``) would not.

    A run shorter than the validation interval, or one whose last step falls between
    two validations, would otherwise end without its final validation metrics,
    ``best.ckpt``, the task's validation plots and a sweep objective. Requesting a stop
    at the last step makes Lightning validate there, as it does for early stopping; a
    step that is on the schedule anyway is validated once.
    """

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if trainer.should_stop or not trainer.enable_validation:
            return
        last_step = trainer.max_steps >= 0 and trainer.global_step >= trainer.max_steps
        max_epochs = trainer.max_epochs
        last_epoch = (max_epochs is not None and max_epochs >= 0 and trainer.current_epoch + 1 >= max_epochs
                      and is_last_batch(trainer))
        if last_step or last_epoch:
            trainer.should_stop = True


def _callbacks(cfg: DictConfig, run_dir: Path, task_callbacks: list[L.Callback]) -> list[L.Callback]:
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar

    ckpt_dir = run_dir / CHECKPOINT_DIR
    callbacks: list[L.Callback] = [
        StepCheckpoint(
            dirpath=ckpt_dir,
            filename="step-{step}",
            save_top_k=0,
            save_last=True,
            # always last.ckpt: a resume that changes checkpoint.* is a new callback state to Lightning, which would
            # otherwise write last-v1.ckpt and leave `resume=<dir>` the stale last.ckpt
            enable_version_counter=False,
            every_n_train_steps=cfg.checkpoint.every_n_train_steps,
            save_on_train_epoch_end=True,
        ),
        ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="best",
            monitor=cfg.checkpoint.monitor,
            mode=cfg.checkpoint.mode,
            save_top_k=1,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        ),
        ValidateAtEnd(),
    ]
    if cfg.trainer.enable_progress_bar:
        # Rich in a terminal; in logs/CI a tqdm bar that refreshes rarely, so output stays readable.
        callbacks.append(RichProgressBar() if sys.stdout.isatty() else TQDMProgressBar(refresh_rate=50))
    callbacks += task_callbacks
    for name, node in (cfg.callbacks or {}).items():
        callbacks.append(instantiate(node, f"callbacks.{name}"))
    return callbacks


def _log_version(run_dir: Path, resuming: bool) -> str:
    """``""`` for a new run; ``resumed-<k>`` when resuming, so the interrupted run's logs are kept."""
    if not resuming:
        return ""
    k = 1
    while (run_dir / "csv" / f"resumed-{k}").exists():
        k += 1
    return f"resumed-{k}"


def _logger(cfg: DictConfig, run_dir: Path, version: str) -> Any:
    """CSV always; TensorBoard too with ``logger=tensorboard``, or with ``logger=auto`` when it is installed."""
    import importlib.util

    from lightning.pytorch.loggers import CSVLogger

    if cfg.logger not in ("auto", "csv", "tensorboard", "none"):
        raise ConfigError(f"logger must be auto, csv, tensorboard or none, got '{cfg.logger}'.")
    if cfg.logger == "none":
        return False
    loggers: list[Any] = [CSVLogger(run_dir, name="csv", version=version)]
    has_tensorboard = importlib.util.find_spec("tensorboard") is not None
    if cfg.logger == "tensorboard" or (cfg.logger == "auto" and has_tensorboard):
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(run_dir, name="tensorboard", version=version))
    return loggers


def make_trainer(
    cfg: DictConfig,
    run_dir: Path,
    *,
    task: Any = None,
    for_fit: bool = True,
    resuming: bool = False,
    extra_callbacks: Sequence[L.Callback] = (),
) -> L.Trainer:
    """``lightning.Trainer(**cfg.trainer)`` plus seqforge's callbacks (and the task's, and ``extra_callbacks``) and
    logger."""
    kwargs = as_plain(cfg.trainer)
    # updates its parameters itself (word2vec's kernels)
    manual_task = isinstance(task, ManuallyOptimised) and not task.automatic_optimization
    if manual_task or (cfg.get("train") or {}).get("tbptt_steps") is not None:
        # Manual optimisation: Lightning refuses these arguments then; truncated BPTT clips in the module, and a
        # task that updates its parameters itself has no gradients to clip.
        kwargs.pop("gradient_clip_val", None)
        kwargs.pop("gradient_clip_algorithm", None)
    if for_fit:
        logger = _logger(cfg, run_dir, _log_version(run_dir, resuming))
        return L.Trainer(
            **kwargs,
            default_root_dir=str(run_dir),
            logger=logger,
            callbacks=[
                *_callbacks(cfg, run_dir, task.callbacks(run_dir) if isinstance(task, ProvidesCallbacks) else []),
                *extra_callbacks,
            ],
            plugins=[AtomicCheckpointIO()],
        )
    for key in (
        "max_epochs",
        "max_steps",
        "max_time",
        "gradient_clip_val",
        "gradient_clip_algorithm",
        "accumulate_grad_batches",
        "val_check_interval",
        "check_val_every_n_epoch",
        "num_sanity_val_steps",
        "limit_train_batches",
        "strategy",
        "devices",
        "num_nodes",
    ):
        kwargs.pop(key, None)
    kwargs["enable_progress_bar"] = False
    return L.Trainer(**kwargs, default_root_dir=str(run_dir), logger=False, enable_checkpointing=False, devices=1)


def run_training(cfg: DictConfig, run_dir: Path, *, ckpt_path: Path | None = None) -> dict[str, dict[str, float]]:
    """Fit (optionally resuming from ``ckpt_path``), then test; print and return the metrics.

    The run directory is claimed first (:func:`seqforge.run_dir.claim`: writable, locked,
    not holding another run), and SIGTERM/SIGINT stop training at a step boundary with
    a fresh ``last.ckpt`` (:class:`seqforge.interrupts.StopOnSignal`, which raises
    :class:`~seqforge.interrupts.RunInterrupted`). Resuming keeps the vocabularies (data
    state) saved in the checkpoint and refuses data files that changed since (see
    :mod:`seqforge.data.fingerprint`).
    """
    check_precision(cfg)  # before anything is built: a precision that cannot train here is refused with the reason
    check_training_config(cfg)  # values Lightning/torch would refuse with a traceback, named by key
    claimed = claim(run_dir, resuming=ckpt_path is not None, overwrite=bool(cfg.get("overwrite", False)))
    stopper = StopOnSignal(run_dir)
    stopper.install()
    try:
        with disk_errors(run_dir), flushing_denormals(bool((cfg.get("train") or {}).get("flush_denormal", False))):
            return _fit_and_test(cfg, run_dir, ckpt_path, stopper)
    finally:
        stopper.uninstall()
        if claimed:
            release(run_dir)


def _fit_and_test(
    cfg: DictConfig, run_dir: Path, ckpt_path: Path | None, stopper: StopOnSignal
) -> dict[str, dict[str, float]]:
    saved = load_checkpoint(ckpt_path, key="resume")[CHECKPOINT_KEY] if ckpt_path is not None else {}
    module = build_run(cfg, data_state=saved.get("data_state"))
    module.data_fingerprint = fingerprint(module.data)
    if ckpt_path is not None:
        for change in check_unchanged(
            saved.get("data_fingerprint"), module.data_fingerprint, accept=cfg.accept_data_change
        ):
            print(f"seqforge: {ACCEPT_KEY}=true: {change}; the checkpoint's vocabularies are kept.")
        cfg.accept_data_change = False  # accepted once, for this change: a later resume checks against the new files
        module.data.prepare()  # the current files, encoded with the saved vocabularies
    trainer = make_trainer(cfg, run_dir, task=module.task, resuming=ckpt_path is not None, extra_callbacks=[stopper])
    if trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        print(f"seqforge: {type(module.task).__name__} | {module.data.describe()} | parameters "
              f"{sum(p.numel() for p in module.model.parameters()):,}")
    try:
        trainer.fit(module, datamodule=module.data, ckpt_path=str(ckpt_path) if ckpt_path else None, weights_only=True)
    except RunInterrupted:
        _write_result(cfg, trainer, module, run_dir)
        raise
    if trainer.interrupted:
        _write_result(cfg, trainer, module, run_dir)
        return module.last_metrics
    if cfg.test_after_fit:
        trainer.test(module, datamodule=module.data, verbose=False)
    _write_result(cfg, trainer, module, run_dir)
    if trainer.is_global_zero:
        print(f"\nRun directory: {run_dir}")
        print_metrics(module.last_metrics)
        if isinstance(module.task, Reports):
            module.task.report(module)
        print(checkpoints_line(run_dir / CHECKPOINT_DIR, trainer.global_step))
    return module.last_metrics


def _write_result(cfg: DictConfig, trainer: L.Trainer, module: SeqforgeModule, run_dir: Path) -> None:
    """``result.json`` (rank 0): what a sweep launcher running this job in its own process reports and optimises."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from seqforge.results import make_result, write_result

    if not trainer.is_global_zero:
        return
    monitored = [
        c
        for c in trainer.checkpoint_callbacks
        if isinstance(c, ModelCheckpoint) and c.monitor == cfg.checkpoint.monitor
    ]
    score = monitored[0].best_model_score if monitored else None
    write_result(run_dir, make_result(
        monitor=cfg.checkpoint.monitor, mode=cfg.checkpoint.mode, best=None if score is None else float(score),
        final=module.last_metrics, step=trainer.global_step, interrupted=trainer.interrupted,
    ))


def evaluate_checkpoint(
    checkpoint_path: Path, splits: list[str], overrides: DictConfig | None = None
) -> dict[str, dict[str, float]]:
    """Metrics of a checkpoint on the given splits (``valid``, ``test``)."""
    module = restore(load_checkpoint(checkpoint_path), overrides, source=f"`ckpt={checkpoint_path}`")
    check_accelerator(module.cfg.trainer.accelerator)
    trainer = make_trainer(module.cfg, checkpoint_path.parent, for_fit=False)
    for split in splits:
        if split == "valid":
            trainer.validate(module, datamodule=module.data, verbose=False)
        else:
            trainer.test(module, datamodule=module.data, verbose=False)
    return module.last_metrics
