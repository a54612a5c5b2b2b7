"""The requires_plugins marker: a missing plugin fails the test, except in a core-only run, where it skips."""

from __future__ import annotations

import pytest
from plugin_requirements import CORE_ONLY

CONFTEST = """
from plugin_requirements import check_required_plugins

def pytest_configure(config):
    config.addinivalue_line("markers", "requires_plugins(*names): needs seqforge-<name>")

def pytest_runtest_setup(item):
    check_required_plugins(item)
"""

TESTS = """
import pytest

@pytest.mark.requires_plugins("no-such-plugin")
def test_needs_a_missing_plugin():
    pass

def test_needs_nothing():
    pass
"""


def test_a_missing_plugin_fails_loudly_and_names_the_way_out(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without SEQFORGE_CORE_ONLY a missing plugin fails the run (a setup error) naming the distribution and
    SEQFORGE_CORE_ONLY=1"""
    monkeypatch.delenv(CORE_ONLY, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(errors=1, passed=1)  # an error at setup: the run fails
    result.stdout.fnmatch_lines(["*needs seqforge-no-such-plugin, which is not installed*SEQFORGE_CORE_ONLY=1*"])


def test_a_core_only_run_skips_what_needs_a_missing_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SEQFORGE_CORE_ONLY=1 turns the failure into a skip; other tests still run"""
    monkeypatch.setenv(CORE_ONLY, "1")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    pytester.runpytest_inprocess().assert_outcomes(skipped=1, passed=1)
