"""Printing metrics as a table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_metrics(metrics: dict[str, dict[str, float]], *, title: str = "Metrics") -> None:
    """One row per split (val, test), one column per metric.

    A split evaluated on part of its batches (``trainer.limit_val_batches``/``limit_test_batches``)
    is named with its coverage, e.g. ``test (40 of 123 batches)``, so a subset is never taken for the split.
    """
    if not metrics:
        return
    names = sorted({name for split in metrics.values() for name in split})
    table = Table(title=title)
    table.add_column("split")
    for name in names:
        table.add_column(name, justify="right")
    for split, values in metrics.items():
        coverage = getattr(values, "coverage", None)
        label = f"{split} ({coverage})" if coverage else split
        table.add_row(label, *(f"{values[n]:.4f}" if n in values else "-" for n in names))
    Console(width=max(100, 12 * (len(names) + 1) + 24)).print(table)
