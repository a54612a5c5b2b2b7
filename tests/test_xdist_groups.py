"""``@pytest.mark.xdist_group`` reaches pytest-xdist's scheduler, so grouped tests share one worker under ``-n``."""

from __future__ import annotations

import os

import pytest


@pytest.mark.xdist_group("xdist_groups_self_check")
def test_a_grouped_test_carries_its_group_to_the_scheduler(request: pytest.FixtureRequest) -> None:
    """--dist loadgroup tags the test's id with its group (pytest-xdist 3.8 on pytest 9.2 silently stopped doing so,
    pytest-xdist#1386: hence pytest<9.2 in the test extra), and without ``-n`` the option is still set and inert"""
    assert request.config.getoption("dist") in ("loadgroup", "no")  # "no" inside a worker: the controller schedules
    if os.environ.get("PYTEST_XDIST_WORKER"):
        assert request.node.nodeid.endswith("@xdist_groups_self_check"), request.node.nodeid
    else:
        assert request.config.getoption("dist") == "loadgroup" and not request.config.getoption("tx")
