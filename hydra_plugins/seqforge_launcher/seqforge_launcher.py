"""``hydra/launcher=seqforge``: every sweep job is its own ``seqforge train`` process.

Hydra's basic launcher runs jobs inside the sweep's process, where Lightning's
DDP breaks (its children re-run the whole sweep's command line; Lightning
#11300, Hydra #2070). This launcher composes each job's config only to learn
its directory and device needs, then starts ``python -m seqforge train
<job overrides> hydra.run.dir=<job dir>``: a single run, so ``strategy=ddp``
inside it is safe. Scheduling lives in :mod:`seqforge.launch`; this module
adapts it to Hydra (config, job directories, :class:`JobReturn` objectives).
"""

# No `from __future__ import annotations`: Hydra's plugin scan runs this module before it is in sys.modules,
# and dataclasses then cannot resolve string annotations.
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, filter_overrides, setup_globals
from hydra.errors import CompactHydraException
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

log = logging.getLogger(__name__)


@dataclass
class SeqforgeLauncherConf:
    """``hydra.launcher.*`` of the seqforge launcher."""

    _target_: str = "hydra_plugins.seqforge_launcher.seqforge_launcher.SeqforgeLauncher"
    # GPU ids to share out; null: the caller's CUDA_VISIBLE_DEVICES, else every GPU torch sees.
    devices: list[Any] | None = None
    # Jobs at once. null: as many as the device pool allows (GPU jobs), 1 for CPU jobs.
    max_parallel: int | None = None
    # How a job starts; its overrides and hydra.run.dir are appended. null: [<this python>, -m, seqforge, train].
    command: list[str] | None = None
    # Extra environment variables for every job.
    env: dict[str, str] = field(default_factory=dict)
    # Each job's stdout and stderr, in its own directory.
    log_name: str = "job.log"


ConfigStore.instance().store(group="hydra/launcher", name="seqforge", node=SeqforgeLauncherConf, provider="seqforge")

# Hydra overrides that configure the sweep itself and mean nothing (or the wrong thing) to a single-run job.
_SWEEP_ONLY = re.compile(r"^[~+]*hydra([./])(launcher|sweeper|sweep|run|mode)\b")


class SweepJobFailed(CompactHydraException):
    """A sweep job exited non-zero (Hydra prints this message alone, without a traceback)."""


class NoObjective:
    """A finished job's return value when it reported no objective: a sweeper's ``float()`` of it fails with the reason.

    Optuna's sweeper then records the trial as failed (``TrialState.FAIL``), logs the
    reason and goes on with the next trials, which a ``FAILED`` job status would stop.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __float__(self) -> float:
        raise ValueError(self.reason)

    def __str__(self) -> str:
        return self.reason

    __repr__ = __str__


def no_objective_reason(label: str, index: int, result: dict[str, Any] | None) -> str:
    """Why job ``index`` has no objective, and what to change."""
    if result is None:
        return f"sweep job #{index} ({label}) exited 0 but wrote no result.json, so it has no objective"
    monitor = result.get("monitor", "?")
    logged = ", ".join(sorted(result.get("final", {}))) or "none"
    return (
        f"sweep job #{index} ({label}) reported no objective: checkpoint.monitor={monitor} was never logged (metrics "
        f"it logged: {logged}). Set checkpoint.monitor to one of them, or check that validation runs "
        "(trainer.limit_val_batches)"
    )


def _guard_optuna_sweeper() -> None:
    """Optuna's sweeper ends with ``study.best_trial``, a ``ValueError`` traceback when no trial completed: say why
    instead.

    Wrapped only when the sweeper is imported, i.e. in use; the seqforge launcher's rows tell whether any trial
    completed.
    """
    from seqforge.vendor_adapters import wrap_optuna_sweep

    wrap_optuna_sweep(_guarded_sweep)


def _guarded_sweep(sweep: Any) -> Any:
    """``OptunaSweeperImpl.sweep`` that names the failed trials when none produced an objective."""

    def guarded(self: Any, arguments: list[str]) -> Any:
        try:
            return sweep(self, arguments)
        except ValueError:  # "No trials are completed yet" (in memory), "Record does not exist." (database storage)
            rows = getattr(self.launcher, "rows", None)
            if rows is None or any(row.status == "ok" for row in rows):
                raise
            summary = Path(str(self.config.hydra.sweep.dir)) / "summary.md"
            raise SweepJobFailed(
                "No trial of the Optuna sweep produced an objective, so there is no best trial; each trial was "
                f"recorded as failed with its reason (above, and in {summary}). Fix what the reasons name and run the "
                "sweep again."
            ) from None

    return guarded


def _quote(value: str) -> str:
    """``value`` as a Hydra override value (quoted when it has characters the override grammar treats specially)."""
    if re.fullmatch(r"[\w/.\-:+@~%]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SeqforgeLauncher(Launcher):
    def __init__(
        self,
        devices: Sequence[Any] | None = None,
        max_parallel: int | None = None,
        command: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        log_name: str = "job.log",
    ) -> None:
        self.devices = None if devices is None else list(devices)
        self.max_parallel = max_parallel
        self.command = list(command) if command else [sys.executable, "-m", "seqforge", "train"]
        self.env = {str(k): str(v) for k, v in (env or {}).items()}
        self.log_name = log_name
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self.rows: list[Any] = []  # every job of the sweep so far (sweepers such as Optuna launch several batches)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        # sweepers set up their launcher from their own setup, so the sweeper is imported by now
        _guard_optuna_sweeper()

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from seqforge.errors import SeqforgeError
        from seqforge.launch import Job, detect_pool, devices_per_job, run_jobs
        from seqforge.launch.summary import varying_overrides
        from seqforge.results import RESULT_FILE, read_result

        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).absolute()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        try:
            pool = detect_pool(self.devices)
        except SeqforgeError as exc:
            raise SweepJobFailed(str(exc)) from None
        hydra_flags = cast(list[str], OmegaConf.to_container(self.config.hydra.overrides.hydra))  # a list of strings
        hydra_overrides = [o for o in hydra_flags if not _SWEEP_ONLY.match(str(o))]

        jobs, configs = [], []
        labels = varying_overrides([filter_overrides(o) for o in job_overrides])
        for offset, overrides in enumerate(job_overrides):
            index = initial_job_idx + offset
            cfg = self._job_config(list(overrides), index)
            run_dir = Path(cfg.hydra.runtime.output_dir)
            label = " ".join(labels[offset])
            try:
                n = devices_per_job(
                    OmegaConf.select(cfg, "trainer.accelerator", default="cpu"),
                    OmegaConf.select(cfg, "trainer.devices", default=1),
                    len(pool),
                    job=f"#{index} ({label})",
                )
            except SeqforgeError as exc:
                raise SweepJobFailed(str(exc)) from None
            # a rerun into the same sweep dir must not report the old result
            (run_dir / RESULT_FILE).unlink(missing_ok=True)
            argv = [
                *self.command,
                *self._config_flags(),
                *hydra_overrides,
                *overrides,
                f"hydra.run.dir={_quote(str(run_dir))}",
            ]
            jobs.append(Job(index=index, argv=argv, run_dir=run_dir, devices=n, label=label, env=self._job_env(cfg, n)))
            configs.append(cfg)

        log.info(f"seqforge launcher: {len(jobs)} job(s) in {sweep_dir}; device pool: {','.join(pool) or 'none (CPU)'}")
        outcomes = run_jobs(
            jobs, pool=pool, max_parallel=self.max_parallel, log_name=self.log_name, on_event=self._report
        )
        return self._finish(sweep_dir, jobs, configs, outcomes, [read_result(j.run_dir) for j in jobs])

    # -- per job ---------------------------------------------------------------------
    def _config_flags(self) -> list[str]:
        """The sweep's ``--config-name``/``--config-dir``/``--config-path``, so every job composes from the same
        configs."""
        assert self.config is not None
        flags = []
        if self.config.hydra.job.config_name != "config":
            flags.append(f"--config-name={self.config.hydra.job.config_name}")
        for source in self.config.hydra.runtime.config_sources:
            location = source.path if source.schema == "file" else f"{source.schema}://{source.path}"
            if source.provider == "command-line":
                flags.append(f"--config-dir={location}")
            elif source.provider == "main" and location != "pkg://seqforge.conf":
                flags.append(f"--config-path={location}")
        return flags

    def _job_config(self, overrides: list[str], index: int) -> DictConfig:
        """The job's composed config with its directory resolved (as Hydra's own launchers do), validating its
        overrides."""
        assert self.config is not None and self.hydra_context is not None
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        with open_dict(cfg):
            cfg.hydra.job.id = f"{index}"
            cfg.hydra.job.num = index
        HydraConfig.instance().set_config(cfg)
        output_dir = os.path.join(
            str(OmegaConf.select(cfg, "hydra.sweep.dir")), str(OmegaConf.select(cfg, "hydra.sweep.subdir"))
        )
        with read_write(cfg.hydra.runtime):
            cfg.hydra.runtime.output_dir = os.path.abspath(output_dir)
        return cfg

    def _job_env(self, cfg: DictConfig, devices: int) -> dict[str, str]:
        env = dict(self.env)
        if devices == 0 and "OMP_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in env:
            # CPU jobs share the machine's cores: (jobs at once) x (processes per job) threads must not oversubscribe
            # them.
            procs = OmegaConf.select(cfg, "trainer.devices", default=1)
            procs = procs if isinstance(procs, int) and procs > 0 else 1
            env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // ((self.max_parallel or 1) * procs)))
        return env

    @staticmethod
    def _report(event: str, job: Any, outcome: Any, devices: tuple[str, ...]) -> None:
        from seqforge.launch.scheduler import last_error_line

        where = f" on devices {','.join(devices)}" if devices else ""
        if event == "start":
            print(f"[seqforge launcher] #{job.index} started{where}: {job.label or '(no overrides)'}", flush=True)
        elif outcome.ok:
            print(f"[seqforge launcher] #{job.index} finished in {outcome.wall_time:.1f} s", flush=True)
        else:
            reason = last_error_line(outcome.log_path)
            print(
                f"[seqforge launcher] #{job.index} FAILED with exit code {outcome.exit_code} after "
                f"{outcome.wall_time:.1f} s{where}; log: {outcome.log_path}" + (f"\n    {reason}" if reason else ""),
                file=sys.stderr, flush=True,
            )

    # -- the batch's results ----------------------------------------------------------
    def _finish(
        self, sweep_dir: Path, jobs: list[Any], configs: list[DictConfig], outcomes: list[Any], results: list[Any]
    ) -> list[JobReturn]:
        from seqforge.launch import Row, print_summary, write_summary

        assert self.config is not None  # set by setup(), before any launch
        # Hydra's basic sweeper (a grid) ignores return values; sweepers that optimise (Optuna) need each job's
        # objective.
        optimising = "BasicSweeper" not in str(OmegaConf.select(self.config, "hydra.sweeper._target_", default=""))
        missing = {o.job.index: no_objective_reason(o.job.label, o.job.index, r) for o, r in zip(outcomes, results)
                   if optimising and o.ok and (r or {}).get("objective") is None}
        for reason in missing.values():
            print(
                f"[seqforge launcher] {reason}; reported to the sweeper as a failed trial.", file=sys.stderr, flush=True
            )
        batch = [
            Row(job=o.job.index, overrides=[str(x) for x in filter_overrides(c.hydra.overrides.task)],
                status="failed" if not o.ok else "no objective" if o.job.index in missing else "ok",
                exit_code=o.exit_code, wall_time=o.wall_time, devices=",".join(o.devices), run_dir=str(o.job.run_dir),
                log=str(o.log_path), result=r)
            for o, c, r in zip(outcomes, configs, results)
        ]
        self.rows += batch
        csv_path, md_path = write_summary(sweep_dir, self.rows)
        first, last = batch[0].job, batch[-1].job
        print_summary(batch, title=f"Sweep jobs #{first}" + (f"–#{last}" if last != first else ""))
        failed = [o for o in outcomes if not o.ok]
        print(
            f"Summary of all {len(self.rows)} job(s): {md_path} and {csv_path}"
            + (f"; {len(failed)} failed" if failed else "")
            + (
                f"; {without} without an objective"
                if (without := sum(r.status == "no objective" for r in self.rows))
                else ""
            ),
            flush=True,
        )

        returns = []
        for outcome, cfg, result in zip(outcomes, configs, results):
            ret = JobReturn(
                overrides=list(cfg.hydra.overrides.task),
                working_dir=str(outcome.job.run_dir),
                task_name=cfg.hydra.job.name,
            )
            with open_dict(cfg):
                ret.hydra_cfg = OmegaConf.create({"hydra": cfg.hydra})
                del cfg["hydra"]
            ret.cfg = cfg
            if outcome.ok:
                ret.status = JobStatus.COMPLETED
                index = outcome.job.index  # the monitored metric, for sweepers
                ret.return_value = NoObjective(missing[index]) if index in missing else result.get("objective")
            else:
                ret.status = JobStatus.FAILED
                ret.return_value = SweepJobFailed(
                    f"sweep job #{outcome.job.index} ({outcome.job.label}) failed with exit code {outcome.exit_code}; "
                    f"its log: {outcome.log_path}. {len(failed)} of {len(outcomes)} job(s) in this batch failed; the "
                    f"others ran to the end (summary: {md_path})."
                )
            returns.append(ret)
        return returns
