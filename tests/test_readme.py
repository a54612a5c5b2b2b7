"""README's Quick start is the contract: two commands, and CI runs the second one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md needs a ```bash block under '## Quick start'"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_quick_start_has_exactly_two_commands() -> None:
    """One command trains the main job, one runs the tests"""
    commands = quick_start_commands()
    assert len(commands) == 2
    assert commands[0].endswith("seqforge train")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run runs README's second command, so a green CI means the README works"""
    assert quick_start_commands()[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_plugin_in_the_repo_is_installed_by_the_quick_start() -> None:
    """A plugin added under plugins/ but not installed would skip its tests silently"""
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if (plugin / "pyproject.toml").is_file():
            assert f"-e plugins/{plugin.name}" in quick_start_commands()[1]
