"""The pool of GPUs a sweep shares out, and how many of them one job takes.

A job's slice reaches it as ``CUDA_VISIBLE_DEVICES``; inside the job Lightning
then sees devices ``0..n-1`` and ``trainer.devices=n`` uses exactly the slice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from seqforge.errors import ConfigError

#: ``trainer.accelerator`` values whose jobs take devices from the GPU pool.
GPU_ACCELERATORS = ("gpu", "cuda", "auto")


def detect_pool(configured: Sequence[Any] | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """The GPU ids sweep jobs may use.

    ``hydra.launcher.devices=[...]`` if given; else the caller's ``CUDA_VISIBLE_DEVICES``
    (ids or UUIDs, kept verbatim so a job sees the same physical GPUs); else every GPU
    torch can see; an empty list on a machine without GPUs.
    """
    if configured is not None:
        pool = [str(d).strip() for d in configured]
        if any(not d for d in pool) or len(set(pool)) != len(pool):
            raise ConfigError(f"hydra.launcher.devices={list(configured)} must list distinct, non-empty device ids "
                              "(e.g. [0,1,2,3]).")
        return pool
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [d.strip() for d in visible.split(",") if d.strip()]
        # CUDA stops at the first invalid id ("-1" is the usual way to hide every GPU)
        return ids[: next((i for i, d in enumerate(ids) if d.startswith("-")), len(ids))]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def devices_per_job(accelerator: Any, devices: Any, pool_size: int, *, job: str) -> int:
    """How many pool devices a job with ``trainer.accelerator``/``trainer.devices`` takes (0: it runs on CPU).

    ``devices=-1``/``"auto"`` takes the whole pool. A list of device indices is refused:
    the launcher decides which GPUs a job gets, the job only says how many.
    """
    accelerator = str(accelerator).lower()
    if accelerator not in GPU_ACCELERATORS or (accelerator == "auto" and pool_size == 0):
        return 0
    if pool_size == 0:
        raise ConfigError(
            f"sweep job {job}: trainer.accelerator={accelerator} but the launcher's device pool is empty "
            "(CUDA_VISIBLE_DEVICES is empty or hides every GPU, and torch sees none). Set "
            "hydra.launcher.devices=[0,1,...] or use trainer.accelerator=cpu."
        )
    count: int | None = None
    if isinstance(devices, int) and not isinstance(devices, bool):
        count = devices
    elif isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        count = int(devices)
    elif isinstance(devices, str) and devices.strip() == "auto":
        count = -1
    if count is None:
        raise ConfigError(
            f"sweep job {job}: trainer.devices={devices!r} names device indices; under the seqforge launcher give a "
            f"count (e.g. trainer.devices=2) and the launcher assigns each job its GPUs from the pool {pool_size} "
            "device(s) wide."
        )
    if count == -1:
        return pool_size
    if count < 1:
        raise ConfigError(
            f"sweep job {job}: trainer.devices={count}; expected a positive count or -1 (the whole pool)."
        )
    if count > pool_size:
        raise ConfigError(
            f"sweep job {job}: trainer.devices={count} but the launcher's device pool has only {pool_size} device(s). "
            "Lower trainer.devices or widen the pool (CUDA_VISIBLE_DEVICES or hydra.launcher.devices=[...])."
        )
    return count
