"""Train one translation preset with every attention variant, side by side, and print a Markdown table.

    python bench/attention_variants.py                                   # experiment=reorder_demo, seeds 0 1
    python bench/attention_variants.py --seeds 0 1 2 --steps 1200 --out bench-attention
    python bench/attention_variants.py --variants none bahdanau local_m -- model.attention.window=3
    python bench/attention_variants.py --table-only --out bench-attention  # the table of finished runs

Each (variant, seed) is one ``seqforge train experiment=<preset> model/attention=<name> ... seed=<s>``
subprocess, run sequentially in run directory ``<out>/<variant>-s<seed>`` (its log beside it); the
metrics come from the run's ``result.json`` (test split, greedy decoding). Runs whose ``result.json``
already exists are reused, so an interrupted bench continues where it stopped and a second seed can be
added later. The table gives the median over seeds (the mean of two) with every seed's value in
brackets; wall time is the whole process (start-up, training, validation, test), measured under
whatever load the machine had (the load average at the start is printed). Never run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    """One attention choice: its table label and its overrides."""

    name: str
    overrides: tuple[str, ...]


VARIANTS = {
    v.name: v
    for v in (
        Variant("none", ("model/attention=none",)),
        Variant("luong_dot", ("model/attention=luong_dot",)),
        Variant("luong_general", ("model/attention=luong_general",)),
        Variant("luong_concat", ("model/attention=luong_concat",)),
        Variant("bahdanau", ("model/attention=bahdanau",)),
        Variant("local_m", ("model/attention=local_m",)),
        Variant("local_p", ("model/attention=local_p",)),
        Variant("hard_gumbel", ("model/attention=hard", "model.attention.estimator=gumbel")),
        Variant("hard_reinforce", ("model/attention=hard", "model.attention.estimator=reinforce")),
    )
}
METRICS = (
    ("test/exact_match", "exact match %", 100.0),
    ("test/bleu", "BLEU", 1.0),
    ("test/token_acc", "token accuracy %", 100.0),
)


def seqforge_command() -> list[str]:
    """The ``seqforge`` console script of this interpreter's environment (the one a user would run)."""
    script = Path(sys.executable).with_name("seqforge")
    return [str(script)] if script.exists() else ["seqforge"]


def train(variant: Variant, seed: int, *, preset: str, steps: int | None, extra: list[str], out: Path) -> dict:
    """Run one training (unless its result exists) and return ``{"final": ..., "seconds": ...}``."""
    run = out / f"{variant.name}-s{seed}"
    record = out / f"{variant.name}-s{seed}.json"
    if record.exists():
        return json.loads(record.read_text())
    command = [
        *seqforge_command(), "train", f"experiment={preset}", *variant.overrides, f"seed={seed}",
        *([f"trainer.max_steps={steps}"] if steps else []), "trainer.enable_progress_bar=false", *extra,
        f"hydra.run.dir={run}",
    ]
    load = os.getloadavg()[0]
    when = time.strftime("%H:%M:%S")
    print(f"[{when}] {variant.name} seed {seed} (load {load:.1f}): {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    with open(out / f"{variant.name}-s{seed}.log", "w") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    seconds = time.perf_counter() - start
    result = run / "result.json"
    if code != 0 or not result.exists():
        print(f"  failed (exit {code}); see {out / f'{variant.name}-s{seed}.log'}", flush=True)
        return {"final": {}, "seconds": seconds, "failed": code or "no result.json"}
    final = json.loads(result.read_text())["final"]
    outcome = {"final": final, "seconds": seconds, "load": load, "command": command[1:]}
    record.write_text(json.dumps(outcome, indent=2) + "\n")
    scores = ", ".join(f"{label} {final.get(key, float('nan')) * scale:.1f}" for key, label, scale in METRICS)
    print(f"  {seconds / 60:.1f} min: {scores}", flush=True)
    return outcome


def cell(values: list[float], digits: int = 1) -> str:
    """``median [v1, v2, ...]`` (just the value for one seed)."""
    if not values:
        return "—"
    median = f"{statistics.median(values):.{digits}f}"
    return median if len(values) == 1 else f"{median} [{', '.join(f'{v:.{digits}f}' for v in values)}]"


def table(outcomes: dict[str, list[dict]]) -> str:
    """The Markdown table: one row per variant, medians over seeds with every seed in brackets."""
    header = "| variant | " + " | ".join(label for _, label, _ in METRICS) + " | wall time (min) |"
    lines = [header, "|---" * (len(METRICS) + 2) + "|"]
    for name, runs in outcomes.items():
        done = [run for run in runs if run["final"]]
        failed = len(runs) - len(done)
        metrics = [cell([run["final"][key] * scale for run in done if key in run["final"]])
                   for key, _, scale in METRICS]
        row = f"| {name}{f' ({failed} run(s) failed)' if failed else ''} | " + " | ".join(metrics)
        lines.append(row + f" | {cell([run['seconds'] / 60 for run in done])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="reorder_demo", help="experiment=<preset> every variant trains")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=None, help="trainer.max_steps (default: the preset's)")
    parser.add_argument("--out", type=Path, default=Path("bench-attention"), help="run directories and logs")
    parser.add_argument("--table-only", action="store_true", help="the table of the runs already finished in --out")
    parser.add_argument("overrides", nargs="*", help="more key=value overrides for every run (after --)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, list[dict]] = {name: [] for name in args.variants}
    # Seed-major order: a first complete table after one seed, the next seed refines it.
    for seed in args.seeds:
        for name in args.variants:
            record = args.out / f"{name}-s{seed}.json"
            if args.table_only:
                if record.exists():
                    outcomes[name].append(json.loads(record.read_text()))
                continue
            variant = VARIANTS[name]
            outcome = train(variant, seed, preset=args.preset, steps=args.steps, extra=args.overrides, out=args.out)
            outcomes[name].append(outcome)
    steps = f"trainer.max_steps={args.steps}" if args.steps else "the preset's steps"
    print(f"\nexperiment={args.preset}, {steps}, seeds {' '.join(map(str, args.seeds))}; test split, greedy decoding; "
          "median [per seed]\n")
    print(table(outcomes))


if __name__ == "__main__":
    main()
