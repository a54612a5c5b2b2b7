"""Does truncated BPTT keep memory flat as sequences grow? Peak memory and time per step, side by side.

A 2-layer LSTM (``task=regression``, ``data=signal``: sin -> cos) is trained through
seqforge's own module and trainer glue on one batch of ``B`` rows of ``T`` steps each,
for T = 1k, 10k and 100k, with ``train.tbptt_steps=100``: ``T / 100`` optimiser steps
per batch, the detached state carried from chunk to chunk. For contrast, full BPTT
(``train.tbptt_steps=null``: one backward through all T steps) is measured up to
``--full-max`` steps; its activation memory grows linearly with T.

Each case runs in a fresh subprocess, so its peak resident set (``getrusage`` maxrss,
which includes everything torch allocates on CPU) is its own; ``tracemalloc`` would miss
torch's allocations. The table shows the peak, the peak above the process's resident
size just before training (imports, model, data), and the time per optimiser step (median
over the chunks of the batch, then over repetitions; cases are interleaved round-robin so
a noisy neighbour slows all alike). The last line is the headline: peak memory at the
longest sequence over the 1k case (target <= 1.2).

Usage::

    python bench/tbptt.py                          # T = 1000 10000 100000, 3 repetitions
    python bench/tbptt.py --lengths 1000 10000 --reps 1 --full-max 10000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_case(length: int, tbptt: int | None, batch: int, hidden: int) -> dict[str, Any]:
    """Train one batch of ``batch`` x ``length`` steps; report peak memory and per-step times (in this process)."""
    import lightning as L
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from seqforge.config import register_schema
    from seqforge.plugin_manager import get_plugins
    from seqforge.train import build_run

    get_plugins()
    register_schema()
    GlobalHydra.instance().clear()
    overrides = [
        "task=regression", "data=signal", f"data.length={length * batch * 10 // 8}", "data.split=[0.8,0.1,0.1]",
        f"data.seq_len={length}", f"data.batch_size={batch}", f"data.eval_batch_size={batch}", "model.num_layers=2",
        f"model.hidden_size={hidden}", f"train.tbptt_steps={'null' if tbptt is None else tbptt}", "task.plot_steps=0",
    ]
    with initialize_config_module("seqforge.conf", version_base=None):
        cfg = compose("config", overrides=overrides)
    module = build_run(cfg)
    steps = 1 if tbptt is None else -(-length // tbptt)

    class StepTimes(L.Callback):
        """Wall time of the batch, split evenly over its optimiser steps."""

        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_train_batch_start(self, *args: Any) -> None:
            self.start = time.perf_counter()

        def on_train_batch_end(self, *args: Any) -> None:
            self.times.append((time.perf_counter() - self.start) / steps)

    timer = StepTimes()
    trainer = L.Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
        accelerator="cpu",
        devices=1,
    )
    module.data.prepare()
    before = _rss_mb()
    trainer.fit(module, datamodule=module.data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    assert trainer.global_step == steps, (trainer.global_step, steps)
    return {"peak_mb": peak, "before_mb": before, "ms_per_step": 1000 * statistics.median(timer.times), "steps": steps}


def measure(length: int, tbptt: int | None, batch: int, hidden: int) -> dict[str, Any]:
    """``run_case`` in a fresh interpreter (its own peak memory)."""
    command = [
        sys.executable,
        __file__,
        "--case",
        str(length),
        "--tbptt",
        str(tbptt or 0),
        "--batch",
        str(batch),
        "--hidden",
        str(hidden),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV)
    if result.returncode != 0:
        raise RuntimeError(f"case T={length} tbptt={tbptt} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 10000, 100000], help="time steps per sequence")
    parser.add_argument("--tbptt", type=int, default=100, help="train.tbptt_steps")
    parser.add_argument("--batch", type=int, default=8, help="rows per batch")
    parser.add_argument("--hidden", type=int, default=128, help="hidden size of both LSTM layers")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per case (interleaved)")
    parser.add_argument("--full-max", type=int, default=10000, help="also run full BPTT up to this length (0: never)")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:  # a subprocess measuring one case
        print(json.dumps(run_case(args.case, args.tbptt or None, args.batch, args.hidden)))
        return

    cases = [(length, args.tbptt) for length in args.lengths]
    cases += [(length, None) for length in args.lengths if length <= args.full_max]
    results: dict[tuple[int, int | None], list[dict[str, Any]]] = {case: [] for case in cases}
    for rep in range(args.reps):
        for case in cases:
            results[case].append(measure(case[0], case[1], args.batch, args.hidden))
            print(f"  rep {rep + 1}/{args.reps}: T={case[0]} tbptt={case[1]} done", file=sys.stderr, flush=True)

    def median(case: tuple[int, int | None], key: str) -> float:
        return statistics.median(r[key] for r in results[case])

    reference = cases[0]
    print(f"2-layer LSTM, B={args.batch}, H={args.hidden}; peak = getrusage maxrss of a fresh process per case; "
          f"medians of {args.reps}")
    print(f"{'T':>8s} {'backprop':>12s} {'steps':>6s} {'peak MiB':>9s} {'+train MiB':>10s} {'ms/step':>8s} "
          f"{'peak vs 1st':>11s}")
    for case in cases:
        length, tbptt = case
        peak = median(case, "peak_mb")
        grown = peak - median(case, "before_mb")
        label = f"tbptt {tbptt}" if tbptt else "full"
        ratio = peak / median(reference, "peak_mb")
        print(f"{length:8d} {label:>12s} {results[case][0]['steps']:6d} {peak:9.1f} {grown:10.1f} "
              f"{median(case, 'ms_per_step'):8.2f} {ratio:10.3f}x")
    longest = (args.lengths[-1], args.tbptt)
    print(
        f"peak memory with tbptt {args.tbptt}: T={args.lengths[-1]} / T={args.lengths[0]} = "
        f"{median(longest, 'peak_mb') / median(reference, 'peak_mb'):.3f}x (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
