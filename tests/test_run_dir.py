"""One run, one directory: unique defaults, the lock, the write probe, no training over an earlier run, full disks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, run_seqforge, run_seqforge_in_process, write_corpus

from seqforge.run_dir import LOCK_FILE, RunDirError, claim, release

SHORT = ["trainer.max_steps=3", "checkpoint.every_n_train_steps=1", "logger=csv", "task.sample_length=0",
         "trainer.enable_model_summary=false", *TINY]
QUIET = {"OMP_NUM_THREADS": "1"}

#: A process that holds the lock on the directory in argv[1] until its stdin closes (a live run, without the training).
HOLDER = """
import sys
from pathlib import Path
from seqforge.run_dir import claim
claim(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path: Path):
    """Start a lock holder on a directory; yields (process, directory)."""
    started = []

    def start(directory: Path) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK")}
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert process.stdout.readline().strip() == "held"
        started.append(process)
        return process

    yield start
    for process in started:
        process.stdin.close()
        process.wait(timeout=30)


def _assert_clean_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr[-3000:]


# -- in-process: the lock --------------------------------------------------------------------
def test_a_directory_locked_by_a_live_run_is_refused_naming_its_pid(tmp_path: Path, holder) -> None:
    """The second claim names the holder's PID and the lock file; after the holder ends the directory is free"""
    process = holder(tmp_path / "run")
    with pytest.raises(RunDirError, match=rf"in use by another seqforge run \(PID {process.pid}, lock file "
                                          rf".*{LOCK_FILE}\)"):
        claim(tmp_path / "run")
    process.stdin.close()
    process.wait(timeout=30)
    assert claim(tmp_path / "run")
    release(tmp_path / "run")
    assert not (tmp_path / "run" / LOCK_FILE).exists()


def test_a_stale_lock_file_of_a_dead_process_does_not_block(tmp_path: Path) -> None:
    """A lock file left by a killed run (its PID gone, its flock released by the kernel) is taken over"""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / LOCK_FILE).write_text("999999\n")
    assert claim(tmp_path / "run")
    assert (tmp_path / "run" / LOCK_FILE).read_text().strip() == str(os.getpid())
    release(tmp_path / "run")


def test_ddp_children_and_other_ranks_neither_lock_nor_refuse(
    tmp_path: Path, holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning's DDP children (LOCAL_RANK) and torchrun ranks (RANK) re-run into a locked directory: not refused"""
    holder(tmp_path / "run")
    (tmp_path / "run" / "result.json").write_text("{}")
    for name in ("LOCAL_RANK", "RANK"):
        monkeypatch.setenv(name, "1")
        assert claim(tmp_path / "run") is False
        monkeypatch.delenv(name)
    with pytest.raises(RunDirError):
        claim(tmp_path / "run")


def test_claiming_twice_in_one_process_is_a_no_op(tmp_path: Path) -> None:
    """The Hydra callback claims, then the task claims again (it also runs under launchers that skip the callback)"""
    assert claim(tmp_path / "run") and claim(tmp_path / "run")
    release(tmp_path / "run")


@pytest.mark.requires_plugins("rnn")
def test_the_default_run_directory_differs_for_runs_started_in_the_same_second(config_store) -> None:
    """The default hydra.run.dir resolves to microseconds, so two runs started together never share it"""
    from hydra import compose, initialize_config_module

    from seqforge.config import register_schema

    register_schema()
    dirs = []
    with initialize_config_module("seqforge.conf", version_base=None):
        for _ in range(2):
            cfg = compose("config", return_hydra_config=True)
            dirs.append(str(cfg.hydra.run.dir))
            time.sleep(0.001)
    assert dirs[0] != dirs[1]
    assert dirs[0].split("/")[:2] == dirs[1].split("/")[:2]  # outputs/<date>/...


# -- through the CLI ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_training_into_a_directory_holding_a_run_is_refused_and_overwrite_clears_it(tmp_path: Path) -> None:
    """A second `train` into a finished run exits 1 offering resume=; nothing of the first run changes; overwrite=true
    retrains"""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=2000)
    args = [f"data.path={corpus}", *SHORT, f"hydra.run.dir={tmp_path / 'run'}"]
    first = run_seqforge_in_process("train", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert tmp_path / "run" / "checkpoints" / "best.ckpt" in before

    again = run_seqforge_in_process("train", *args, "seed=5", cwd=tmp_path)
    _assert_clean_failure(again, "already holds a run", "checkpoints/last.ckpt", "seqforge train "
                                                                                 f"resume={tmp_path / 'run'}",
                          "overwrite=true")
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert after == before  # not even .hydra/ was rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "run"]  # nothing written elsewhere

    first_rows = (tmp_path / "run" / "csv" / "metrics.csv").read_text().splitlines()
    fresh = run_seqforge_in_process("train", *args, "seed=5", "overwrite=true", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    rows = (tmp_path / "run" / "csv" / "metrics.csv").read_text().splitlines()
    assert len(rows) == len(first_rows) and rows != first_rows  # the new run's rows only, not both runs'
    assert not (tmp_path / "run" / "checkpoints" / "last-v1.ckpt").exists()
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["seqforge"]["config"]["seed"] == 5


@pytest.mark.requires_plugins("rnn")
def test_a_run_directory_under_a_regular_file_is_reported_before_training(tmp_path: Path) -> None:
    """hydra.run.dir below a file: exit 1, one paragraph naming the file, no traceback, nothing created"""
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    result = run_seqforge_in_process("train", *SHORT, f"hydra.run.dir={tmp_path / 'notes.txt' / 'run'}", cwd=tmp_path)
    _assert_clean_failure(result, "cannot be written", f"{tmp_path / 'notes.txt'} is a file", "hydra.run.dir=")
    assert "Nothing was trained" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.requires_plugins("rnn")
def test_a_second_run_into_a_live_runs_directory_is_refused_naming_the_pid(tmp_path: Path, holder) -> None:
    """While a run holds the directory, `seqforge train` and `resume=` into it exit 1 naming that run's PID"""
    process = holder(tmp_path / "run")
    result = run_seqforge_in_process("train", *SHORT, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    _assert_clean_failure(result, f"PID {process.pid}", "in use by another seqforge run")
    assert not (tmp_path / "run" / ".hydra").exists()


#: A callback module: from step `step` on, every checkpoint write fails as on a full disk (ENOSPC) or a read-only
#: file system (EROFS), injected where the checkpoint writer calls torch.save.
FAIL_WRITES = '''
import errno, os
import lightning as L
import seqforge.checkpoint_writing as checkpoint_io


class FailWrites(L.Callback):
    def __init__(self, step: int, code: str) -> None:
        self.step, self.code = step, getattr(errno, code)

    def on_train_batch_start(self, trainer, *args) -> None:
        if trainer.global_step >= self.step:
            code = self.code

            class Broken:
                @staticmethod
                def save(obj, handle):
                    handle.write(b"partial")
                    raise OSError(code, os.strerror(code))

            checkpoint_io.torch = Broken
'''


@pytest.mark.slow
@pytest.mark.parametrize("code, reason", [("ENOSPC", "the disk is full"), ("EROFS", "the file system is read-only")])
@pytest.mark.requires_plugins("rnn")
def test_a_full_disk_mid_run_stops_with_a_message_and_keeps_the_previous_last_checkpoint(
    tmp_path: Path, code: str, reason: str
) -> None:
    """A checkpoint write failing at step 4: exit 1, the message says why and that last.ckpt (step 2) is intact"""
    (tmp_path / "failwrites.py").write_text(FAIL_WRITES)
    corpus = write_corpus(tmp_path / "corpus.txt", chars=2000)
    result = run_seqforge(
        "train", f"data.path={corpus}", *SHORT, "trainer.max_steps=6", "checkpoint.every_n_train_steps=2",
        "+callbacks.fail._target_=failwrites.FailWrites", "+callbacks.fail.step=3", f"+callbacks.fail.code={code}",
        f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env={**QUIET, "PYTHONPATH": str(tmp_path)},
    )
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    _assert_clean_failure(result, f"Could not write the checkpoint {last} at step 4: {reason}", "The previous "
                                                                                                "last.ckpt is intact",
                          f"seqforge train resume={tmp_path / 'run'}")
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 2
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]  # no temporary file left behind
