"""Finding and safely loading seqforge checkpoints."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

from seqforge.errors import SeqforgeError

CHECKPOINT_DIR = "checkpoints"


def resolve_checkpoint(path: str, *, key: str = "ckpt") -> Path:
    """A checkpoint file from a file path or a run directory (its ``checkpoints/last.ckpt``)."""
    candidate = Path(path).expanduser()
    if candidate.is_dir():
        for name in ("last.ckpt", "best.ckpt"):
            if (candidate / CHECKPOINT_DIR / name).is_file():
                return candidate / CHECKPOINT_DIR / name
            if (candidate / name).is_file():
                return candidate / name
        raise SeqforgeError(
            f"`{key}={path}` is a directory without a checkpoint: expected {candidate / CHECKPOINT_DIR / 'last.ckpt'} "
            "(a seqforge run directory) or a .ckpt file."
        )
    if not candidate.is_file():
        raise SeqforgeError(f"`{key}={path}`: no such file or directory. Give a .ckpt file or a seqforge run directory.")
    return candidate


def load_checkpoint(path: Path, *, key: str = "ckpt") -> dict[str, Any]:
    """Load with ``weights_only=True`` (no arbitrary code from the file) and check it is seqforge's."""
    import torch

    from seqforge.module import CHECKPOINT_KEY

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        raise SeqforgeError(
            f"`{key}={path}` could not be loaded as a checkpoint ({type(exc).__name__} with torch.load(weights_only=True)): "
            "it is truncated, not a PyTorch file, or holds pickled objects other than tensors and plain containers. "
            "Use a .ckpt written by `seqforge train`."
        ) from None
    if not isinstance(checkpoint, dict) or CHECKPOINT_KEY not in checkpoint or "state_dict" not in checkpoint:
        raise SeqforgeError(
            f"`{key}={path}` is a PyTorch file but not a seqforge checkpoint (no '{CHECKPOINT_KEY}' entry with the run's "
            "config). Use a .ckpt written by `seqforge train`."
        )
    return checkpoint
