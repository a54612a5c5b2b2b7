"""The ``requires_plugins`` marker: a test that needs one of our plugin distributions says so.

CI installs every plugin, so a missing one there fails the test loudly (a skipped end-to-end test would
hide a broken install). A core-only check (``SEQFORGE_CORE_ONLY=1``, see README "Testing") skips it
instead; deselect such tests outright with ``-m "not requires_plugins"``.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

import pytest

CORE_ONLY = "SEQFORGE_CORE_ONLY"


def installed_version(distribution: str) -> str:
    """The distribution's version, or ``"not installed"`` (module-level constants must not fail collection)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def check_required_plugins(item: pytest.Item) -> None:
    """Called before each test: skip (core-only runs) or fail (everywhere else) when a required plugin is missing."""
    names = [name for marker in item.iter_markers("requires_plugins") for name in marker.args]
    missing = [f"seqforge-{name}" for name in names if installed_version(f"seqforge-{name}") == "not installed"]
    if not missing:
        return
    if os.environ.get(CORE_ONLY) == "1":
        pytest.skip(f"needs {', '.join(missing)} ({CORE_ONLY}=1)")
    pytest.fail(
        f"{item.nodeid} needs {', '.join(missing)}, which is not installed. Install the plugins as README's "
        f"Testing section says, or run a core-only check with {CORE_ONLY}=1 (skips) or -m \"not requires_plugins\".",
        pytrace=False,
    )
