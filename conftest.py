"""Settings for every test of the repository (tests/ and each plugin's tests/), which no narrower conftest covers."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from worker_threads import limit_worker_threads  # tests/ is on sys.path ([tool.pytest.ini_options] pythonpath)

    limit_worker_threads()  # README's test command runs two pytest-xdist workers: one torch thread each
