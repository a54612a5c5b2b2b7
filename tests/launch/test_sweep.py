"""`seqforge train -m` through the seqforge launcher: job directories, failures, the summary, Optuna, SLURM presets, DDP
jobs."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import TINY, run_seqforge, write_corpus

FAKE_JOB = Path(__file__).parents[1] / "fixtures" / "fake_sweep_job.py"
FAKE_COMMAND = f"hydra.launcher.command=[{sys.executable},{FAKE_JOB}]"
QUIET = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _summary(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_a_gpu_sweep_gives_each_job_its_slice_reports_failures_and_exits_non_zero(tmp_path: Path) -> None:
    """4 jobs (2 or 1 devices, 2 failing) on a pool of 4: slices by trainer.devices, failures named with log and exit
    code"""
    sweep = tmp_path / "sweep"
    presets = tmp_path / "presets" / "experiment"
    presets.mkdir(parents=True)
    (presets / "tiny.yaml").write_text("# @package _global_\nmodel:\n  hidden_size: 8\n")
    result = run_seqforge(
        "train",
        "-m",
        f"--config-dir={presets.parent}",
        "experiment=tiny",
        "trainer.accelerator=gpu",
        "trainer.devices=2,1",
        "seed=0,13",
        "hydra.launcher.devices=[0,1,2,3]",
        FAKE_COMMAND,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env=QUIET,
    )
    assert result.returncode != 0
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    for job, (devices, fails) in enumerate([(2, False), (2, True), (1, False), (1, True)]):
        record = json.loads((sweep / str(job) / "record.json").read_text())
        assert len(record["env"]["CUDA_VISIBLE_DEVICES"].split(",")) == devices
        # the job runs as a single run in its numbered directory
        assert f"hydra.run.dir={sweep / str(job)}" in record["args"]
        assert not any(a.startswith("hydra.launcher") for a in record["args"])
        # same configs as the sweep
        assert f"--config-dir={presets.parent}" in record["args"] and "experiment=tiny" in record["args"]
        if fails:
            assert (
                f"#{job} FAILED with exit code 3" in result.stderr
                and str(sweep / str(job) / "job.log") in result.stderr
            )
    assert "told to fail" in result.stderr  # the failed job's own error line is shown
    rows = _summary(sweep)
    assert [(r["job"], r["status"], r["exit"]) for r in rows] == [
        ("0", "ok", "0"),
        ("1", "failed", "3"),
        ("2", "ok", "0"),
        ("3", "failed", "3"),
    ]
    assert "sweep job #1" in result.stderr and "failed with exit code 3" in result.stderr  # Hydra's closing message
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_optuna_gets_each_jobs_monitored_metric_as_its_objective(tmp_path: Path) -> None:
    """hydra/sweeper=optuna with 2 trials through the seqforge launcher (SQLite storage): best value = the best job's
    metric"""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    sweep = tmp_path / "sweep"
    result = run_seqforge(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        "optim.lr=interval(0.001,0.1)",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.sampler.seed=1",
        f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}",
        "hydra.sweeper.study_name=t",
        FAKE_COMMAND,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env=QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    objectives = [json.loads((sweep / str(job) / "result.json").read_text())["objective"] for job in (0, 1)]
    assert objectives[0] != objectives[1]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(objectives))
    assert best["best_params"]["optim.lr"] == pytest.approx(min(objectives))  # the fake job's metric is its lr
    assert (tmp_path / "study.db").stat().st_size > 0
    assert len(_summary(sweep)) == 2


# -- SLURM presets (no cluster) -------------------------------------------------------------
def _compose_with_hydra(overrides: list[str]) -> Any:
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from seqforge.config import register_schema
    from seqforge.plugin_manager import get_plugins

    get_plugins()
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module("seqforge.conf", version_base=None):
        return compose("config", overrides=overrides, return_hydra_config=True)


@pytest.mark.requires_plugins("rnn")
def test_the_slurm_preset_sizes_the_allocation_from_the_trainer(
    tmp_path: Path, config_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hydra/launcher=slurm: nodes = trainer.num_nodes, one task and one GPU per device; submitit writes that sbatch
    script"""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    import submitit
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate

    cfg = _compose_with_hydra(
        [
            "hydra/launcher=slurm",
            "trainer=ddp",
            "trainer.devices=4",
            "trainer.num_nodes=2",
            "hydra.launcher.partition=gpu",
            f"hydra.sweep.dir={tmp_path}",
            "model/cell=gru",
        ]
    )
    assert (cfg.hydra.launcher.nodes, cfg.hydra.launcher.tasks_per_node, cfg.hydra.launcher.gpus_per_node) == (2, 4, 4)
    HydraConfig.instance().set_config(cfg)
    launcher = instantiate(cfg.hydra.launcher)
    launcher.setup(hydra_context=None, task_function=lambda c: None, config=cfg)
    submitted: dict[str, Any] = {}

    def capture(executor: Any, fn: Any, *iterables: Any) -> list[Any]:
        submitted["executor"], submitted["args"] = executor._executor, list(zip(*iterables))
        return []

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", capture)
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))  # pretend srun exists
    launcher.launch([["model/cell=lstm"], ["model/cell=gru"]], initial_job_idx=0)
    executor = submitted["executor"]
    assert len(submitted["args"]) == 2
    script = executor._make_submission_file_text("python -m seqforge", "uid")
    for line in (
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --partition=gpu",
        "#SBATCH --signal=USR2@120",
        "#SBATCH --time=240",
    ):
        assert line in script, line


def test_under_srun_a_ddp_job_inside_a_multirun_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """submitit's tasks are started by srun: Lightning re-runs nothing, so the in-process refusal must not fire"""
    from seqforge.cli import _processes_started_externally

    for key in (
        "SLURM_NTASKS",
        "SLURM_JOB_NAME",
        "TORCHELASTIC_RUN_ID",
        "LOCAL_RANK",
        "RANK",
        "WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
        "GROUP_RANK",
    ):
        monkeypatch.delenv(key, raising=False)
    assert not _processes_started_externally()
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_JOB_NAME", "seqforge")
    assert _processes_started_externally()


# -- real training jobs ---------------------------------------------------------------------------
@pytest.mark.xdist_group("ddp")  # two ranks each: never two such tests at once under `pytest -n`
@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_a_sweep_of_ddp_jobs_on_cpu_runs_each_job_in_its_own_directory(tmp_path: Path) -> None:
    """`seqforge train -m model/cell=lstm,gru trainer.strategy=ddp trainer.devices=2` on CPU: one dir per job, metrics,
    summary"""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=3000)
    sweep = tmp_path / "sweep"
    result = run_seqforge(
        "train", "-m", "model/cell=lstm,gru", "trainer.strategy=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        "trainer.max_steps=3", "trainer.val_check_interval=3", "task.sample_length=0", f"data.path={corpus}", *TINY,
        # both jobs at once: distinct ports
        "hydra.launcher.max_parallel=2", f"hydra.sweep.dir={sweep}", cwd=tmp_path, env=QUIET,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
    # DDP ranks stayed in their job's dir
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "multirun").exists()
    for job, cell in enumerate(("lstm", "gru")):
        job_dir = sweep / str(job)
        assert (
            yaml.safe_load((job_dir / "config.yaml").read_text())["model"]["cell"]["_target_"]
            .lower()
            .endswith(f"{cell}cell")
        )
        result_json = json.loads((job_dir / "result.json").read_text())
        assert result_json["step"] == 3 and result_json["monitor"] == "val/loss"
        assert result_json["best"] == pytest.approx(result_json["final"]["val/loss"])  # one validation: best = final
        assert "test/loss" in result_json["final"]
        logs = (job_dir / "job.log").read_text() + (job_dir / "seqforge.log").read_text()
        assert "MEMBER: 2/2" in logs and "distributed_backend=gloo" in logs  # DDP ran inside the job, with both ranks
    rows = _summary(sweep)
    assert [r["overrides"].split()[0] for r in rows] == ["model/cell=lstm", "model/cell=gru"]
    assert all(r["status"] == "ok" and float(r["best val/loss"]) > 0 for r in rows)
    assert "model/cell=gru" in (sweep / "summary.md").read_text()


@pytest.mark.requires_plugins("rnn")
def test_an_in_process_multirun_with_ddp_is_refused_with_a_pointer_to_the_seqforge_launcher(
    tmp_path: Path, config_store: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """hydra/launcher=basic + trainer.strategy=ddp: Lightning would re-run the whole sweep in every rank, so the job
    refuses"""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict

    from seqforge.cli import _train_task

    cfg = _compose_with_hydra(
        ["hydra/launcher=basic", "trainer=ddp", "trainer.accelerator=cpu", f"hydra.sweep.dir={tmp_path}"]
    )
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.runtime.output_dir = str(tmp_path / "0")
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    with pytest.raises(SystemExit) as exit_info:
        _train_task(cfg)
    assert exit_info.value.code == 1
    message = capsys.readouterr().err
    assert "trainer.strategy=ddp cannot run inside an in-process multirun (hydra/launcher=basic)" in message
    assert "hydra/launcher=seqforge" in message
    assert not (tmp_path / "0").exists()


def test_a_sweeper_from_a_missing_extra_gets_an_install_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from seqforge.cli import _check_sweep_plugins

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit):
        _check_sweep_plugins(["model/cell=gru", "hydra/sweeper=optuna"])
    assert (
        'hydra-optuna-sweeper package, which is not installed: pip install "seqforge[sweep]"' in capsys.readouterr().err
    )


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_submitits_local_executor_runs_a_training_job(tmp_path: Path) -> None:
    """hydra/launcher=submitit_local (the executor the SLURM preset builds on) runs seqforge's task function in a job"""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    result = run_seqforge(
        "train",
        "-m",
        "hydra/launcher=submitit_local",
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "task.sample_length=0",
        f"data.path={write_corpus(tmp_path / 'corpus.txt', chars=2000)}",
        *TINY,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env=QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    result_json = json.loads((sweep / "0" / "result.json").read_text())
    assert result_json["step"] == 2 and result_json["objective"] > 0
    assert list((sweep / ".submitit").glob("*/*_result.pkl"))


def test_hydras_plugin_scan_can_import_the_launcher_module() -> None:
    """Hydra's scan executes plugin modules before they are in sys.modules (as in a wheel install); the module must cope"""
    import importlib.util

    from hydra.plugins.launcher import Launcher

    spec = importlib.util.find_spec("hydra_plugins.seqforge_launcher.seqforge_launcher")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as hydra.core.plugins._scan_all_plugins does
    assert issubclass(module.SeqforgeLauncher, Launcher)
