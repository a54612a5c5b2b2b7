"""A checkpoint's stored config, made safe to build: a checkpoint is data, never code.

``torch.load(weights_only=True)`` stops pickled code, but building a run from a
checkpoint instantiates whatever ``_target_`` its stored config names — so a crafted
``task: {_target_: builtins.open, _args_: [file, w]}`` would empty a file on
``seqforge evaluate``. Before anything is built, the stored config is therefore
checked here:

* every ``_target_`` (at any depth, in lists too) must be one the *installed
  registry* provides — at ``task``, ``data``, ``model.cell`` … of that slot's kind —
  or, for ``callbacks.<name>`` when resuming, one of :data:`CALLBACK_TARGETS`;
* Hydra's other instantiation keys (``_args_``, ``_partial_``, ``_recursive_``,
  ``_convert_``) are refused: seqforge never stores them;
* a target a component had in an earlier release (``formerly=`` at registration) is
  replaced by its current one, so checkpoints survive a plugin moving its classes;
* interpolations (``${oc.env:...}``, ``${oc.create:...}``) are made inert: checkpoints
  store resolved values, so a ``${`` in one is kept as literal text, never resolved;
* stored ``callbacks`` are dropped unless the command resumes training.

Target strings are compared before anything is imported: importing a module is
itself running code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from seqforge.errors import ConfigError

#: Lightning callbacks a resumed run may rebuild from its checkpoint besides registered components: they only
#: read metrics and stop or log (no file paths, no code). A user's own callback is re-added on the command line.
CALLBACK_TARGETS = frozenset({
    "lightning.pytorch.callbacks.EarlyStopping",
    "lightning.pytorch.callbacks.early_stopping.EarlyStopping",
    "lightning.pytorch.callbacks.LearningRateMonitor",
    "lightning.pytorch.callbacks.lr_monitor.LearningRateMonitor",
})

#: Hydra keys that change how a target is called; seqforge never writes them into a checkpoint.
_CALL_KEYS = ("_args_", "_partial_", "_recursive_", "_convert_")

# : Backslashes directly before ``${`` (OmegaConf's escape: ``\${`` is a literal ``${``, ``\\`` a literal backslash
# there).
_INTERPOLATION = re.compile(r"(\\*)\$\{")


def inert(text: str) -> str:
    """``text`` escaped so that OmegaConf reads it back as exactly ``text``, never as an interpolation."""
    return _INTERPOLATION.sub(lambda m: "\\" * (2 * len(m.group(1))) + "\\${", text)


def slot_kinds() -> dict[str, str]:
    """Config path -> the component kind it holds (``model.cell`` -> ``cell``)."""
    from seqforge.registry import KIND_GROUPS

    return {group.replace("/", "."): kind for kind, group in KIND_GROUPS.items()}


def registered_targets(registry: Any) -> dict[str, set[str]]:
    """Import path -> the kinds it is registered as, for every component of ``registry`` (former paths included)."""
    targets: dict[str, set[str]] = {}
    for component in registry:
        for path in (component.target, *component.formerly):
            targets.setdefault(path, set()).add(component.kind)
    return targets


def moved_targets(registry: Any) -> dict[str, str]:
    """A former import path (``Component.formerly``) -> the component's current one."""
    return {path: component.target for component in registry for path in component.formerly}


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Checker:
    def __init__(self, registry: Any, source: str, *, resuming: bool) -> None:
        self.targets = registered_targets(registry)
        self.moved = moved_targets(registry)
        self.slots = slot_kinds()
        self.source = source
        self.resuming = resuming

    def refuse(self, where: str, problem: str) -> ConfigError:
        return ConfigError(
            f"The checkpoint {self.source} is refused: its stored config key `{where}` {problem} A checkpoint is data, "
            "not code: seqforge builds from it only components that installed plugins register (`seqforge plugins "
            "list`). Nothing was built or written. If `seqforge train` wrote this checkpoint with a plugin that is "
            "not installed here, install that plugin; otherwise do not use this file."
        )

    def walk(self, node: Any, parts: tuple[Any, ...]) -> Any:
        """A copy of ``node`` with interpolations made inert; raises at the first target that is not allowed."""
        if isinstance(node, dict):
            where = _path(parts)
            for key in _CALL_KEYS:
                if key in node:
                    raise self.refuse(f"{where}.{key}" if where else key, f"sets Hydra's `{key}`, which seqforge never "
                                                                          "stores.")
            if "_target_" in node:
                self.check_target(node["_target_"], where, parts)
                # a component that moved
                node = {**node, "_target_": self.moved.get(node["_target_"], node["_target_"])}
            return {key: self.walk(value, (*parts, key)) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return [self.walk(value, (*parts, index)) for index, value in enumerate(node)]
        if isinstance(node, str):
            return inert(node)
        return node

    def check_target(self, target: Any, where: str, parts: tuple[Any, ...]) -> None:
        if not isinstance(target, str):
            raise self.refuse(f"{where}._target_", f"is {type(target).__name__} {target!r}, not a component's import "
                                                   "path.")
        kinds = self.targets.get(target, set())
        expected = self.slots.get(where)
        if expected is not None:
            if expected not in kinds:
                provided = f" (it is registered as a {'/'.join(sorted(kinds))}, not a {expected})" if kinds else ""
                raise self.refuse(f"{where}._target_", f"names `{target}`, which no installed plugin registers as a "
                                                       f"{expected}{provided}.")
            return
        if len(parts) == 2 and parts[0] == "callbacks" and self.resuming and target in CALLBACK_TARGETS:
            return
        if not kinds:
            extra = (
                " Stored callbacks are rebuilt only for `resume=`, and only "
                f"{', '.join(sorted(CALLBACK_TARGETS)[::2])} or registered components; drop it with `~{where}` (and "
                "give your own on the command line if you trust it)."
                if parts and parts[0] == "callbacks" else ""
            )
            raise self.refuse(f"{where}._target_", f"names `{target}`, which is not a registered component.{extra}")


def safe_stored_config(
    stored: Any,
    *,
    source: str,
    registry: Any = None,
    resuming: bool = False,
    replaced_callbacks: Iterable[str] = (),
) -> dict[str, Any]:
    """The plain config a checkpoint stored, checked and made inert (see the module docstring).

    Args:
        stored: ``checkpoint["seqforge"]["config"]`` as loaded with ``weights_only=True``.
        source: how to name the checkpoint in messages (its path, and the argument it came from).
        registry: the installed registry (default: :func:`seqforge.plugin_manager.get_plugins`'s).
        resuming: ``seqforge train resume=``: stored ``callbacks`` are kept (and checked); otherwise they are dropped,
            because evaluating or decoding never runs training callbacks.
        replaced_callbacks: callback names the user deletes or replaces on the command line; their stored nodes are
            dropped unchecked (``~callbacks.killer``).

    Raises:
        ConfigError: a target that is not allowed, a Hydra call key, or a config that is not a mapping.
    """
    if registry is None:
        from seqforge.plugin_manager import get_plugins

        registry = get_plugins().registry
    if not isinstance(stored, dict):
        raise ConfigError(f"The checkpoint {source} stores a config of type {type(stored).__name__}, not a mapping; it "
                          "was not written by `seqforge train`.")
    stored = dict(stored)
    callbacks = stored.get("callbacks")
    if not resuming:
        stored["callbacks"] = {}
    elif isinstance(callbacks, dict):
        replaced = set(replaced_callbacks)
        stored["callbacks"] = {name: node for name, node in callbacks.items() if name not in replaced}
    checker = _Checker(registry, source, resuming=resuming)
    plain: dict[str, Any] = checker.walk(stored, ())
    for where, kind in checker.slots.items():
        value: Any = plain
        for part in where.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if (value is None and where not in ("task", "data")) or (isinstance(value, dict) and "_target_" in value):
            continue
        shown = repr(value) if len(repr(value)) < 80 else repr(value)[:77] + "..."
        raise checker.refuse(where, f"is {shown}, not a {kind} component (a mapping with a registered `_target_`).")
    return plain


def replaced_callbacks(overrides: Iterable[str]) -> set[str]:
    """Callback names whose whole node a command-line override deletes (``~callbacks.x``) or sets
    (``callbacks.x={...}``)."""
    names: set[str] = set()
    for override in overrides:
        key, sep, _ = override.partition("=")
        parts = key.lstrip("+~").split(".")
        if len(parts) == 2 and parts[0] == "callbacks" and (key.startswith("~") or sep):
            names.add(parts[1])
    return names


def stored_run_config(
    checkpoint: dict[str, Any], *, source: str, resuming: bool = False, overrides: Iterable[str] = (),
) -> Any:
    """The run config of a loaded checkpoint as a typed ``DictConfig`` (schema merged), safe to build.

    Keys that the schema does not know inside typed nodes (added with ``+key=value`` by an earlier seqforge, which
    nothing read) are dropped with a note, so such a checkpoint still loads. ``overrides`` are the command line's
    words; only their callback names are used here (see :func:`replaced_callbacks`).

    Raises:
        ConfigError: the stored config is refused (see :func:`safe_stored_config`) or does not fit the schema.
    """
    import sys

    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

    from seqforge.config import SeqforgeConfig
    from seqforge.module import CHECKPOINT_KEY

    plain = safe_stored_config(
        checkpoint[CHECKPOINT_KEY]["config"],
        source=source,
        resuming=resuming,
        replaced_callbacks=replaced_callbacks(overrides),
    )
    dropped: list[str] = []
    while True:
        try:
            cfg = OmegaConf.merge(OmegaConf.structured(SeqforgeConfig), plain)
            break
        except ConfigKeyError as exc:
            key = getattr(exc, "full_key", None) or ""
            if len(dropped) >= 50 or not _drop(plain, key):
                raise ConfigError(_mismatch(source, exc)) from None
            dropped.append(key)
        except OmegaConfBaseException as exc:
            raise ConfigError(_mismatch(source, exc)) from None
    if dropped:
        print(f"seqforge: ignored key(s) {', '.join(dropped)} of the checkpoint's config: this seqforge's schema has "
              "no such key (added with `+key=value`?), so nothing read it during training.", file=sys.stderr)
    return cfg


def _drop(plain: dict[str, Any], key: str) -> bool:
    """Delete the dotted ``key`` from the nested dicts ``plain``; False if it is not there."""
    *parents, leaf = key.split(".")
    node: Any = plain
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node:
        return False
    del node[leaf]
    return True


def _mismatch(source: str, exc: Exception) -> str:
    key = getattr(exc, "full_key", None) or "?"
    return (
        f"The checkpoint {source} stores a config that does not fit this seqforge's schema at key `{key}`: "
        f"{str(exc).splitlines()[0]}. It was written by another seqforge version or edited; load it with the version "
        "that wrote it, or retrain."
    )


def apply_overrides(cfg: Any, overrides: Any, *, command: str) -> Any:
    """``cfg`` merged with a command's dotted overrides (a ``DictConfig``).

    An unknown key is refused with the nearest valid one.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from seqforge.config_keys import unknown_key_message

    if overrides is None:
        return cfg
    try:
        return OmegaConf.merge(cfg, overrides)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        value = OmegaConf.select(overrides, key, default="…") if key else "…"
        message = unknown_key_message(cfg, key, f"{key}={value}") if key else None
        raise ConfigError(
            f"`seqforge {command}`: " + (message or f"the override of `{key or '?'}` does not fit the config: "
                                                    f"{str(exc).splitlines()[0]}.")
        ) from None
