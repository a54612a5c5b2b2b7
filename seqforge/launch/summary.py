"""The sweep's summary: one row per job, printed (rich) and written as CSV and Markdown in the sweep directory."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"


@dataclass
class Row:
    """One job of the sweep as the summary shows it."""

    job: int
    overrides: list[str]
    status: str  # ok | failed
    exit_code: int
    wall_time: float  # seconds
    devices: str  # the job's CUDA_VISIBLE_DEVICES ("" for a CPU job)
    run_dir: str
    log: str
    result: dict[str, Any] | None = None  # the job's result.json
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def objective(self) -> float | None:
        return None if self.result is None else self.result.get("objective")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def varying_overrides(overrides: Sequence[Sequence[str]]) -> list[list[str]]:
    """Each job's overrides minus those every job shares (the swept ones are what tells jobs apart)."""
    if len(overrides) < 2:
        return [list(o) for o in overrides]
    common = set(overrides[0]).intersection(*(set(o) for o in overrides[1:]))
    return [[x for x in o if x not in common] for o in overrides]


def columns(rows: Sequence[Row]) -> tuple[list[str], list[list[Any]]]:
    """Header and raw cells.

    Columns: job, status, overrides, best <monitor>, final metrics, wall time, devices, exit code, log.
    """
    monitors = sorted({r.result["monitor"] for r in rows if r.result and r.result.get("monitor")})
    finals = sorted({k for r in rows if r.result for k in r.result.get("final", {})})
    header = [
        "job",
        "status",
        "overrides",
        *(f"best {m}" for m in monitors),
        *finals,
        "wall s",
        "devices",
        "exit",
        "log",
    ]
    cells = []
    for row, overrides in zip(rows, varying_overrides([r.overrides for r in rows])):
        result = row.result or {}
        best = [result.get("best") if result.get("monitor") == m else None for m in monitors]
        final = [result.get("final", {}).get(k) for k in finals]
        cells.append(
            [
                row.job,
                row.status,
                " ".join(overrides),
                *best,
                *final,
                round(row.wall_time, 1),
                row.devices,
                row.exit_code,
                row.log,
            ]
        )
    return header, cells


def write_summary(sweep_dir: Path, rows: Sequence[Row]) -> tuple[Path, Path]:
    """``summary.csv`` (full precision, every override) and ``summary.md`` (the printed table)."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    header, cells = columns(rows)
    csv_path = sweep_dir / SUMMARY_CSV
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row, line in zip(rows, cells):
            writer.writerow([line[0], line[1], " ".join(row.overrides), *("" if v is None else v for v in line[3:])])
    md_path = sweep_dir / SUMMARY_MD

    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape(_fmt(c)) for c in line) + " |" for line in cells]
    md_path.write_text(f"# Sweep {sweep_dir}\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path


def print_summary(rows: Sequence[Row], *, title: str) -> None:
    """The summary as a rich table (without the log column, which the files keep)."""
    from rich.console import Console
    from rich.table import Table

    header, cells = columns(rows)
    table = Table(title=title)
    for name in header[:-1]:
        table.add_column(name, justify="left" if name in ("status", "overrides", "devices") else "right")
    for line in cells:
        table.add_row(*map(_fmt, line[:-1]), style=None if line[1] == "ok" else "red")
    Console(width=max(120, 14 * len(header))).print(table)
