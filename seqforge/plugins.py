"""Plugin discovery and loading (pluggy + the ``seqforge`` entry-point group).

Loading is isolated per plugin: one that fails to import, raises inside
``seqforge_register`` or registers a duplicate name is reported on stderr by
name and skipped with all of its registrations; every other plugin still loads.

Environment:
    ``SEQFORGE_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry points (tests, or a
    controlled environment); register plugins explicitly with :func:`load_plugins`.
    ``SEQFORGE_PLUGINS=a,b`` — allow-list of entry-point names (or distribution
    names) to load; everything else installed is ignored.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Iterable, Optional

import pluggy

from seqforge import hookspecs
from seqforge.registry import Provider, Registry

ENTRY_POINT_GROUP = "seqforge"
DISABLE_AUTOLOAD_ENV = "SEQFORGE_DISABLE_PLUGIN_AUTOLOAD"
ALLOW_LIST_ENV = "SEQFORGE_PLUGINS"


@dataclass
class PluginFailure:
    """A plugin that could not be loaded, and why (one line)."""

    provider: Provider
    reason: str


@dataclass
class LoadedPlugins:
    """The result of loading: the registry plus what loaded and what failed."""

    registry: Registry
    manager: pluggy.PluginManager
    providers: list[Provider] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _allowed(ep: EntryPoint, allow: Optional[set[str]]) -> bool:
    if allow is None:
        return True
    dist = ep.dist.metadata["Name"] if ep.dist is not None else None
    return ep.name in allow or (dist is not None and dist in allow)


def _provider_for(ep: EntryPoint) -> Provider:
    if ep.dist is None:
        return Provider(ep.name)
    return Provider(ep.name, ep.dist.metadata["Name"], ep.dist.version)


def discover_entry_points() -> list[EntryPoint]:
    """Entry points of the ``seqforge`` group that the environment allows loading."""
    if _truthy(os.environ.get(DISABLE_AUTOLOAD_ENV)):
        return []
    raw_allow = os.environ.get(ALLOW_LIST_ENV)
    allow = {name.strip() for name in raw_allow.split(",") if name.strip()} if raw_allow is not None else None
    seen: set[str] = set()
    found = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen or not _allowed(ep, allow):
            continue  # the same distribution can be visible twice on sys.path
        seen.add(ep.name)
        found.append(ep)
    return found


def _report(failure: PluginFailure) -> None:
    print(f"seqforge: skipped {failure.provider}: {failure.reason}", file=sys.stderr)


def load_plugins(
    extra: Iterable[tuple[str, Any]] = (),
    *,
    registry: Optional[Registry] = None,
    autoload: bool = True,
    report: bool = True,
) -> LoadedPlugins:
    """Load plugins into a fresh registry.

    Args:
        extra: ``(name, plugin)`` pairs registered in addition to entry points
            (tests, or an application embedding seqforge).
        registry: the registry to fill; a new one (storing Hydra configs) if None.
        autoload: also load the ``seqforge`` entry points (still subject to the
            environment variables in the module docstring).
        report: print each failure on stderr.
    """
    registry = registry if registry is not None else Registry()
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    result = LoadedPlugins(registry, manager)

    candidates: list[tuple[Provider, Any]] = []
    for ep in discover_entry_points() if autoload else []:
        provider = _provider_for(ep)
        try:
            candidates.append((provider, ep.load()))
        except Exception as exc:  # noqa: BLE001 - any import error is the plugin's, not ours
            result.failures.append(PluginFailure(provider, f"import failed: {type(exc).__name__}: {exc}"))
    candidates += [(Provider(name), plugin) for name, plugin in extra]

    for provider, plugin in candidates:
        try:
            manager.register(plugin, name=provider.plugin)
        except ValueError as exc:
            result.failures.append(PluginFailure(provider, str(exc)))
            continue
        except pluggy.PluginValidationError as exc:
            result.failures.append(PluginFailure(provider, f"invalid hook implementation: {exc}"))
            continue
        registry.begin(provider)
        try:
            for impl in manager.hook.seqforge_register.get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(registry=registry)
        except Exception as exc:  # noqa: BLE001 - isolate the broken plugin
            registry.rollback()
            manager.unregister(plugin)
            result.failures.append(PluginFailure(provider, f"registration failed: {type(exc).__name__}: {exc}"))
            continue
        registry.commit()
        result.providers.append(provider)

    if report:
        for failure in result.failures:
            _report(failure)
    return result


_loaded: Optional[LoadedPlugins] = None


def get_plugins() -> LoadedPlugins:
    """The process-wide loaded plugins (loaded on first use)."""
    global _loaded
    if _loaded is None:
        _loaded = load_plugins()
    return _loaded


def get_registry() -> Registry:
    """The process-wide registry of every installed plugin's components."""
    return get_plugins().registry
