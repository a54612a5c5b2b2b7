"""Plugin discovery and loading (pluggy + the ``seqforge`` entry-point group).

Loading is isolated per plugin: one that fails to import, raises inside
``seqforge_register`` or registers a name its own distribution or seqforge's
core already has is reported on stderr by name and skipped with all of its
registrations; every other plugin still loads. Plugins load in a fixed order —
seqforge's own first, then by entry-point name — so a third-party plugin can
never take the core's components down. Two *distributions* registering the same
name both load: each component keeps its qualified name (``seqforge-rnn:lstm``)
and the plain name is refused at use, naming both (see :mod:`seqforge.registry`),
so which one a run gets never depends on the order.

Versions: a plugin module declares the plugin API it targets as
``SEQFORGE_PLUGIN_API = "MAJOR.MINOR"`` (a plain module attribute, so it is
read without calling any hook). It is loaded when the major equals
:data:`seqforge.PLUGIN_API_VERSION`'s and its minor is not newer; otherwise it
is skipped naming both versions. A plugin that declares nothing is loaded (and
flagged by ``seqforge plugins check``).

Environment:
    ``SEQFORGE_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry points (tests, or a
    controlled environment); register plugins explicitly with :func:`load_plugins`.
    ``SEQFORGE_PLUGINS=a,b`` — allow-list of entry-point names (or distribution
    names, compared as pip does: case, ``-``/``_``/``.`` ignored) to load;
    everything else installed is ignored. A name that matches nothing is reported.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from seqforge import hookspecs
from seqforge.registry import Provider, Registry, normalize_distribution

ENTRY_POINT_GROUP = "seqforge"
#: The plugin-module attribute that declares the plugin API version a plugin targets.
API_ATTRIBUTE = "SEQFORGE_PLUGIN_API"
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


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _normalize(name: str) -> str:
    """A distribution name as pip compares it (PEP 503): ``Seqforge_RNN`` == ``seqforge-rnn``."""
    return normalize_distribution(name)


def distribution_name(ep: EntryPoint) -> str | None:
    """The name of the distribution that installed ``ep`` (None for an entry point without one)."""
    return ep.dist.metadata["Name"] if ep.dist is not None else None


def _allow_list() -> set[str] | None:
    raw = os.environ.get(ALLOW_LIST_ENV)
    return {name.strip() for name in raw.split(",") if name.strip()} if raw is not None else None


def entry_point_matches(ep: EntryPoint, wanted: str) -> bool:
    """True if ``wanted`` names ``ep``: its entry-point name or its distribution (compared as pip does)."""
    dist = distribution_name(ep)
    return ep.name == wanted or (dist is not None and _normalize(dist) == _normalize(wanted))


def _allowed(ep: EntryPoint, allow: set[str] | None) -> bool:
    return allow is None or any(entry_point_matches(ep, wanted) for wanted in allow)


def provider_for(ep: EntryPoint) -> Provider:
    """Who ``ep`` is, for messages and provenance: entry-point name, distribution and version."""
    if ep.dist is None:
        return Provider(ep.name)
    return Provider(ep.name, ep.dist.metadata["Name"], ep.dist.version)


def installed_entry_points() -> list[EntryPoint]:
    """Every ``seqforge`` entry point, once (the same distribution can be visible twice on sys.path)."""
    seen: set[tuple[str, str, str]] = set()
    found = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, distribution_name(e) or "")):
        key = (ep.name, ep.value, _normalize(distribution_name(ep) or ""))
        if key not in seen:
            seen.add(key)
            found.append(ep)
    return found


def _load_order(ep: EntryPoint) -> tuple[bool, str, str]:
    """seqforge's own entry points first, then by entry-point name: a third-party plugin that
    registers a name the core already has is the one rejected, whatever it is called."""
    dist = _normalize(distribution_name(ep) or "")
    return (dist != hookspecs.PROJECT_NAME, ep.name, dist)


def discover_entry_points() -> list[EntryPoint]:
    """Entry points of the ``seqforge`` group that the environment allows loading, in load order.

    The core's own come first, then the others by entry-point name (a plugin
    registering one of the core's names is rejected; two plugins sharing a name
    both load and the plain name becomes ambiguous).
    Two distributions that use the same entry-point name are both returned;
    :func:`load_plugins` rejects the second, naming both.
    """
    if _truthy(os.environ.get(DISABLE_AUTOLOAD_ENV)):
        return []
    allow = _allow_list()
    return sorted((ep for ep in installed_entry_points() if _allowed(ep, allow)), key=_load_order)


def _unmatched_allow_list() -> list[PluginFailure]:
    """A failure for each ``SEQFORGE_PLUGINS`` name no installed plugin has (a typo would otherwise load nothing)."""
    allow = _allow_list()
    if not allow or _truthy(os.environ.get(DISABLE_AUTOLOAD_ENV)):
        return []
    installed = installed_entry_points()
    distributions = {name for ep in installed if (name := distribution_name(ep))}
    known = sorted({ep.name for ep in installed} | distributions)
    failures = []
    for wanted in sorted(allow):
        if not any(entry_point_matches(ep, wanted) for ep in installed):
            close = difflib.get_close_matches(wanted, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            failures.append(PluginFailure(
                Provider(wanted),
                f"{ALLOW_LIST_ENV} names '{wanted}', but no installed plugin has that entry-point or distribution "
                f"name (installed: {', '.join(known) or 'none'}).{hint}",
            ))
    return failures


def _hook_problem(manager: pluggy.PluginManager, plugin: Any) -> str | None:
    """Why a registered plugin cannot work (no hooks, or a misspelt hook), or None."""
    callers = manager.get_hookcallers(plugin) or []
    unknown = [
        caller.name
        for caller in callers
        if not caller.has_spec()
        and not all(impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin)
    ]
    known = sorted(name for name in vars(manager.hook) if getattr(manager.hook, name).has_spec())
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"implements unknown hook(s) {', '.join(unknown)}; seqforge's hooks are: {', '.join(known)}.{hint}"
    if not callers:
        return (
            "implements no seqforge hook: decorate its functions with @seqforge.hookimpl "
            f"(hooks: {', '.join(known)})."
        )
    return None


def parse_api_version(value: Any) -> tuple[int, int] | None:
    """``"1.0"`` / ``"1"`` / ``1`` -> ``(1, 0)``; None if ``value`` is not such a version."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    match = re.fullmatch(r"\s*(\d+)(?:\.(\d+))?\s*", str(value))
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def api_problem(plugin: Any) -> str | None:
    """Why ``plugin``'s declared ``SEQFORGE_PLUGIN_API`` rules it out on this seqforge, or None (compatible or
    undeclared)."""
    from seqforge import PLUGIN_API_VERSION, __version__

    declared = getattr(plugin, API_ATTRIBUTE, None)
    if declared is None:
        return None
    core = parse_api_version(PLUGIN_API_VERSION)
    wanted = parse_api_version(declared)
    if wanted is None:
        return (
            f"declares {API_ATTRIBUTE} = {declared!r}, which is not a plugin API version; write it as "
            f"\"MAJOR.MINOR\", e.g. {API_ATTRIBUTE} = \"{PLUGIN_API_VERSION}\"."
        )
    assert core is not None
    if wanted[0] != core[0] or wanted[1] > core[1]:
        newer = wanted > core
        return (
            f"targets seqforge plugin API {wanted[0]}.{wanted[1]} ({API_ATTRIBUTE}), but seqforge {__version__} "
            f"implements plugin API {PLUGIN_API_VERSION}; "
            + ("upgrade seqforge, or install a release of the plugin made for API " if newer else "install a release "
                                                                                                  "of the plugin made "
                                                                                                  "for API ")
            + f"{core[0]}.x."
        )
    return None


def _report(failure: PluginFailure) -> None:
    print(f"seqforge: skipped {failure.provider}: {failure.reason}", file=sys.stderr)


def load_plugins(
    extra: Iterable[tuple[str, Any]] = (),
    *,
    registry: Registry | None = None,
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
    if autoload:
        result.failures.extend(_unmatched_allow_list())

    candidates: list[tuple[Provider, Any]] = []
    for ep in discover_entry_points() if autoload else []:
        provider = provider_for(ep)
        try:
            candidates.append((provider, ep.load()))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import error is the plugin's, not ours
            result.failures.append(PluginFailure(provider, f"import failed: {type(exc).__name__}: {exc}"))
    candidates += [(Provider(name), plugin) for name, plugin in extra]

    by_name: dict[str, Provider] = {}
    for provider, plugin in candidates:
        if provider.plugin in by_name:
            result.failures.append(PluginFailure(
                provider, f"the plugin name '{provider.plugin}' is already taken by {by_name[provider.plugin]}; rename "
                          "one entry point.",
            ))
            continue
        incompatible = api_problem(plugin)
        if incompatible is not None:
            result.failures.append(PluginFailure(provider, incompatible))
            continue
        try:
            manager.register(plugin, name=provider.plugin)
        except ValueError as exc:
            result.failures.append(PluginFailure(provider, str(exc).splitlines()[0]))
            continue
        except pluggy.PluginValidationError as exc:
            result.failures.append(PluginFailure(provider, f"invalid hook implementation: {exc}"))
            continue
        problem = _hook_problem(manager, plugin)
        if problem is not None:
            manager.unregister(plugin)
            result.failures.append(PluginFailure(provider, problem))
            continue
        registry.begin(provider)
        try:
            for impl in manager.hook.seqforge_register.get_hookimpls():
                if impl.plugin is plugin:
                    kwargs = {"registry": registry}
                    # an impl may take fewer arguments (pluggy)
                    impl.function(*[kwargs[name] for name in impl.argnames])
            registry.commit()
        except Exception as exc:  # noqa: BLE001 - isolate the broken plugin
            registry.rollback()
            manager.unregister(plugin)
            result.failures.append(PluginFailure(provider, f"registration failed: {type(exc).__name__}: {exc}"))
            continue
        by_name[provider.plugin] = provider
        result.providers.append(provider)

    if report:
        for failure in result.failures:
            _report(failure)
    return result


_loaded: LoadedPlugins | None = None


def get_plugins() -> LoadedPlugins:
    """The process-wide loaded plugins (loaded on first use)."""
    global _loaded
    if _loaded is None:
        _loaded = load_plugins()
    return _loaded


def loaded_registry() -> Registry | None:
    """The process-wide registry if plugins are loaded already, else None (never loads them)."""
    return _loaded.registry if _loaded is not None else None


def get_registry() -> Registry:
    """The process-wide registry of every installed plugin's components."""
    return get_plugins().registry
