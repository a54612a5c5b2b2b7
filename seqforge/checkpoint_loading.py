"""Finding and safely loading seqforge checkpoints."""

from __future__ import annotations

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
        raise SeqforgeError(
            f"`{key}={path}`: no such file or directory. Give a .ckpt file or a seqforge run directory."
        )
    return candidate


def _reason(exc: Exception) -> str:
    """``: <first line>`` of a load error, or nothing when it says nothing useful (``KeyError: 101``)."""
    text = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else ""
    if isinstance(exc, KeyError) or len(text) < 8:
        return ""
    return f" ({text[:200]})"


def load_checkpoint(path: Path, *, key: str = "ckpt") -> dict[str, Any]:
    """Load with ``weights_only=True`` (no arbitrary code from the file) and check it is seqforge's."""
    import torch

    from seqforge.module import CHECKPOINT_KEY

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError as exc:
        raise SeqforgeError(f"`{key}={path}` cannot be read: {exc.strerror}. Check the file's permissions.") from None
    except Exception as exc:  # noqa: BLE001 - a text file, a torn copy, a pickle with code: KeyError, OSError, Unpickling...
        raise SeqforgeError(
            f"`{key}={path}` is not a readable seqforge checkpoint: torch.load(weights_only=True) failed with "
            f"{type(exc).__name__}{_reason(exc)}. It is truncated (an interrupted copy or download), not a PyTorch "
            "file (a text file renamed .ckpt), or holds pickled objects other than tensors and plain containers, which "
            "seqforge never runs. Use a .ckpt written by `seqforge train` (a run's checkpoints/last.ckpt or best.ckpt)."
        ) from None
    if not isinstance(checkpoint, dict) or CHECKPOINT_KEY not in checkpoint or "state_dict" not in checkpoint:
        raise SeqforgeError(
            f"`{key}={path}` is a PyTorch file but not a seqforge checkpoint (no '{CHECKPOINT_KEY}' entry with the "
            "run's config). Use a .ckpt written by `seqforge train`."
        )
    return checkpoint
