"""The import contracts in pyproject.toml (`lint-imports`): layers point down, no cycles, plugins use the public API
only.

CI runs `lint-imports` on its own line too; running it here makes a violation fail the suite
wherever the tests run. The other tests keep the contracts from going stale: a new core module
must be placed in a layer, and a new plugin package must be checked like the others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: import-linter brings tomli
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "seqforge"


def importlinter_config() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def contract(contract_id: str) -> dict[str, Any]:
    return next(c for c in importlinter_config()["contracts"] if c["id"] == contract_id)


def lint_imports() -> str:
    """The `lint-imports` of this environment (it is in the `test` extra); the test is skipped only without it."""
    found = Path(sys.executable).with_name("lint-imports")
    executable = str(found) if found.is_file() else shutil.which("lint-imports")
    if executable is None:
        pytest.skip("lint-imports is not installed (pip install -e '.[test]')")
    return executable


def run_lint(cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [lint_imports(), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def core_modules() -> list[str]:
    """Every module and package of the seqforge source tree, by dotted name."""
    names = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def layer_modules() -> list[str]:
    names = []
    for layer in contract("layers")["layers"]:
        names += [name.strip().strip("()") for name in layer.replace("|", ":").split(":")]  # (name): may be absent
    return names


@pytest.mark.requires_plugins("rnn")
def test_lint_imports_keeps_every_contract() -> None:
    """`lint-imports` passes on the repository: a layer, cycle or public-API violation fails the suite"""
    result = run_lint(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(importlinter_config()['contracts'])} kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, line, reported", [
    # the old provenance lookup
    ("recurrent/loop.py", "from seqforge.plugin_manager import loaded_registry",
     "seqforge.recurrent.loop -> seqforge.plugin_manager"),
    # the import that once tied 21 modules into one cycle
    ("registry.py", "from seqforge.cli import main", ".registry -> .cli"),
    ("recurrent/state.py", "import lightning", "seqforge.recurrent.state -> lightning"),
    ("tasks/lm.py", "from seqforge.train import build_run", "seqforge.tasks.lm -> seqforge.train"),
])
@pytest.mark.requires_plugins("rnn")
def test_lint_imports_fails_on_an_upward_or_cyclic_import(
    tmp_path: Path, module: str, line: str, reported: str
) -> None:
    """A copy of seqforge with one bad import added (inside a function, where it is easiest to hide) breaks a contract"""
    shutil.copytree(CORE, tmp_path / "seqforge", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "seqforge" / module
    path.write_text(path.read_text() + f"\n\ndef _added() -> None:\n    {line}\n")
    result = run_lint(tmp_path, PYTHONPATH=str(tmp_path))
    assert result.returncode == 1 and "BROKEN" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
    assert reported in result.stdout


def test_every_core_module_sits_in_a_layer() -> None:
    """A new module of seqforge must be placed in the layers contract (else nothing would check its imports)"""
    layers = layer_modules()

    def placed(module: str) -> bool:
        return any(module == layer or module.startswith(layer + ".") for layer in layers)

    containers = {"seqforge", "seqforge.data", "seqforge.tasks"}  # empty __init__ files holding the layered modules
    assert [m for m in core_modules() if not placed(m) and m not in containers] == []
    assert len(layers) == len(set(layers)), "a module is in two layers"


def test_the_plugin_contract_forbids_every_core_module_except_the_public_api() -> None:
    """Plugins may import seqforge.api and seqforge.testing only: every other top-level module of seqforge is forbidden"""
    top_level = {".".join(m.split(".")[:2]) for m in core_modules() if m != "seqforge"}
    assert set(contract("plugins-public-api")["forbidden_modules"]) == top_level - {"seqforge.api", "seqforge.testing"}


def test_every_plugin_package_in_the_repository_is_checked() -> None:
    """Each package under plugins/ is a root package of import-linter and a source of both plugin contracts"""
    packages = sorted(init.parent.name for init in (ROOT / "plugins").glob("*/src/*/__init__.py"))
    packages += sorted(
        init.parent.name
        for init in (ROOT / "plugins").glob("*/*/__init__.py")
        if init.parent.name not in ("src", "tests")
    )
    assert packages, "no plugin packages found under plugins/"
    for name in packages:
        assert name in importlinter_config()["root_packages"], f"add {name!r} to [tool.importlinter] root_packages"
        for contract_id in ("plugins-public-api", "plugins-root"):
            assert name in contract(contract_id)["source_modules"], (
                f"add {name!r} to the source_modules of contract {contract_id!r}"
            )
