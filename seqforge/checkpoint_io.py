"""Checkpoint writing that a kill cannot tear.

Lightning's default writer goes through an fsspec transaction whose temporary
file lives in the system temp dir; when that is another filesystem the final
move is a copy, and a kill during it leaves a truncated ``last.ckpt``. Here the
temporary file sits next to the target and ``os.replace`` swaps it in
atomically (POSIX rename), after an fsync.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that writes ``<name>.tmp`` in the same folder, then renames it over ``<name>``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options, got {storage_options!r}")
        target = Path(path)
        if "://" in str(path):  # remote storage: keep Lightning's behaviour
            return super().save_checkpoint(checkpoint, path, storage_options)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        try:
            with open(temporary, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        finally:
            if temporary.exists():
                temporary.unlink()
