"""How much of a split an evaluation covered, so a metric computed on part of it says so.

``trainer.limit_val_batches`` / ``limit_test_batches`` make Lightning stop an evaluation early;
a number computed on the first 40 batches must not be read as the split's. The module wraps
each split's metrics in :class:`SplitMetrics`, which carries the coverage next to the values,
and :func:`seqforge.metrics_table.print_metrics` prints it beside them.
"""

from __future__ import annotations

import math
from typing import Any


class SplitMetrics(dict[str, float]):
    """A split's metrics (a plain ``dict`` for logging and ``result.json``) plus ``coverage``.

    ``coverage`` is ``None`` for the whole split, else e.g. ``"40 of 123 batches"``.
    """

    coverage: str | None = None


def split_coverage(trainer: Any, stage: str) -> str | None:
    """``"<evaluated> of <total> batches"`` when a ``limit_*_batches`` cut the ``stage`` (val|test) evaluation short,
    else None."""
    if stage == "val":
        counts = trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        loaders = trainer.val_dataloaders
    else:
        counts, loaders = trainer.num_test_batches, trainer.test_dataloaders
    loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
    evaluated: float = 0  # batch counts; a loader without a length counts as infinitely long
    total: float = 0
    for count, loader in zip(counts, loaders):
        size = len(loader) if hasattr(loader, "__len__") else math.inf
        evaluated += min(count, size)
        total += size
    if evaluated >= total:
        return None
    return f"{int(evaluated)} of {total if math.isinf(total) else int(total)} batches"


def with_coverage(metrics: dict[str, float], coverage: str | None) -> SplitMetrics:
    """``metrics`` as :class:`SplitMetrics` carrying ``coverage``."""
    wrapped = SplitMetrics(metrics)
    wrapped.coverage = coverage
    return wrapped
