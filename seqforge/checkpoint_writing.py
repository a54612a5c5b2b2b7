"""Checkpoint writing that a kill cannot tear.

Lightning's default writer goes through an fsspec transaction whose temporary
file lives in the system temp dir; when that is another filesystem the final
move is a copy, and a kill during it leaves a truncated ``last.ckpt``. Here the
temporary file sits next to the target and ``os.replace`` swaps it in
atomically (POSIX rename), after an fsync. A write that fails (full disk,
read-only file system) leaves the previous file as it was and stops the run
with a message saying so, instead of torch's ``inline_container.cc`` error.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from seqforge.run_dir import RunDirError, checkpoint_write_message


def _is_write_failure(exc: BaseException) -> bool:
    """An OS error, or torch's zip writer reporting one (``PytorchStreamWriter failed writing file``,
    ``inline_container.cc``)."""
    if isinstance(exc, OSError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("inline_container", "PytorchStreamWriter", "file write failed")
    )


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that writes ``<name>.tmp`` in the same folder, then renames it over ``<name>``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options, got {storage_options!r}")
        target = Path(path)
        if "://" in str(path):  # remote storage: keep Lightning's behaviour
            return super().save_checkpoint(checkpoint, path, storage_options)
        temporary = target.with_name(target.name + ".tmp")
        existed = target.is_file()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except (OSError, RuntimeError) as exc:
            if not _is_write_failure(exc):
                raise
            step = checkpoint.get("global_step") if isinstance(checkpoint, dict) else None
            raise RunDirError(checkpoint_write_message(target, exc, step=step, existed=existed)) from None
        finally:
            with contextlib.suppress(OSError):
                if temporary.exists():
                    temporary.unlink()
