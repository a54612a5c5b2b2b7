"""The registry: named components, their config dataclasses, and their Hydra options.

Plugins receive a :class:`Registry` in ``seqforge_register`` and call
``registry.cell("lstm", LSTMCell, LSTMConfig)``. Registering does two things:

1. records the component under ``(kind, name)`` with the plugin that provided
   it, and under its *qualified name* ``<distribution>:<name>``
   (``seqforge-rnn:lstm``), which no other distribution can take;
2. stores the config dataclass in Hydra's ConfigStore under the kind's group
   (``model/cell/lstm`` and ``model/cell/seqforge-rnn:lstm``) with ``_target_``
   set to the component's import path, so plugin authors never write import
   strings and ``model/cell=lstm`` works as soon as the package is installed.

Collisions: when two distributions register the same ``(kind, name)`` both
stay registered and the plain name becomes *ambiguous*: :meth:`Registry.get`
(and composing ``model/cell=<name>``) refuses it, naming both providers and
the qualified spellings — seqforge never picks one by load order. Names of
seqforge's own core are reserved: a plugin registering one is rejected.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqforge.commands import BUILTIN_COMMANDS
from seqforge.errors import AmbiguousComponentError, DuplicateComponentError, PluginError, UnknownComponentError

#: Component kinds and the Hydra config group each one is selected by.
KIND_GROUPS: dict[str, str] = {
    "cell": "model/cell",
    "encoder": "model/encoder",
    "decoder": "model/decoder",
    "attention": "model/attention",
    "task": "task",
    "data": "data",
}

#: What a component name may look like: it is typed unquoted on the command line (``model/cell=<name>``).
_NAME_RE = re.compile(r"[a-z0-9_-]+")
#: Names Hydra's override grammar reads as values, not as option names (``model/cell=null`` deselects the group).
_RESERVED_NAMES = frozenset({"null", "true", "false"})
#: Separates distribution and name in a qualified name (``model/cell=seqforge-rnn:lstm``). Hydra's override grammar
#: and ConfigStore accept it unquoted (and escape it as ``\:`` when they re-emit overrides, which parses back), and
#: no component name can contain it.
QUALIFIER_SEPARATOR = ":"
#: The distribution of seqforge's own components, whose names no plugin may take.
CORE_DISTRIBUTION = "seqforge"


def valid_name(name: str) -> bool:
    """True if ``name`` can be a component name (lowercase ASCII letters, digits, ``_``, ``-``; not null/true/false)."""
    return isinstance(name, str) and bool(_NAME_RE.fullmatch(name)) and name not in _RESERVED_NAMES


def normalize_distribution(name: str) -> str:
    """A distribution name as pip compares it (PEP 503): ``Seqforge_RNN`` -> ``seqforge-rnn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Provider:
    """Who registered a component: the plugin's name and its distribution."""

    plugin: str
    distribution: str | None = None
    version: str | None = None

    @property
    def qualifier(self) -> str:
        """The prefix of this provider's qualified names: its normalized distribution (else its plugin name)."""
        if self.distribution:
            return normalize_distribution(self.distribution)
        return re.sub(r"[^a-z0-9_-]+", "-", self.plugin.lower()).strip("-") or "plugin"

    def __str__(self) -> str:
        if self.distribution:
            return f"plugin '{self.plugin}' ({self.distribution} {self.version or ''})".replace(" )", ")")
        return f"plugin '{self.plugin}'"


@dataclass(frozen=True)
class Component:
    """One registered component.

    Attributes:
        kind: one of :data:`KIND_GROUPS`.
        name: the option name users select (``model/cell=<name>``).
        factory: class or function the config is instantiated with, or its dotted
            import path (lets a plugin register without importing torch, so
            ``seqforge plugins list`` stays fast).
        config: the config dataclass (fields become ``model.cell.<field>``).
        provider: the plugin that registered it.
        description: one line for ``seqforge plugins list``.
        node: the dataclass stored in Hydra's ConfigStore: ``config``'s fields plus
            ``_target_`` (built and validated when the component is registered).
    """

    kind: str
    name: str
    factory: Callable[..., Any] | str
    config: type
    provider: Provider
    description: str = ""
    node: type | None = field(default=None, repr=False, compare=False)
    #: Import paths this component had in earlier releases: checkpoints that stored one of them still load.
    formerly: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return KIND_GROUPS[self.kind]

    @property
    def target(self) -> str:
        if isinstance(self.factory, str):
            return self.factory
        return f"{self.factory.__module__}.{self.factory.__qualname__}"

    @property
    def qualified_name(self) -> str:
        """``<distribution>:<name>``: selects this component even when another distribution uses the same name."""
        return f"{self.provider.qualifier}{QUALIFIER_SEPARATOR}{self.name}"


def _config_with_target(config: type, target: str) -> type:
    """A dataclass with ``_target_ = target`` first, then every field of ``config``.

    The fields keep their types, so a wrong-typed override
    (``model.cell.forget_bias=abc``) fails at composition time. It is a copy
    rather than a subclass so that a frozen ``config`` works too (a frozen
    dataclass cannot be subclassed by a non-frozen one, and a frozen node would
    make every override fail as read-only).
    """
    specs: list[tuple[str, Any, Any]] = [("_target_", str, field(default=target))]
    for f in dataclasses.fields(config):
        specs.append((f.name, f.type, field(default=f.default, default_factory=f.default_factory, metadata=f.metadata)))
    return dataclasses.make_dataclass(
        config.__name__,
        specs,
        # Same module, so string annotations (``from __future__ import annotations``) resolve as in ``config``.
        namespace={"__module__": config.__module__, "__doc__": config.__doc__, "__qualname__": config.__qualname__},
    )


def _target_of(factory: Any) -> str | None:
    """The import path Hydra instantiates ``factory`` from, or None if it has none."""
    if isinstance(factory, str):
        parts = factory.split(".")
        return factory if len(parts) >= 2 and all(part.isidentifier() for part in parts) else None
    module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", None)
    if not callable(factory) or not module or not qualname or "<" in qualname:  # <lambda>, <locals>
        return None
    return f"{module}.{qualname}"


@dataclass(frozen=True)
class Preset:
    """A composable preset a plugin ships (``experiment=<name>``): a YAML file like those in
    ``seqforge/conf/experiment/``.

    Attributes:
        name: selected as ``experiment=<name>``.
        path: the YAML file (``# @package _global_`` is implied: a preset sets keys anywhere in the config).
        provider: the plugin that registered it.
        description: one line for ``seqforge plugins list``.
    """

    name: str
    path: Path
    provider: Provider
    description: str = ""


#: The config group plugin presets are composed from (``experiment=<name>``).
PRESET_GROUP = "experiment"


def core_preset_names() -> set[str]:
    """Names of the presets seqforge itself ships (``seqforge/conf/experiment/*.yaml``, packaged with the config)."""
    from importlib import resources

    folder = resources.files("seqforge.conf") / PRESET_GROUP
    return (
        {entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml")}
        if folder.is_dir()
        else set()
    )


@dataclass(frozen=True)
class Command:
    """A ``seqforge <name> ...`` subcommand a plugin provides.

    Attributes:
        name: the word after ``seqforge``.
        target: dotted path of a function taking ``argv: list[str]`` (the words after the name);
            imported only when the command runs, so listing commands stays fast.
        provider: the plugin that registered it.
        description: one line for ``seqforge --help``.
    """

    name: str
    target: str
    provider: Provider
    description: str = ""

    def load(self) -> Callable[[list[str]], Any]:
        import importlib

        module, _, attribute = self.target.rpartition(".")
        command: Callable[[list[str]], Any] = getattr(importlib.import_module(module), attribute)
        return command


class Registry:
    """Components by kind and name; handed to every plugin's ``seqforge_register``."""

    def __init__(self, *, store_configs: bool = True) -> None:
        # (kind, qualified name) -> component, in registration order
        self._components: dict[tuple[str, str], Component] = {}
        self._commands: dict[str, Command] = {}
        self._pending_commands: list[Command] = []
        self._presets: dict[str, Preset] = {}
        self._pending_presets: list[Preset] = []
        self._pending: list[Component] | None = None
        self._provider = Provider("<direct>")
        self._store_configs = store_configs

    # -- registration ------------------------------------------------------
    def register(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Register ``factory`` under ``(kind, name)`` with its config dataclass.

        Args:
            kind: ``cell``, ``encoder``, ``decoder``, ``attention``, ``task`` or ``data``.
            name: the option name; lowercase letters, digits, ``_`` and ``-``.
            factory: called as ``factory(**config_fields, **wiring)`` where
                wiring is what the core supplies (e.g. ``input_size``, ``hidden_size``).
            config: a dataclass whose fields all have defaults.
            description: one line shown by ``seqforge plugins list``.
            formerly: import paths the factory had in earlier releases of the plugin (after moving or
                renaming it), so that checkpoints which stored an old path still load and build the new one.

        Another distribution may register the same name: both stay selectable by
        their qualified names and the plain name is refused at use (see the module docstring).

        Raises:
            DuplicateComponentError: the same distribution (or seqforge's core) already has the name;
                the message names both providers.
            PluginError: kind, name or config is invalid.
        """
        if kind not in KIND_GROUPS:
            raise PluginError(
                f"{self._provider} registered '{name}' under unknown kind '{kind}'; "
                f"expected one of: {', '.join(KIND_GROUPS)}."
            )
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in _RESERVED_NAMES:
            raise PluginError(
                f"{self._provider} registered {kind} {name!r}: names must be non-empty lowercase ASCII "
                "letters, digits, '_' or '-', and not null/true/false (they are typed on the command line as "
                f"{KIND_GROUPS[kind]}=<name>)."
            )
        target = _target_of(factory)
        if target is None:
            raise PluginError(
                f"{self._provider} registered {kind} '{name}' with factory {factory!r}, which has no import path; "
                "pass a class or function defined at module level, or its dotted import path ('package.module.Name')."
            )
        if not dataclasses.is_dataclass(config) or not isinstance(config, type):
            raise PluginError(f"{self._provider} registered {kind} '{name}' with config {config!r}; expected a "
                              "dataclass type.")
        missing = [
            f.name
            for f in dataclasses.fields(config)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise PluginError(
                f"{self._provider} registered {kind} '{name}' whose config {config.__name__} has fields without "
                f"defaults: {', '.join(missing)}. Every field needs a default so `{KIND_GROUPS[kind]}={name}` composes."
            )
        if any(f.name == "_target_" for f in dataclasses.fields(config)):
            raise PluginError(
                f"{self._provider} registered {kind} '{name}' whose config {config.__name__} defines `_target_`; "
                "leave it out, the registry fills it in from the factory."
            )
        node = _config_with_target(config, target)
        try:
            from omegaconf import OmegaConf

            OmegaConf.structured(node)  # what ConfigStore.store does; fail here, inside the plugin's registration
        except Exception as exc:
            raise PluginError(
                f"{self._provider} registered {kind} '{name}' whose config {config.__name__} is not a valid Hydra "
                f"structured config: {str(exc).splitlines()[0]}"
            ) from exc
        for existing in [
            *self.providers(kind, name),
            *(c for c in self._pending or () if (c.kind, c.name) == (kind, name)),
        ]:
            if existing.provider.qualifier == self._provider.qualifier:
                raise DuplicateComponentError(
                    f"{kind} '{name}' is registered twice: by {existing.provider} and by {self._provider}. "
                    f"Uninstall one of them, or rename the component in one plugin."
                )
            if CORE_DISTRIBUTION in (existing.provider.qualifier, self._provider.qualifier):
                raise DuplicateComponentError(
                    f"{kind} '{name}' is registered twice: by {existing.provider} and by {self._provider}. "
                    f"The names of seqforge's core are reserved: rename the component in the plugin."
                )
        if isinstance(formerly, str) or any(_target_of(path) is None or not isinstance(path, str) for path in formerly):
            raise PluginError(f"{self._provider} registered {kind} '{name}' with formerly={formerly!r}; expected a "
                              "list of dotted import paths.")
        component = Component(kind, name, factory, config, self._provider, description, node, tuple(formerly))
        if self._pending is not None:
            self._pending.append(component)
        else:
            self._commit([component])
        return component

    def cell(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Shortcut for ``register("cell", ...)``."""
        return self.register("cell", name, factory, config, description=description, formerly=formerly)

    def encoder(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Shortcut for ``register("encoder", ...)``."""
        return self.register("encoder", name, factory, config, description=description, formerly=formerly)

    def decoder(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Shortcut for ``register("decoder", ...)``."""
        return self.register("decoder", name, factory, config, description=description, formerly=formerly)

    def attention(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Shortcut for ``register("attention", ...)``."""
        return self.register("attention", name, factory, config, description=description, formerly=formerly)

    def task(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Shortcut for ``register("task", ...)``."""
        return self.register("task", name, factory, config, description=description, formerly=formerly)

    def data(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        config: type,
        *,
        description: str = "",
        formerly: Sequence[str] = (),
    ) -> Component:
        """Shortcut for ``register("data", ...)``."""
        return self.register("data", name, factory, config, description=description, formerly=formerly)

    def command(self, name: str, target: str, *, description: str = "") -> Command:
        """Register ``seqforge <name>``: ``target`` is the dotted path of a function ``(argv: list[str]) -> None``.

        Raises:
            DuplicateComponentError: a built-in command or another plugin's command has the name.
            PluginError: the name or target is malformed.
        """
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise PluginError(f"{self._provider} registered command {name!r}: names are lowercase ASCII letters, "
                              "digits, '_' or '-'.")
        if _target_of(target) is None or not isinstance(target, str):
            raise PluginError(f"{self._provider} registered command '{name}' with target {target!r}; expected a dotted "
                              "path 'package.module.function'.")
        if name in BUILTIN_COMMANDS:
            raise DuplicateComponentError(f"command '{name}' is built into seqforge; {self._provider} cannot register "
                                          "it.")
        existing = self._commands.get(name) or next((c for c in self._pending_commands if c.name == name), None)
        if existing is not None:
            raise DuplicateComponentError(f"command '{name}' is registered twice: by {existing.provider} and by "
                                          f"{self._provider}.")
        command = Command(name, target, self._provider, description)
        if self._pending is not None:
            self._pending_commands.append(command)
        else:
            self._commands[name] = command
        return command

    def commands(self) -> list[Command]:
        """Plugin-provided subcommands, sorted by name."""
        return sorted(self._commands.values(), key=lambda c: c.name)

    def preset(self, name: str, path: str | os.PathLike[str], *, description: str = "") -> Preset:
        """Ship ``experiment=<name>``: the YAML file at ``path`` (a ``defaults:`` list of overrides plus values).

        A plugin's presets are composed exactly like the ones in seqforge's ``seqforge/conf/experiment/``
        (``# @package _global_``), e.g. ``Path(__file__).parent / "presets" / "translate_demo.yaml"``.
        The file is read when the plugin's registrations are committed.

        Raises:
            DuplicateComponentError: seqforge's own presets or another plugin's preset has the name.
            PluginError: the name is malformed, or the file is missing or not a YAML mapping.
        """
        if not valid_name(name):
            raise PluginError(f"{self._provider} registered preset {name!r}: names are lowercase ASCII letters, "
                              "digits, '_' or '-'.")
        if name in core_preset_names():
            raise DuplicateComponentError(f"preset '{name}' ships with seqforge itself; {self._provider} cannot "
                                          "register it.")
        existing = self._presets.get(name) or next((p for p in self._pending_presets if p.name == name), None)
        if existing is not None:
            raise DuplicateComponentError(f"preset '{name}' is registered twice: by {existing.provider} and by "
                                          f"{self._provider}.")
        preset = Preset(name, Path(path), self._provider, description)
        self._read_preset(preset)  # a missing or malformed file is the plugin's error, reported at registration
        if self._pending is not None:
            self._pending_presets.append(preset)
        else:
            self._commit_presets([preset])
        return preset

    def presets(self) -> list[Preset]:
        """Plugin-provided presets, sorted by name."""
        return sorted(self._presets.values(), key=lambda p: p.name)

    def _read_preset(self, preset: Preset) -> Any:
        from omegaconf import DictConfig, OmegaConf

        try:
            node = OmegaConf.load(preset.path)
        except Exception as exc:
            raise PluginError(f"{self._provider} registered preset '{preset.name}' from {preset.path}, which cannot be "
                              f"read: {str(exc).splitlines()[0]}") from exc
        if not isinstance(node, DictConfig):
            raise PluginError(f"{self._provider} registered preset '{preset.name}' from {preset.path}: expected a YAML "
                              "mapping (keys and a defaults list).")
        return node

    def _commit_presets(self, presets: list[Preset]) -> None:
        for preset in presets:
            self._presets[preset.name] = preset
            if self._store_configs:
                from hydra.core.config_store import ConfigStore

                ConfigStore.instance().store(
                    group=PRESET_GROUP, name=preset.name, node=self._read_preset(preset), package="_global_",
                    provider=preset.provider.distribution or preset.provider.plugin,
                )

    # -- per-plugin transactions (used by the plugin manager) --------------
    def begin(self, provider: Provider) -> None:
        """Start collecting one plugin's registrations; nothing is visible until :meth:`commit`."""
        self._provider = provider
        self._pending = []
        self._pending_commands = []
        self._pending_presets = []

    def commit(self) -> None:
        """Make the registrations since :meth:`begin` visible (and Hydra config options)."""
        pending, self._pending = self._pending or [], None
        commands, self._pending_commands = self._pending_commands, []
        presets, self._pending_presets = self._pending_presets, []
        self._provider = Provider("<direct>")
        self._commit(pending)
        self._commands.update((c.name, c) for c in commands)
        self._commit_presets(presets)

    def rollback(self) -> None:
        """Drop the registrations since :meth:`begin`."""
        self._pending = None
        self._pending_commands = []
        self._pending_presets = []
        self._provider = Provider("<direct>")

    def _commit(self, components: list[Component]) -> None:
        for component in components:
            self._components[(component.kind, component.qualified_name)] = component
        if self._store_configs and components:
            from hydra.core.config_store import ConfigStore

            store = ConfigStore.instance()
            for component in components:
                node = component.node or _config_with_target(component.config, component.target)
                provider = component.provider.distribution or component.provider.plugin
                store.store(group=component.group, name=component.qualified_name, node=node, provider=provider)
                same_name = self.providers(component.kind, component.name)
                # replaces the first provider's node on purpose: composing the plain name must fail
                if len(same_name) > 1:
                    node, provider = _ambiguous_node(same_name), CORE_DISTRIBUTION
                store.store(group=component.group, name=component.name, node=node, provider=provider)

    # -- queries ------------------------------------------------------------
    def get(self, kind: str, name: str) -> Component:
        """The component ``(kind, name)``; ``name`` may be qualified (``seqforge-rnn:lstm``).

        Raises:
            UnknownComponentError: nothing has that name; the message lists the available ones.
            AmbiguousComponentError: a plain name two distributions provide; the message names both
                and their qualified names.
        """
        if QUALIFIER_SEPARATOR in name:
            component = self._components.get((kind, name))
            if component is None:
                raise UnknownComponentError(unknown_component_message(kind, name, self.qualified_names(kind)))
            return component
        found = self.providers(kind, name)
        if len(found) > 1:
            raise AmbiguousComponentError(ambiguous_component_message(found))
        if not found:
            raise UnknownComponentError(unknown_component_message(kind, name, self.names(kind)))
        return found[0]

    def names(self, kind: str) -> list[str]:
        """Registered (plain) names of ``kind``, sorted, each once — ambiguous ones included."""
        return sorted({c.name for c in self._components.values() if c.kind == kind})

    def qualified_names(self, kind: str) -> list[str]:
        """``<distribution>:<name>`` of every component of ``kind``, sorted."""
        return sorted(q for k, q in self._components if k == kind)

    def providers(self, kind: str, name: str) -> list[Component]:
        """Every component registered as ``(kind, name)``, in load order (two or more: the plain name is ambiguous)."""
        return [c for c in self._components.values() if (c.kind, c.name) == (kind, name)]

    def collisions(self) -> list[list[Component]]:
        """The components whose plain name another distribution also registered, grouped by ``(kind, name)``."""
        groups: dict[tuple[str, str], list[Component]] = {}
        for component in self:
            groups.setdefault((component.kind, component.name), []).append(component)
        return [group for group in groups.values() if len(group) > 1]

    def describe_target(self, target: str) -> str | None:
        """Who provides the component built from ``target`` (an import path), for error messages, or None.

        ``cell 'lstm' of plugin 'rnn' (seqforge-rnn 0.1.0)``; a factory one plugin registered under
        two names is ``cell 'a' / 'b' of plugin ...``, one several distributions registered is named
        by all their qualified names.
        """
        matches = [c for c in self if c.target == target]
        if matches and len({c.provider for c in matches}) == 1:
            return f"{matches[0].kind} {' / '.join(repr(c.name) for c in matches)} of {matches[0].provider}"
        if matches:
            return f"{matches[0].kind} {' / '.join(repr(c.qualified_name) for c in matches)} ({target})"
        return None

    def __iter__(self) -> Iterator[Component]:
        return iter(sorted(self._components.values(), key=lambda c: (c.kind, c.name, c.qualified_name)))

    def __len__(self) -> int:
        return len(self._components)


def ambiguous_component_message(components: list[Component]) -> str:
    """One paragraph: the plain name is provided by several distributions; who they are and how to pick one."""
    kind, name, group = components[0].kind, components[0].name, components[0].group
    listing = "; ".join(f"`{group}={c.qualified_name}` from {c.provider} builds {c.target}" for c in components)
    same = (
        " (the same class path, but each distribution decides what it installs there)"
        if len({c.target for c in components}) == 1
        else ""
    )
    return (
        f"The {kind} name '{name}' (config key `{group}`) is registered by {len(components)} installed distributions, "
        f"so `{group}={name}` does not say which one you mean: {listing}{same}. seqforge does not choose by install or "
        f"load order: select one by its qualified name, e.g. `{group}={components[0].qualified_name}` (in a preset's "
        f"defaults: `- override /{group}: {components[0].qualified_name}`), or uninstall the distribution you did not "
        "mean to install (`seqforge plugins list` shows both)."
    )


def refuse_ambiguous(*, message: str, **wiring: Any) -> Any:
    """The ``_target_`` Hydra holds for an ambiguous plain name: building it raises the collision message."""
    raise AmbiguousComponentError(message)


def _ambiguous_node(components: list[Component]) -> type:
    """What ``<group>/<name>`` composes to while several distributions provide ``name``: it cannot be built."""
    specs: list[tuple[str, Any, Any]] = [
        ("_target_", str, field(default=f"{__name__}.{refuse_ambiguous.__qualname__}")),
        ("message", str, field(default=ambiguous_component_message(components))),
    ]
    return dataclasses.make_dataclass("AmbiguousComponent", specs)


def unknown_component_message(kind: str, name: str, available: list[str]) -> str:
    """One paragraph: what was asked, what exists, and the closest match."""
    group = KIND_GROUPS.get(kind, kind)
    suggestion = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
    hint = f" Did you mean `{group}={suggestion[0]}`?" if suggestion else ""
    listing = (
        ", ".join(available)
        if available
        else "none (is the plugin that provides it installed? see `seqforge plugins list`)"
    )
    return f"Unknown {kind} '{name}' (config key `{group}`). Available: {listing}.{hint}"
