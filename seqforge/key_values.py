"""``key=value`` command-line words parsed into a typed dataclass, for built-in and plugin commands.

Raises :class:`~seqforge.errors.UsageError` (the CLI exits with status 2), never
``SystemExit``, so plugin commands can use it and tests can call it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from seqforge.errors import UsageError


def parse_key_values(argv: Sequence[str], schema: type, command: str) -> tuple[Any, list[str]]:
    """``key=value`` words -> (typed ``schema`` instance, dotted config overrides such as ``data.path=...``).

    Args:
        argv: the command's words, e.g. ``["ckpt=runs/a", "topn=5", "data.path=x"]``.
        schema: a dataclass whose fields (all with defaults) are the command's arguments.
        command: the command's name, used in messages (``seqforge <command>``).

    Values are taken verbatim (``prompt="The "`` keeps its trailing space) and
    converted to the field's type by OmegaConf, whose errors name the key; ``null``
    gives None. A word without ``=`` or an unknown undotted key raises UsageError
    listing the known keys.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    known = {f.name for f in fields(schema)}
    values: dict[str, str] = {}
    overrides: list[str] = []
    for word in argv:
        key, sep, value = word.partition("=")
        if not sep:
            raise UsageError(f"`seqforge {command}` takes KEY=VALUE arguments; got '{word}'. Known keys: "
                             f"{', '.join(sorted(known))}.")
        if key in known:
            values[key] = value
        elif "." in key:
            overrides.append(word)
        else:
            raise UsageError(
                f"`seqforge {command}` has no argument '{key}'. Known: {', '.join(sorted(known))} (or dotted config "
                "keys such as data.path=...)."
            )
    try:
        typed = OmegaConf.merge(
            OmegaConf.structured(schema), {k: (None if v == "null" else v) for k, v in values.items()}
        )
    except OmegaConfBaseException as exc:
        raise UsageError(
            f"`seqforge {command}`: {str(exc).splitlines()[0]} (argument `{getattr(exc, 'full_key', '?')}`)."
        ) from None
    return OmegaConf.to_object(typed), overrides
