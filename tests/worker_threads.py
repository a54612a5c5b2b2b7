"""One intra-op thread per pytest-xdist worker, so ``pytest -n 2`` on two cores runs two busy threads, not four.

The repository's root ``conftest.py`` calls :func:`limit_worker_threads` when pytest starts. Torch would otherwise
give each worker (and each ``seqforge`` subprocess a test starts) a thread per core, and the workers' threads would
spin waiting on each other. ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` go into the worker's environment so its
subprocesses inherit one thread; a value the caller set is kept (and torch follows it).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: Set by pytest-xdist in each worker process (``gw0``, ``gw1``, ...); absent in a plain run and in the controller.
XDIST_WORKER = "PYTEST_XDIST_WORKER"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_worker_threads(environ: MutableMapping[str, str] = os.environ) -> int | None:
    """In an xdist worker: default the thread variables to 1 and set torch's intra-op threads to
    ``OMP_NUM_THREADS``; returns that count (``None`` outside a worker: a plain ``pytest`` run keeps torch's
    defaults)."""
    if not environ.get(XDIST_WORKER):
        return None
    for name in THREAD_VARIABLES:
        environ.setdefault(name, "1")
    threads = int(environ["OMP_NUM_THREADS"]) if environ["OMP_NUM_THREADS"].isdigit() else 1
    import torch

    torch.set_num_threads(max(1, threads))
    return torch.get_num_threads()
