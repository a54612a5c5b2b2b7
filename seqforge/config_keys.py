"""Dotted config keys: the nearest valid key for a misspelt one, and no ``+key`` inside typed nodes.

Hydra answers ``model.hiden_size=10`` with "to append to your config use
``+model.hiden_size=10``"; following that hint adds a key no code reads, and the
checkpoint then fails to load against the schema. Here a key that does not exist gets
the nearest one that does (``model.hidden_size``), and adding a key with ``+``/``++``
is refused wherever the node is typed (a dataclass: ``model``, ``trainer``, ``task``,
``data``, ``model.cell`` …). Untyped mappings (``callbacks``, ``optim.scheduler.kwargs``)
still take new keys.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqforge.errors import ConfigError
from seqforge.vendor_adapters import raw_child, wrap_override_application


def _typed(node: Any) -> type | None:
    """The dataclass behind a ``DictConfig`` node, or None for an untyped mapping."""
    if not isinstance(node, DictConfig):
        return None
    kind = OmegaConf.get_type(node)
    return kind if kind is not None and dataclasses.is_dataclass(kind) else None


def _child(node: Any, part: str) -> Any:
    if not isinstance(node, DictConfig) or part not in node:
        return None
    return raw_child(node, part)  # the raw child: no interpolation is resolved, a MISSING value does not raise


def nearest_key(cfg: Any, key: str) -> str | None:
    """The existing dotted key closest to ``key`` (each part matched against its parent's keys), or None."""
    node, found = cfg, []
    for part in key.split("."):
        if not isinstance(node, DictConfig):
            return None
        keys = [str(k) for k in node]
        if part not in keys:
            close = difflib.get_close_matches(part, keys, n=1, cutoff=0.6)
            if not close:
                return None
            part = close[0]
        found.append(part)
        node = _child(node, part)
    return ".".join(found) if found != key.split(".") else None


def nearest_key_hint(key: str, cfg: Any = None) -> str:
    """`` Did you mean `x`?`` for ``key`` (against ``cfg``, default the schema), or ``""``."""
    if cfg is None:
        from seqforge.config import SeqforgeConfig

        cfg = OmegaConf.structured(SeqforgeConfig)
    suggestion = nearest_key(cfg, key) if key else None
    return f" Did you mean `{suggestion}`?" if suggestion else ""


def _missing_part(cfg: Any, key: str) -> tuple[Any, str, str]:
    """``(parent node, parent path, first missing part)`` of ``key``; the part is ``""`` when the key exists."""
    node = cfg
    done: list[str] = []
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return node, ".".join(done), part
        done.append(part)
        node = _child(node, part)
    return node, key, ""


def _listing(node: Any) -> str:
    keys = sorted(str(k) for k in node if not str(k).startswith("_")) if isinstance(node, DictConfig) else []
    shown = ", ".join(keys[:25]) + (", …" if len(keys) > 25 else "")
    return f" Its keys: {shown}." if keys else ""


def unknown_key_message(cfg: Any, key: str, text: str) -> str | None:
    """The paragraph for an override ``text`` of a ``key`` that does not exist in ``cfg``; None if it exists."""
    parent, where, part = _missing_part(cfg, key)
    if not part:
        return None
    owner = f"`{where}`" if where else "the config"
    return f"`{text}`: {owner} has no key `{part}`.{_suggest(cfg, key, text)}{_listing(parent)}"


def _suggest(cfg: Any, key: str, text: str) -> str:
    """`` Did you mean `model.hidden_size=10`?`` (the override with the nearest key), or ``""``."""
    suggestion = nearest_key(cfg, key)
    if not suggestion:
        return ""
    _, sep, value = text.partition("=")
    return f" Did you mean `{suggestion}{sep}{value}`?"


def check_addition(cfg: Any, key: str, text: str) -> None:
    """Refuse ``+key``/``++key`` that would add a key to a typed node (nothing reads it; checkpoints would not load)."""
    parent, where, part = _missing_part(cfg, key)
    if not part:
        return  # the key exists: `++` overrides it
    typed = _typed(parent)
    if typed is None:
        return  # an untyped mapping (callbacks, scheduler kwargs): new keys are its purpose
    owner = f"`{where}`" if where else "the top level"
    raise ConfigError(
        f"`{text}` would add `{part}` to {owner}, which is typed ({typed.__name__}): no code reads a key added "
        "there, and the checkpoint of such a run could not be "
        f"loaded.{_suggest(cfg, key, text.lstrip('+'))}{_listing(parent)}"
    )


def check_override_key(cfg: Any, override: str) -> None:
    """Check one ``key=value`` / ``+key=value`` / ``~key`` word against ``cfg`` before it is applied.

    Raises:
        ConfigError: the key does not exist (with the nearest one), or ``+`` would add it to a typed node.
    """
    key = override.partition("=")[0]
    bare = key.lstrip("+~")
    if key.startswith("+"):
        return check_addition(cfg, bare, override)
    if key.startswith("~"):
        return  # deleting a key that is not there changes nothing (a stored callback may already be dropped)
    parent, _, part = _missing_part(cfg, bare)
    if part and _typed(parent) is not None:
        raise ConfigError(unknown_key_message(cfg, bare, override) or f"`{override}`: no such key.")


def install_override_checks() -> None:
    """Make Hydra's override step give seqforge's messages (nearest key; no ``+`` into typed nodes).

    Wraps Hydra's override step through :func:`seqforge.vendor_adapters.wrap_override_application`
    (a private API, hydra-core 1.3; the package pins ``<1.4``); idempotent. Hydra prints a
    ``ConfigCompositionException``
    as one paragraph without a traceback and exits 1.
    """
    wrap_override_application(_checked_overrides)


def _checked_overrides(apply: Callable[[list[Any], DictConfig], None]) -> Callable[[list[Any], DictConfig], None]:
    """Hydra's override step ``apply``, with seqforge's checks before it.

    A key that does not exist gets seqforge's message (the nearest key), not Hydra's.
    """
    from hydra.errors import ConfigCompositionException

    def checked(overrides: list[Any], cfg: DictConfig) -> None:
        for override in overrides:
            if (
                override.package is None
                and (override.is_add() or override.is_force_add())
                and not override.key_or_group.startswith("hydra.")
            ):
                try:
                    check_addition(cfg, override.key_or_group, override.input_line or override.key_or_group)
                except ConfigError as exc:
                    raise ConfigCompositionException(str(exc)) from None
        try:
            apply(overrides, cfg)
        except ConfigCompositionException as exc:
            override = next((o for o in overrides if o.input_line and f"'{o.key_or_group}'" in str(exc)), None)
            message = (
                unknown_key_message(cfg, override.key_or_group, override.input_line) if override is not None else None
            )
            if message is None or "To append to your config" not in str(exc):
                raise
            raise ConfigCompositionException(message) from None

    return checked
