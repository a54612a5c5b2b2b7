"""``seqforge plugins check <name>``: the contract suite against an installed plugin, as a report.

``<name>`` is a distribution (``seqforge-layernorm-lstm``, compared as pip
does) or an entry-point name (``layernorm_lstm``). Every entry point it
matches is imported and checked with :func:`seqforge.testing.plugin_results`:
what it registers, then every cell, attention, encoder and decoder through
its full contract suite, tasks through instantiation. A name that another
installed distribution (or seqforge's core) also registers breaks the ``no
collisions`` contract — on both sides, even when both point at the same class —
since users can then select it only by its qualified name. Exit status 1 if any
contract broke.
"""

from __future__ import annotations

import argparse

from seqforge.errors import SeqforgeError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqforge plugins check", description="Run seqforge's contract suite against "
                                                                                "an installed plugin.")
    parser.add_argument("name", help="distribution name (e.g. seqforge-rnn) or entry-point name (e.g. rnn)")
    parser.add_argument("--steps", type=int, default=40, help="training steps of the `trains` contract (default 40)")
    parser.add_argument("--show-passed", action="store_true", help="name the passing contracts, not only count them")
    return parser


def check_command(argv: list[str]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from seqforge.plugin_manager import distribution_name, entry_point_matches, installed_entry_points, provider_for

    args = _parser().parse_args(argv)
    installed = installed_entry_points()
    matching = [ep for ep in installed if entry_point_matches(ep, args.name)]
    if not matching:
        known = sorted({ep.name for ep in installed} | {distribution_name(ep) or ep.name for ep in installed})
        raise SeqforgeError(
            f"`seqforge plugins check {args.name}`: no installed plugin has that distribution or entry-point name "
            f"(installed: {', '.join(known)}). Install it first (`pip install -e <folder>`)."
        )
    from seqforge.testing import ContractResult, plugin_results

    console = Console(width=140)
    results: list[ContractResult] = []
    for ep in matching:
        provider = provider_for(ep)
        console.print(f"checking {escape(str(provider))} ...")
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported as a broken contract
            results.append(
                ContractResult(
                    "plugin", f"'{ep.name}'", "imports", False, f"{type(exc).__name__}: {exc}", "fix the import error"
                )
            )
            continue
        results += plugin_results(module, name=ep.name, training={"steps": args.steps})

    table = Table(title=f"seqforge contracts: {args.name}")
    for column in ("component", "passed", "broken contracts"):
        table.add_column(column)
    by_component: dict[str, list[ContractResult]] = {}
    for result in results:
        by_component.setdefault(f"{result.kind} {result.component}", []).append(result)
    for component, group in by_component.items():
        failed = [r.contract for r in group if not r.passed]
        passed = (
            ", ".join(r.contract for r in group if r.passed)
            if args.show_passed
            else f"{len(group) - len(failed)} of {len(group)}"
        )
        table.add_row(
            escape(component),
            escape(passed),
            f"[red]{escape(', '.join(failed))}[/red]" if failed else "[green]none[/green]",
        )
    console.print(table)
    for result in results:  # details as plain lines: long messages stay readable (and greppable) outside a table cell
        if not result.passed:
            console.print(f"[red]BROKEN[/red] {escape(result.kind)} {escape(result.component)} · "
                          f"{escape(result.line())}", soft_wrap=True)
    broken = [r for r in results if not r.passed]
    console.print(f"{len(results)} contracts checked, {len(broken)} broken.")
    if broken:
        raise SystemExit(1)

