"""``seqforge plugins list``: installed plugins and what each registers, by kind; name collisions last, in red."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from seqforge.plugin_manager import API_ATTRIBUTE, LoadedPlugins
from seqforge.registry import KIND_GROUPS


def print_plugins(loaded: LoadedPlugins) -> None:
    console = Console(width=120)
    table = Table(title="seqforge plugins")
    for column in ("plugin", "distribution", "version"):
        table.add_column(column)
    table.add_column("components (kind: names)")
    table.add_column("plugin API")
    by_provider: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for component in loaded.registry:
        by_provider[component.provider.plugin][component.kind].append(component.name)
    for provider in loaded.providers:
        kinds = by_provider.get(provider.plugin, {})
        listing = "\n".join(f"{kind}: {', '.join(kinds[kind])}" for kind in KIND_GROUPS if kind in kinds) or "(none)"
        api = getattr(loaded.manager.get_plugin(provider.plugin), API_ATTRIBUTE, None)
        table.add_row(
            escape(provider.plugin),
            escape(provider.distribution or "-"),
            escape(provider.version or "-"),
            escape(listing),
            escape(str(api)) if api is not None else "[yellow]undeclared[/yellow]",
        )
    console.print(table)

    components = Table(title="components by kind")
    for column in ("kind", "name", "select with", "provided by", "description"):
        components.add_column(column)
    colliding = {(group[0].kind, group[0].name) for group in loaded.registry.collisions()}
    for component in loaded.registry:
        # An ambiguous plain name is refused at use, so only the qualified spelling is offered for it.
        choice = component.qualified_name if (component.kind, component.name) in colliding else component.name
        components.add_row(*(escape(text) for text in (
            component.kind, component.name, f"{component.group}={choice}",
            component.provider.distribution or component.provider.plugin, component.description,
        )))
    console.print(components)
    presets = loaded.registry.presets()
    if presets:
        table = Table(title="presets")
        for column in ("select with", "provided by", "description"):
            table.add_column(column)
        for preset in presets:
            table.add_row(escape(f"experiment={preset.name}"), escape(str(preset.provider)), escape(preset.description))
        console.print(table)
    for group in loaded.registry.collisions():
        first = group[0]
        console.print(
            f"[red]collision[/red] {escape(first.kind)} '{escape(first.name)}' is registered by "
            + ", ".join(escape(str(c.provider)) for c in group)
            + f": `{escape(first.group)}={escape(first.name)}` is refused; select "
            + " or ".join(f"`{escape(first.group)}={escape(c.qualified_name)}`" for c in group) + ".",
            soft_wrap=True,
        )
    for failure in loaded.failures:
        console.print(f"[red]failed[/red] {escape(str(failure.provider))}: {escape(failure.reason)}")
