"""Loading a trained run from a checkpoint or run directory, for commands (built-in or a plugin's) that apply it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqforge.errors import ConfigError

if TYPE_CHECKING:
    from seqforge.module import SeqforgeModule

Overrides = Sequence[str] | Mapping[str, Any] | None


def _as_config(overrides: Overrides, key: str) -> Any:
    """``["data.path=x", ...]`` or ``{"data": {"path": "x"}}`` as a DictConfig (None if there are none)."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if overrides is None or isinstance(overrides, DictConfig):
        return overrides
    if isinstance(overrides, (str, bytes)):
        raise TypeError("load_run overrides: expected a list of 'key=value' strings or a mapping, got the string "
                        f"{overrides!r}")
    if not overrides:
        return None
    try:
        if isinstance(overrides, Mapping):
            return OmegaConf.create(dict(overrides))
        return OmegaConf.from_dotlist(list(overrides))
    except OmegaConfBaseException as exc:
        raise ConfigError(f"Cannot read the override(s) for the run `{key}`: {str(exc).splitlines()[0]}.") from None


def load_run(
    path: str | Path, overrides: Overrides = None, *, key: str = "ckpt", command: str = "evaluate"
) -> SeqforgeModule:
    """The trained run at ``path`` (a ``.ckpt`` file or a run directory), rebuilt and ready to apply.

    Args:
        path: a checkpoint, or a run directory (its ``checkpoints/last.ckpt``).
        overrides: dotted config changes, as ``["data.path=...", ...]`` or a nested mapping (as
            ``seqforge evaluate data.path=...`` applies them); a key that does not fit raises ConfigError naming it.
        key: the argument that gave ``path``, named in messages (``ckpt`` for ``ckpt=...``).
        command: the command loading it, named in messages (``seqforge <command>``).

    Returns:
        The run's module: ``.task``, ``.model`` and ``.data`` as trained.

    The file is loaded with ``weights_only=True`` and its stored config may only
    build components the installed registry provides (a checkpoint is data, never
    code); anything else raises a :class:`~seqforge.errors.SeqforgeError` naming the file.
    """
    from seqforge.checkpoint_loading import load_checkpoint, resolve_checkpoint
    from seqforge.train import restore

    ckpt = resolve_checkpoint(str(path), key=key)
    config = _as_config(overrides, f"{key}={path}")
    return restore(load_checkpoint(ckpt, key=key), config, source=f"`{key}={ckpt}`", command=command)
