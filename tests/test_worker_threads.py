"""pytest-xdist workers run torch with one thread each, and pass that on to the subprocesses they start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import torch
from worker_threads import limit_worker_threads


@pytest.fixture
def torch_threads() -> Iterator[None]:
    """Torch's thread count as it was before the test."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_worker_defaults_torch_and_its_subprocesses_to_one_thread(torch_threads: None) -> None:
    environ = {"PYTEST_XDIST_WORKER": "gw1"}
    torch.set_num_threads(2)
    assert limit_worker_threads(environ) == 1 == torch.get_num_threads()
    assert environ["OMP_NUM_THREADS"] == environ["MKL_NUM_THREADS"] == "1"


def test_a_thread_count_the_caller_set_is_kept(torch_threads: None) -> None:
    environ = {"PYTEST_XDIST_WORKER": "gw0", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "3"}
    assert limit_worker_threads(environ) == 2 == torch.get_num_threads()
    assert (environ["OMP_NUM_THREADS"], environ["MKL_NUM_THREADS"]) == ("2", "3")


def test_outside_a_worker_nothing_changes(torch_threads: None) -> None:
    torch.set_num_threads(2)
    environ: dict[str, str] = {}
    assert limit_worker_threads(environ) is None
    assert environ == {} and torch.get_num_threads() == 2


def test_this_session_follows_the_rule() -> None:
    """Under ``pytest -n 2`` this very worker runs torch with ``OMP_NUM_THREADS`` (1 unless the caller set it) threads,
    and a subprocess it starts inherits the same count; a plain run is left alone"""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        assert limit_worker_threads(dict(os.environ)) is None
        return
    threads = int(os.environ["OMP_NUM_THREADS"])
    assert torch.get_num_threads() == threads
    code = "import torch; print(torch.get_num_threads())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert child.stdout.strip() == str(threads)
