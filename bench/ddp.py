"""Data-parallel throughput on CPU, and what a sweep job pays for being its own process.

1. **Throughput**: the char-level LM trained by the real ``seqforge train`` in one process
   vs two DDP processes (gloo), the same batch per process (so DDP does twice the samples
   per step). Threads are split fairly: ``cores / processes`` each. A Lightning callback
   (``StepTimer`` below, added with ``+callbacks.timer``) timestamps every step on rank 0;
   samples/s is measured after ``--warmup`` steps, so start-up is excluded. Variants are
   interleaved (1, 2, 1, 2, ...); medians are shown, with the ratio 2-process / 1-process.
2. **Launcher overhead**: a ``seqforge train -m`` sweep of ``--jobs`` jobs through the seqforge
   launcher (1 process each, and 2-process DDP each); for every job, the time from its
   process start to its first training step (imports, composition, data, model, DDP
   rendezvous) and the sweep's wall time not spent training.

Timings on a shared 2-core machine are noisy: read the ratios, rerun on a quiet machine.

Usage::

    python bench/ddp.py                                   # embedded corpus
    python bench/ddp.py --data /work/shared/data/tinyshakespeare/input.txt --steps 80 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L

BENCH_DIR = Path(__file__).resolve().parent
SEQFORGE = [sys.executable, "-m", "seqforge", "train"]


def _process_start_time() -> float | None:
    """When this process started (Linux /proc), as a ``time.time()`` value."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # starttime: clock ticks since boot
        boot = next(
            int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


class StepTimer(L.Callback):
    """Timestamps of every training step, written by rank 0 to ``<run dir>/timing.json``."""

    def __init__(self) -> None:
        self.first_step: float | None = None
        self.step_ends: list[float] = []
        self.batch_size = 0
        self.seq_len = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if self.first_step is None:
            self.first_step = time.time()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.step_ends.append(time.time())
        self.batch_size = int(getattr(batch, "batch_size", 0))
        tokens = getattr(batch, "inputs", None)
        self.seq_len = int(tokens.shape[1]) if tokens is not None and tokens.dim() > 1 else self.seq_len

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero:
            Path(trainer.default_root_dir, "timing.json").write_text(json.dumps({
                "process_start": _process_start_time(), "first_step": self.first_step, "step_ends": self.step_ends,
                "world_size": trainer.world_size, "batch_size": self.batch_size, "seq_len": self.seq_len,
            }))


def _common(args: argparse.Namespace) -> list[str]:
    data = [f"data.path={args.data}"] if args.data else []
    return [
        *data,
        f"trainer.max_steps={args.steps}",
        f"trainer.val_check_interval={args.steps}",
        "trainer.limit_val_batches=2",
        "test_after_fit=false",
        "task.sample_length=0",
        "trainer.enable_progress_bar=false",
        "logger=csv",
        f"data.batch_size={args.batch_size}",
        f"data.seq_len={args.seq_len}",
        f"model.hidden_size={args.hidden}",
        "checkpoint.every_n_train_steps=null",
        "+callbacks.timer._target_=ddp.StepTimer",
    ]


def _env(threads: int) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _run(argv: list[str], threads: int, cwd: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, env=_env(threads), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bench run failed ({' '.join(argv)}):\n{result.stderr[-3000:]}")


def _samples_per_s(timing: dict[str, Any], warmup: int) -> float:
    ends = timing["step_ends"]
    steps = len(ends) - warmup
    return steps * timing["batch_size"] * timing["world_size"] / (ends[-1] - ends[warmup - 1])


def throughput(args: argparse.Namespace, workdir: Path) -> float:
    cores = os.cpu_count() or 1
    threads = {procs: args.threads or max(1, cores // procs) for procs in (1, 2)}
    variants = {
        1: ["trainer.devices=1"],
        2: ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"],
    }
    samples: dict[int, list[float]] = {1: [], 2: []}
    startup: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(args.reps):
        for procs, extra in variants.items():
            run_dir = workdir / f"tp-{procs}-{rep}"
            _run([*SEQFORGE, *_common(args), *extra, f"hydra.run.dir={run_dir}"], threads[procs], workdir)
            timing = json.loads((run_dir / "timing.json").read_text())
            samples[procs].append(_samples_per_s(timing, args.warmup))
            if timing["process_start"]:
                startup[procs].append(timing["first_step"] - timing["process_start"])
    print(f"\nThroughput, char-LM (hidden {args.hidden}, batch {args.batch_size}/process, seq {args.seq_len}), "
          f"{args.steps} steps, {args.warmup} warm-up, {args.reps} reps, {cores} cores")
    print(f"{'processes':>10} {'threads each':>13} {'samples/s (median)':>19} {'min..max':>18} {'start→step 1 s':>15}")
    for procs in variants:
        s = samples[procs]
        up = f"{statistics.median(startup[procs]):.1f}" if startup[procs] else "?"
        print(f"{procs:>10} {threads[procs]:>13} {statistics.median(s):>19.1f} {min(s):>8.1f}..{max(s):<8.1f} {up:>15}")
    return statistics.median(samples[2]) / statistics.median(samples[1])


def launcher_overhead(args: argparse.Namespace, workdir: Path) -> None:
    cores = os.cpu_count() or 1
    print(f"\nLauncher overhead per job: `seqforge train -m` with {args.jobs} jobs, one at a time (seqforge launcher)")
    print(f"{'job kind':>22} {'process start→step 1 s (median)':>33} {'sweep wall s':>13} {'of it training s':>17}")
    for kind, extra, threads in (
        ("1 process", ["trainer.devices=1"], cores),
        ("2-process DDP (gloo)", ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"], max(1, cores // 2)),
    ):
        sweep = workdir / f"sweep-{kind.split()[0]}"
        seeds = ",".join(str(i) for i in range(args.jobs))
        started = time.time()
        _run([*SEQFORGE, "-m", f"seed={seeds}", *_common(args), *extra, f"hydra.sweep.dir={sweep}"], threads, workdir)
        wall = time.time() - started
        timings = [json.loads((sweep / str(i) / "timing.json").read_text()) for i in range(args.jobs)]
        overheads = [t["first_step"] - t["process_start"] for t in timings if t["process_start"]]
        training = sum(t["step_ends"][-1] - t["first_step"] for t in timings)
        median = f"{statistics.median(overheads):.1f}" if overheads else "?"
        print(f"{kind:>22} {median:>33} {wall:>13.1f} {training:>17.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="a text file (default: the embedded corpus)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="jobs in the launcher-overhead sweep")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process (default: cores / "
                                                                  "processes)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    if args.steps <= args.warmup + 1:
        parser.error("--steps must exceed --warmup + 1")
    with tempfile.TemporaryDirectory(prefix="seqforge-bench-ddp-") as tmp:
        workdir = Path(tmp)
        if not args.skip_overhead:
            launcher_overhead(args, workdir)
        if not args.skip_throughput:
            ratio = throughput(args, workdir)
            print(f"\nDDP 2 processes / 1 process samples/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
