"""Checks of a whole plugin: what it registers (:func:`check_registrations`) and every component it registers
(:func:`check_plugin`)."""

from __future__ import annotations

import importlib
from typing import Any, cast

from seqforge import PLUGIN_API_VERSION
from seqforge.testing._contracts import Broken, Contract, ContractResult, Subject, contract, raise_for, run_contracts


def _loaded(subject: Subject) -> Any:
    return subject.options["loaded"]


@contract("registers", fix="make seqforge_register run cleanly on its own (see the reason above)", gate=True)
def registers(subject: Subject) -> None:
    from seqforge.plugin_manager import load_plugins
    from seqforge.registry import Registry

    loaded = load_plugins(
        [(subject.options["name"], subject.options["plugin"])],
        registry=Registry(store_configs=False),
        autoload=False,
        report=False,
    )
    subject.options["loaded"] = loaded
    if loaded.failures:
        reason = loaded.failures[0].reason
        fix = "see the reason: names are lowercase letters, digits, '_' or '-'; every config field needs a default"
        if "plugin API" in reason or "SEQFORGE_PLUGIN_API" in reason:
            fix = "target the plugin API this seqforge implements (seqforge.PLUGIN_API_VERSION)"
        raise Broken(f"loading it on its own failed: {reason}", fix)
    if not len(loaded.registry):
        raise Broken("it registers no component", "call registry.cell(...), registry.attention(...), ... inside "
                                                  "seqforge_register")


#: An incompatible declared version, an invalid name and a config field without a default are refused while the
#: plugin registers (by the loader and the registry), so ``registers`` reports them with the reason; no separate
#: contract re-checks them (one could never break).
@contract("plugin API version", fix="declare the plugin API you target in the plugin module, e.g. SEQFORGE_PLUGIN_API "
                                    f"= \"{PLUGIN_API_VERSION}\" (see seqforge.PLUGIN_API_VERSION)")
def api_version(subject: Subject) -> None:
    """The declared version exists, and covers every ``seqforge.api`` name the plugin's package imports.

    A plugin declaring 1.0 but importing a name added in 1.1 would load on a 1.0 seqforge and then
    fail with an ImportError in the middle of a run; refused here, where its author sees it.
    """
    from seqforge import PLUGIN_API_VERSION
    from seqforge.api_versions import ADDED_IN
    from seqforge.plugin_manager import API_ATTRIBUTE, parse_api_version

    plugin = subject.options["plugin"]
    declared = getattr(plugin, API_ATTRIBUTE, None)
    if declared is None:
        raise Broken(f"the plugin module does not declare {API_ATTRIBUTE} (this seqforge implements plugin API "
                     f"{PLUGIN_API_VERSION})")
    wanted = parse_api_version(declared)

    def version(text: str) -> tuple[int, int]:
        return cast(tuple[int, int], parse_api_version(text))  # ADDED_IN's versions are well formed ("1.1")

    newer = {name: ADDED_IN[name] for name in _public_names_imported(plugin) if name in ADDED_IN}
    too_new = sorted(name for name, since in newer.items() if wanted is not None and version(since) > wanted)
    if too_new:
        needed = max((newer[name] for name in too_new), key=version)
        raise Broken(f"it declares {API_ATTRIBUTE} = {declared!r} but imports {', '.join(too_new)} from seqforge.api, "
                     f"added in plugin API {needed}: on a seqforge implementing {declared} it would fail to import",
                     f"declare {API_ATTRIBUTE} = \"{needed}\"")


def _public_names_imported(plugin: Any) -> set[str]:
    """Names the plugin's whole top-level package imports with ``from seqforge.api import ...``."""
    import ast
    import importlib.util
    from pathlib import Path

    top = plugin.__name__.partition(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None:
        return set()
    roots = [Path(p) for p in (spec.submodule_search_locations or [])]
    files = [f for root in roots for f in sorted(root.rglob("*.py"))] or ([Path(spec.origin)] if spec.origin else [])
    names: set[str] = set()
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue  # a package that does not import fails the `registers` contract with its real error
        names.update(alias.name for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module == "seqforge.api" for alias in node.names)
    return names


@contract("no collisions", fix="rename the component (e.g. prefix it with your project's name), or uninstall the "
                               "distribution that should not provide it")
def no_collisions(subject: Subject) -> None:
    """Every name is the plugin's alone among the installed distributions — whatever class the other one points at.

    A shared name is not an error at load time (both load, each under its qualified name) but the
    plain name is refused at use, so the plugin's users would have to spell it ``<distribution>:<name>``.
    """
    from seqforge.registry import CORE_DISTRIBUTION, Provider, normalize_distribution

    installed = subject.options.get("installed")
    if installed is None:
        from seqforge.plugin_manager import get_registry

        installed = get_registry()
    own = _distribution_of(subject.options["plugin"])

    def is_own(provider: Provider) -> bool:
        return provider.qualifier == normalize_distribution(own) if own else provider.plugin == subject.options["name"]

    clashes = []
    for component in _loaded(subject).registry:
        others = [c for c in installed.providers(component.kind, component.name) if not is_own(c.provider)]
        if not others:
            continue
        holders = ", ".join(
            f"{c.provider} ({'the same class path' if c.target == component.target else c.target})" for c in others
        )
        if any(c.provider.qualifier == CORE_DISTRIBUTION for c in others):
            clashes.append(f"{component.kind} '{component.name}' is also registered by {holders}: the core's names are "
                           "reserved, so this plugin is skipped when plugins load")
            continue
        mine = f"{normalize_distribution(own)}:{component.name}" if own else None
        spellings = " or ".join(
            f"`{component.group}={q}`" for q in [*([mine] if mine else []), *(c.qualified_name for c in others)]
        )
        clashes.append(f"{component.kind} '{component.name}' is also registered by {holders}: while both are installed "
                       f"`{component.group}={component.name}` is refused and users must write {spellings}")
    if clashes:
        raise Broken("; ".join(clashes))


def _distribution_of(plugin: Any) -> str | None:
    """The installed distribution whose ``seqforge`` entry point is ``plugin``'s module, or None (not installed)."""
    from seqforge.plugin_manager import distribution_name, installed_entry_points

    module = getattr(plugin, "__name__", None)
    return next((distribution_name(ep) for ep in installed_entry_points() if module and ep.module == module), None)


@contract("factories import", fix="point each factory at a module-level class or function of the installed package "
                                  "('package.module.Name')")
def factories_import(subject: Subject) -> None:
    problems = []
    for component in _loaded(subject).registry:
        module_name, _, attribute = component.target.rpartition(".")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{component.kind} '{component.name}': {component.target} does not import "
                            f"({type(exc).__name__}: {exc})")
            continue
        if not callable(factory):
            problems.append(f"{component.kind} '{component.name}': {component.target} is not callable")
    if problems:
        raise Broken("; ".join(problems))


@contract("described", fix="pass description='one line' when registering; `seqforge plugins list` shows it")
def described(subject: Subject) -> None:
    missing = [f"{c.kind} '{c.name}'" for c in _loaded(subject).registry if not c.description.strip()]
    if missing:
        raise Broken(f"no description: {', '.join(missing)}")


REGISTRATION_CONTRACTS: list[Contract] = [registers, api_version, no_collisions, factories_import, described]


def _plugin_name(plugin: Any, name: str | None) -> str:
    if name:
        return name
    module = getattr(plugin, "__name__", None) or type(plugin).__name__
    return module.split(".")[0]


def registration_results(
    plugin: Any, *, name: str | None = None, installed: Any = None
) -> tuple[list[ContractResult], Any]:
    """The registration contracts' results and the isolated registry the plugin filled.

    The registry is None if the plugin failed to register.
    """
    label = f"'{_plugin_name(plugin, name)}'"
    subject = Subject(
        "plugin",
        label,
        lambda **_: None,
        options={"plugin": plugin, "name": _plugin_name(plugin, name), "installed": installed},
    )
    results = run_contracts(subject, REGISTRATION_CONTRACTS)
    loaded = subject.options.get("loaded")
    return results, loaded.registry if loaded is not None and not loaded.failures else None


def check_registrations(plugin: Any, *, name: str | None = None, installed: Any = None) -> list[ContractResult]:
    """Check what a plugin registers; raise :class:`ContractError` if a contract breaks.

    Args:
        plugin: the plugin module (the entry point's target) or object.
        name: its entry-point name (default: the top-level package name).
        installed: the registry to look for collisions in (default: every installed plugin's).

    Contracts: ``registers`` (its hook runs on its own and registers something; this is where an
    incompatible plugin API, an invalid name or a config field without a default breaks),
    ``plugin API version`` (declared), ``no collisions`` with installed plugins, ``factories import``,
    ``described``.
    """
    return raise_for(registration_results(plugin, name=name, installed=installed)[0])


def _task_light_results(name: str, registry: Any) -> list[ContractResult]:
    """A task without its data: it instantiates from its registered config and has the Task methods."""
    from seqforge.testing._contracts import resolve

    build, label = resolve("task", name, None, registry)

    @contract("builds", fix="the task's factory must accept its config's fields", gate=True)
    def task_builds(subject: Subject) -> None:
        subject.options["task"] = subject.build()

    @contract("protocol", fix="implement seqforge.interfaces.Task: metric_sums, build_data, build_model, "
                              "training_step, evaluation_step, compute_metrics")
    def protocol(subject: Subject) -> None:
        task = subject.options["task"]
        missing = [
            m
            for m in ("metric_sums", "build_data", "build_model", "training_step", "evaluation_step", "compute_metrics")
            if not hasattr(task, m)
        ]
        if missing:
            raise Broken(f"{type(task).__name__} lacks {', '.join(missing)}")

    return run_contracts(Subject("task", label, build), [task_builds, protocol])


def plugin_results(
    plugin: Any, *, name: str | None = None, installed: Any = None, training: dict[str, Any] | None = None
) -> list[ContractResult]:
    """Registration contracts, then every registered component's contracts (see :func:`check_plugin`)."""
    from seqforge.testing.attention import attention_results
    from seqforge.testing.cells import cell_results
    from seqforge.testing.modules import decoder_results, encoder_results

    results, registry = registration_results(plugin, name=name, installed=installed)
    for component in registry or ():
        if component.kind == "cell":
            results += cell_results(component.name, registry=registry, training=training)
        elif component.kind == "attention":
            results += attention_results(component.name, registry=registry)
        elif component.kind == "encoder":  # a config may waive contracts that cannot apply, each with its reason
            results += encoder_results(
                component.name, registry=registry, skip=getattr(component.config, "contract_exemptions", {})
            )
        elif component.kind == "decoder":
            results += decoder_results(component.name, registry=registry)
        elif component.kind == "task":
            results += _task_light_results(component.name, registry)
    return results


def check_plugin(
    plugin: Any, *, name: str | None = None, installed: Any = None, training: dict[str, Any] | None = None
) -> list[ContractResult]:
    """Check a plugin and every component it registers; raise :class:`ContractError` listing every broken contract.

    Cells, attentions, encoders and decoders get their full contract suites
    (built from their registered configs' defaults); tasks are instantiated
    and checked for the Task methods (use :func:`check_task` with the
    overrides a task needs to also train and evaluate a step); data modules are
    checked through their registrations.
    """
    return raise_for(plugin_results(plugin, name=name, installed=installed, training=training))
