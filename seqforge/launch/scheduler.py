"""Run sweep jobs as separate processes, each on its own slice of a device pool.

Each job is its own single-run process, so Lightning's DDP inside a job
re-launches only that job (not the whole sweep, Lightning #11300 / Hydra #2070).
Jobs start in order as soon as their slice of the pool is free and the
concurrency cap allows; a finished job — successful or not — gives its devices
back, and the next job takes them. Nothing here knows Hydra: the launcher
plugin turns Hydra's job overrides into :class:`Job` objects.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Variables of an enclosing distributed launch (torchrun, Lightning, SLURM srun) that must not leak into a job:
#: a job that inherits them believes it is one rank of someone else's process group.
DISTRIBUTED_VARS = (
    "LOCAL_RANK", "RANK", "WORLD_SIZE", "NODE_RANK", "GROUP_RANK", "ROLE_RANK", "ROLE_NAME", "ROLE_WORLD_SIZE",
    "LOCAL_WORLD_SIZE", "GROUP_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "PL_GLOBAL_SEED", "PL_SEED_WORKERS",
    "SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID",
)
DISTRIBUTED_PREFIXES = ("TORCHELASTIC_", "TORCH_ELASTIC_")


def clean_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the distributed-launch variables listed in :data:`DISTRIBUTED_VARS`."""
    return {k: v for k, v in environ.items() if k not in DISTRIBUTED_VARS and not k.startswith(DISTRIBUTED_PREFIXES)}


def free_port(exclude: set[int]) -> int:
    """A TCP port nobody listens on now, not among ``exclude`` (ports given to jobs still running)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in exclude:
            return port
    raise RuntimeError("no free TCP port found for MASTER_PORT")


@dataclass
class Job:
    """One sweep job: the command that runs it and what it needs.

    Attributes:
        index: the job number (``hydra.job.num``).
        argv: the full command line of the job's process.
        run_dir: the job's own directory; its log goes to ``run_dir / log_name``.
        devices: how many pool devices it takes (0: none, a CPU job).
        label: the job's overrides, for messages and the summary.
    """

    index: int
    argv: list[str]
    run_dir: Path
    devices: int = 0
    label: str = ""
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What happened to a job."""

    job: Job
    exit_code: int
    devices: tuple[str, ...]
    started: float  # time.time() at process start
    ended: float
    log_path: Path

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def wall_time(self) -> float:
        return self.ended - self.started


@dataclass
class _Running:
    job: Job
    process: subprocess.Popen[bytes]
    devices: tuple[str, ...]
    port: int
    started: float
    log_path: Path
    log_file: object


Event = Callable[[str, Job, Outcome | None, tuple[str, ...]], None]


def run_jobs(
    jobs: Sequence[Job],
    *,
    pool: Sequence[str],
    max_parallel: int | None = None,
    environ: Mapping[str, str] | None = None,
    log_name: str = "job.log",
    poll_interval: float = 0.05,
    on_event: Event | None = None,
) -> list[Outcome]:
    """Run ``jobs``, at most ``max_parallel`` at once, each GPU job on a disjoint slice of ``pool``; outcomes in job
    order.

    Jobs start in their order (first in, first out, so a wide job is never starved by
    narrow ones behind it). CPU jobs (``devices == 0``) take no slice; with no cap
    given they run one at a time, GPU jobs as many as the pool holds. A failed job
    frees its slice like any other; the remaining jobs still run. On Ctrl-C every
    running job's process group is terminated.
    """
    if any(job.devices > len(pool) for job in jobs):
        widest = max(jobs, key=lambda j: j.devices)
        raise ValueError(f"job #{widest.index} needs {widest.devices} devices; the pool has {len(pool)}")
    cap = max_parallel if max_parallel is not None else (len(pool) if pool and any(j.devices for j in jobs) else 1)
    cap = max(1, cap)
    base_env = clean_environment(os.environ if environ is None else environ)
    order = {device: i for i, device in enumerate(pool)}
    free = list(pool)
    pending = list(jobs)
    running: list[_Running] = []
    outcomes: dict[int, Outcome] = {}
    notify = on_event or (lambda *args: None)
    try:
        while pending or running:
            while pending and len(running) < cap and pending[0].devices <= len(free):
                job = pending.pop(0)
                devices, free = tuple(free[: job.devices]), free[job.devices :]
                running.append(_start(job, devices, base_env, {r.port for r in running}, log_name))
                notify("start", job, None, devices)
            finished = [r for r in running if r.process.poll() is not None]
            if not finished:
                time.sleep(poll_interval)
                continue
            for r in finished:
                running.remove(r)
                r.log_file.close()  # type: ignore[attr-defined]
                outcome = Outcome(r.job, r.process.returncode, r.devices, r.started, time.time(), r.log_path)
                outcomes[r.job.index] = outcome
                free = sorted(free + list(r.devices), key=order.__getitem__)
                notify("end", r.job, outcome, r.devices)
    except BaseException:
        for r in running:
            _terminate(r.process)
            r.log_file.close()  # type: ignore[attr-defined]
        raise
    return [outcomes[job.index] for job in jobs]


def _start(
    job: Job, devices: tuple[str, ...], base_env: dict[str, str], ports_in_use: set[int], log_name: str
) -> _Running:
    env = {**base_env, **job.env}
    port = free_port(ports_in_use)
    env["MASTER_PORT"] = str(port)
    if devices:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
    job.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = job.run_dir / log_name
    log_file = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed when the job ends
    started = time.time()
    # A new session: the job's own DDP children share its process group, so Ctrl-C can end them all together.
    process = subprocess.Popen(
        job.argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    return _Running(job, process, devices, port, started, log_path, log_file)


def _terminate(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def last_error_line(log_path: Path, limit: int = 20000) -> str:
    """The most telling line of a failed job's log: seqforge's own error, else the last non-empty line."""
    try:
        with open(log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(log_path) - limit))
            lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("seqforge: error:"):
            return line
    return lines[-1] if lines else ""
