"""The sweep launcher's engine: device slices from a pool, concurrency, failures, clean environments, the summary."""

from __future__ import annotations

import csv
import json
import sys
from itertools import combinations
from pathlib import Path

import pytest

from seqforge.errors import ConfigError
from seqforge.launch import Job, Row, detect_pool, devices_per_job, run_jobs, write_summary

FAKE_JOB = str(Path(__file__).parents[1] / "fixtures" / "fake_sweep_job.py")
POOL = ["0", "1", "2", "3"]


def _jobs(tmp_path: Path, sizes: list[int], fail: set[int] = frozenset()) -> list[Job]:
    jobs = []
    for index, size in enumerate(sizes):
        run_dir = tmp_path / str(index)
        argv = [sys.executable, FAKE_JOB, f"hydra.run.dir={run_dir}", *(["seed=13"] if index in fail else [])]
        jobs.append(Job(index=index, argv=argv, run_dir=run_dir, devices=size, label=f"job {index}"))
    return jobs


def _record(job: Job) -> dict:
    return json.loads((job.run_dir / "record.json").read_text())


class _Tracker:
    """Counts running jobs and busy devices from the scheduler's start/end events."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.busy: set[str] = set()
        self.max_running = 0
        self.max_busy = 0

    def __call__(self, event: str, job: Job, outcome: object, devices: tuple[str, ...]) -> None:
        if event == "start":
            assert not self.busy & set(devices), f"job {job.index} got busy devices {devices}"
            self.running.add(job.index)
            self.busy |= set(devices)
        else:
            self.running.discard(job.index)
            self.busy -= set(devices)
        self.max_running = max(self.max_running, len(self.running))
        self.max_busy = max(self.max_busy, len(self.busy))


def test_each_job_sees_a_slice_of_its_size_and_concurrent_jobs_share_no_device(tmp_path: Path) -> None:
    """A pool of 4 devices, jobs of 2, 1, 1, 2, 4, 1, 3 devices: CUDA_VISIBLE_DEVICES sizes right, overlapping jobs
    disjoint"""
    jobs = _jobs(tmp_path, [2, 1, 1, 2, 4, 1, 3])
    tracker = _Tracker()
    outcomes = run_jobs(jobs, pool=POOL, on_event=tracker)
    assert [o.exit_code for o in outcomes] == [0] * len(jobs)
    records = [_record(job) for job in jobs]
    for job, outcome, record in zip(jobs, outcomes, records):
        seen = record["env"]["CUDA_VISIBLE_DEVICES"].split(",")
        assert len(seen) == job.devices and set(seen) <= set(POOL)
        assert tuple(seen) == outcome.devices
    for (a, ra), (b, rb) in combinations(enumerate(records), 2):
        overlapping = ra["start"] < rb["end"] and rb["start"] < ra["end"]
        if overlapping:
            assert not set(ra["env"]["CUDA_VISIBLE_DEVICES"].split(",")) & set(
                rb["env"]["CUDA_VISIBLE_DEVICES"].split(",")
            ), (a, b)
    assert tracker.max_busy == 4  # jobs 0, 1, 2 (2+1+1 devices) start together and fill the pool
    assert tracker.max_running == 3


def test_a_failed_job_is_reported_and_frees_its_slice_for_the_next(tmp_path: Path) -> None:
    """The whole pool's job fails; the next job gets the same devices, and the job after it still runs"""
    jobs = _jobs(tmp_path, [4, 4, 2], fail={0})
    outcomes = run_jobs(jobs, pool=POOL)
    assert [o.exit_code for o in outcomes] == [3, 0, 0]
    assert not outcomes[0].ok and outcomes[1].ok
    assert outcomes[0].log_path == jobs[0].run_dir / "job.log"
    assert "told to fail" in outcomes[0].log_path.read_text()
    assert _record(jobs[1])["env"]["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    assert _record(jobs[1])["start"] >= _record(jobs[0])["end"]


def test_the_concurrency_cap_holds_even_when_the_pool_has_room(tmp_path: Path) -> None:
    """max_parallel=2 with six 1-device jobs on 4 devices: never more than 2 at once, and 2 are used"""
    jobs = _jobs(tmp_path, [1] * 6)
    tracker = _Tracker()
    outcomes = run_jobs(jobs, pool=POOL, max_parallel=2, on_event=tracker)
    assert all(o.ok for o in outcomes)
    assert tracker.max_running == 2
    records = sorted((_record(job) for job in jobs), key=lambda r: r["start"])
    for i, record in enumerate(records):  # the job started third or later began after an earlier one ended
        started_before = records[:i]
        assert sum(r["end"] > record["start"] for r in started_before) <= 1


def test_cpu_jobs_run_one_at_a_time_by_default_and_take_no_devices(tmp_path: Path) -> None:
    """devices=0 jobs: no CUDA_VISIBLE_DEVICES slice, one job at a time unless max_parallel says otherwise"""
    jobs = _jobs(tmp_path, [0, 0, 0])
    tracker = _Tracker()
    outcomes = run_jobs(jobs, pool=POOL, environ={"PATH": "/usr/bin:/bin"}, on_event=tracker)
    assert all(o.ok and o.devices == () for o in outcomes)
    assert tracker.max_running == 1
    assert all(_record(job)["env"]["CUDA_VISIBLE_DEVICES"] is None for job in jobs)


def test_jobs_do_not_inherit_a_distributed_launch_and_get_distinct_free_ports(tmp_path: Path) -> None:
    """LOCAL_RANK, RANK, WORLD_SIZE, NODE_RANK, TORCHELASTIC_* are cleared; MASTER_PORT is a fresh port per job"""
    environ = {
        "PATH": "/usr/bin:/bin",
        "LOCAL_RANK": "1",
        "RANK": "1",
        "WORLD_SIZE": "2",
        "NODE_RANK": "0",
        "MASTER_ADDR": "10.0.0.1",
        "MASTER_PORT": "12345",
        "TORCHELASTIC_RUN_ID": "x",
        "SEQFORGE_TEST_MARK": "kept",
    }
    jobs = _jobs(tmp_path, [1, 1, 1, 1])
    run_jobs(jobs, pool=POOL, environ=environ)
    envs = [_record(job)["env"] for job in jobs]
    for env in envs:
        assert env["SEQFORGE_TEST_MARK"] == "kept"
        assert all(
            env[k] is None
            for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "TORCHELASTIC_RUN_ID")
        )
        assert env["MASTER_PORT"] != "12345" and int(env["MASTER_PORT"]) > 0
    assert len({env["MASTER_PORT"] for env in envs}) == len(envs)


def test_a_job_wider_than_the_pool_is_refused_before_anything_starts(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, [1, 5])
    with pytest.raises(ValueError, match="job #1 needs 5 devices; the pool has 4"):
        run_jobs(jobs, pool=POOL)
    assert not (tmp_path / "0").exists()


# -- the device pool --------------------------------------------------------------------
def test_the_pool_comes_from_the_config_then_cuda_visible_devices() -> None:
    assert detect_pool([0, 1, 2, 3], {"CUDA_VISIBLE_DEVICES": "5"}) == POOL
    assert detect_pool(None, {"CUDA_VISIBLE_DEVICES": "4,5, 7"}) == ["4", "5", "7"]
    assert detect_pool(None, {"CUDA_VISIBLE_DEVICES": "GPU-aa,GPU-bb"}) == ["GPU-aa", "GPU-bb"]
    assert detect_pool(None, {"CUDA_VISIBLE_DEVICES": ""}) == []
    assert detect_pool(None, {"CUDA_VISIBLE_DEVICES": "0,-1,2"}) == ["0"]  # CUDA stops at the first invalid id
    with pytest.raises(ConfigError, match=r"hydra\.launcher\.devices"):
        detect_pool([0, 0])


def test_devices_per_job_follows_trainer_devices() -> None:
    assert devices_per_job("gpu", 2, 4, job="#0") == 2
    assert devices_per_job("cuda", "3", 4, job="#0") == 3
    assert devices_per_job("auto", -1, 4, job="#0") == 4
    assert devices_per_job("gpu", "auto", 8, job="#0") == 8
    assert devices_per_job("cpu", 2, 4, job="#0") == 0  # CPU jobs take no GPUs
    assert devices_per_job("auto", 2, 0, job="#0") == 0  # auto on a machine without GPUs is a CPU job
    with pytest.raises(ConfigError, match=r"sweep job #3 \(x=1\): trainer.devices=5 but .* only 4"):
        devices_per_job("gpu", 5, 4, job="#3 (x=1)")
    with pytest.raises(ConfigError, match="give a count"):
        devices_per_job("gpu", [0, 1], 4, job="#0")
    with pytest.raises(ConfigError, match="device pool is empty"):
        devices_per_job("gpu", 1, 0, job="#0")


# -- the summary ---------------------------------------------------------------------------
def test_the_summary_lists_every_job_with_its_swept_overrides_and_metrics(tmp_path: Path) -> None:
    common = ["trainer.max_steps=5"]
    result = {
        "monitor": "val/loss",
        "mode": "min",
        "best": 1.25,
        "final": {"val/loss": 1.5, "test/loss": 1.75},
        "objective": 1.25,
    }
    rows = [
        Row(job=0, overrides=["model/cell=lstm", *common], status="ok", exit_code=0, wall_time=3.21, devices="0,1",
            run_dir=str(tmp_path / "0"), log=str(tmp_path / "0" / "job.log"), result=result),
        Row(job=1, overrides=["model/cell=gru", *common], status="failed", exit_code=1, wall_time=1.0, devices="2,3",
            run_dir=str(tmp_path / "1"), log=str(tmp_path / "1" / "job.log"), result=None),
    ]
    csv_path, md_path = write_summary(tmp_path, rows)
    with open(csv_path, newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["job"] for r in table] == ["0", "1"]
    assert table[0]["overrides"] == "model/cell=lstm trainer.max_steps=5"  # the CSV keeps every override
    assert float(table[0]["best val/loss"]) == 1.25 and float(table[0]["test/loss"]) == 1.75
    assert table[1]["status"] == "failed" and table[1]["best val/loss"] == "" and table[1]["exit"] == "1"
    markdown = md_path.read_text()
    assert "| 0 | ok | model/cell=lstm | 1.25 | 1.75 | 1.5 | 3.2 | 0,1 | 0 |" in markdown
    assert "| 1 | failed | model/cell=gru |" in markdown
