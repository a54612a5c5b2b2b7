"""The result file every training run leaves in its run directory (``result.json``).

A sweep launcher runs each job in its own process, so it cannot receive the
task function's return value; it reads this file instead. It holds the
monitored metric (``checkpoint.monitor``) at its best, the final metrics of
every split, and how far training got — enough for a sweep's summary table and
for the objective a sweeper (e.g. Optuna) optimises.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"


def flatten_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"val": {"loss": 1.2}}`` -> ``{"val/loss": 1.2}`` (the names Lightning logs)."""
    return {f"{split}/{name}": float(value) for split, values in metrics.items() for name, value in values.items()}


def make_result(
    *,
    monitor: str,
    mode: str,
    best: float | None,
    final: dict[str, dict[str, float]],
    step: int,
    interrupted: bool = False,
) -> dict[str, Any]:
    """The content of ``result.json``; ``best`` is ``None`` when the monitored metric was never logged."""
    flat = flatten_metrics(final)
    if best is not None and not math.isfinite(best):
        best = None
    return {
        "monitor": monitor,
        "mode": mode,
        "best": best,
        "final": flat,
        "step": step,
        "interrupted": interrupted,
        "objective": best if best is not None else flat.get(monitor),
    }


def write_result(run_dir: Path, result: dict[str, Any]) -> Path:
    """Write ``result.json`` atomically (a reader never sees half a file)."""
    path = run_dir / RESULT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """The run's result, or ``None`` if the run wrote none (it failed early, or is not a training run)."""
    path = run_dir / RESULT_FILE
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None
