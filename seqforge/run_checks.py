"""Values a training run cannot use, refused before anything is built — one paragraph naming the key.

The schema checks types when the config is composed; these are the values of the
right type that Lightning or torch would refuse later with a traceback (a negative
``trainer.max_steps``, a negative ``optim.lr``) or that this machine cannot run
(``trainer.accelerator=gpu`` without a GPU).
"""

from __future__ import annotations

import math
from typing import Any

from seqforge.errors import ConfigError

#: ``trainer.accelerator`` values and the backends that can serve them.
_BACKENDS = {"gpu": ("cuda", "mps"), "cuda": ("cuda",), "mps": ("mps",), "tpu": ("tpu",)}


def _available(backend: str) -> bool:
    from lightning.pytorch.accelerators import AcceleratorRegistry

    try:
        return bool(type(AcceleratorRegistry.get(backend)).is_available())
    except Exception:  # noqa: BLE001 - an accelerator whose probe fails is not available
        return False


def check_accelerator(value: Any) -> None:
    """``trainer.accelerator`` must name an accelerator this machine has (``auto`` always works)."""
    name = str(value).lower()
    if name not in _BACKENDS or any(_available(backend) for backend in _BACKENDS[name]):
        return  # cpu, auto, or an accelerator object/name Lightning judges itself
    raise ConfigError(
        f"trainer.accelerator={value}: this machine has no {name.upper() if name != 'gpu' else 'GPU'} that torch can "
        f"use (checked {', '.join(_BACKENDS[name])}). Use trainer.accelerator=cpu, or trainer.accelerator=auto to take "
        "whatever is available."
    )


def check_training_config(cfg: Any) -> None:
    """Refuse ``trainer.*`` and ``optim.*`` values that would fail later with a traceback.

    Raises:
        ConfigError: naming the key, the value and what is expected.
    """
    trainer = cfg.trainer
    max_steps = trainer.get("max_steps")
    if max_steps is not None and max_steps < -1:
        raise ConfigError(
            f"trainer.max_steps={max_steps}: expected a number of optimiser steps >= 0, or -1 for no step limit "
            "(trainer.max_epochs then ends the run)."
        )
    max_epochs = trainer.get("max_epochs")
    if max_epochs is not None and max_epochs < -1:
        raise ConfigError(f"trainer.max_epochs={max_epochs}: expected a number of epochs >= 0, -1 (no limit) or null.")
    for key in ("accumulate_grad_batches", "num_nodes"):
        value = trainer.get(key)
        if value is not None and value < 1:
            raise ConfigError(f"trainer.{key}={value}: expected a positive integer.")
    clip = trainer.get("gradient_clip_val")
    if clip is not None and (not math.isfinite(clip) or clip < 0):
        raise ConfigError(f"trainer.gradient_clip_val={clip}: expected a norm >= 0 (e.g. 5), or null for no clipping.")
    check_accelerator(trainer.get("accelerator", "auto"))
    optim = cfg.get("optim")
    if optim is None:
        return
    for key, what in (("lr", "learning rate"), ("weight_decay", "weight decay"), ("momentum", "momentum")):
        value = optim.get(key)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ConfigError(f"optim.{key}={value}: the {what} must be a finite number >= 0 (e.g. optim.lr=1e-3).")


def checkpoints_line(folder: Any, steps: int) -> str:
    """The closing line about checkpoints: where they are, or why there are none (``trainer.max_steps=0``)."""
    from pathlib import Path

    files = sorted(p.name for p in Path(folder).glob("*.ckpt")) if Path(folder).is_dir() else []
    if files:
        return f"Checkpoints: {folder} ({', '.join(files)})"
    return (
        f"No checkpoint was written: the run took {steps} training step(s) (trainer.max_steps=0 or an empty training "
        "split), so there is nothing to evaluate or resume."
    )


def kept_checkpoint_words(trainer: Any) -> str:
    """What a run stopped by a non-finite loss leaves to resume from: its ``last.ckpt``, or nothing yet."""
    from pathlib import Path

    for callback in getattr(trainer, "checkpoint_callbacks", None) or ():
        dirpath = getattr(callback, "dirpath", None)
        if dirpath and (Path(dirpath) / "last.ckpt").is_file():
            return f"The last good checkpoint is kept: {Path(dirpath) / 'last.ckpt'}."
    return (
        "No checkpoint had been written yet (`last.ckpt` is saved every checkpoint.every_n_train_steps steps), "
        "so there is none to resume from."
    )
