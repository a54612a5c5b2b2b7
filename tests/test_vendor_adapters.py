"""The private Hydra/OmegaConf/Optuna-sweeper/Lightning names seqforge relies on exist on the installed, pinned
versions.

An upgrade that moves one fails the test named after it here, instead of a user's run.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from seqforge.vendor_adapters import PRIVATE_APIS, PrivateApi

ROOT = Path(__file__).resolve().parents[1]
#: Every private name, with the text that gives it away in source code.
PRIVATE_MARKERS = (
    "hydra._internal",
    "_run_hydra",
    "_apply_overrides_to_config",
    "_get_node(",
    "hydra_optuna_sweeper._impl",
    "_save_last_checkpoint",
    "_monitor_candidates",
    "_last_global_step_saved",
    "batch_progress",
    "_save_topk_checkpoint",
    "_should_skip_saving_checkpoint",
    "_every_n_train_steps",
)


def _pinned() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    requirements = [Requirement(line) for line in lines]
    return {r.name: r for r in requirements if r.specifier}


def _resolve(api: PrivateApi) -> Any:
    """The named object; an attribute set in ``__init__`` is looked up on a default-constructed instance."""
    value: Any = (
        pytest.importorskip(api.module)
        if api.distribution == "hydra-optuna-sweeper"
        else __import__(api.module, fromlist=["_"])
    )
    for part in api.path.split("."):
        if not hasattr(value, part) and inspect.isclass(value):
            value = _instance(value)
        value = getattr(value, part)
    return value


def _instance(cls: type) -> Any:
    if cls.__name__ == "Trainer":
        return cls(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    return cls()


@pytest.mark.parametrize("distribution", sorted({api.distribution for api in PRIVATE_APIS}))
def test_the_installed_version_is_in_the_pinned_range(distribution: str) -> None:
    """The checks below vouch for the pinned range only: each distribution the adapters touch is pinned and installed
    within it"""
    requirement = _pinned().get(distribution)
    assert requirement is not None, (
        f"{distribution} has no version range in pyproject.toml; pin the versions the adapters were checked on"
    )
    assert requirement.specifier.contains(version(distribution), prereleases=True), (
        distribution,
        version(distribution),
        str(requirement),
    )


@pytest.mark.parametrize("api", PRIVATE_APIS, ids=lambda api: f"{api.module}:{api.path}")
def test_the_private_name_exists_with_the_expected_signature(api: PrivateApi) -> None:
    value = _resolve(api)
    if api.parameters is None:
        return  # an attribute: existing is what the adapter needs
    parameters = list(inspect.signature(value).parameters)
    assert parameters[: len(api.parameters)] == list(api.parameters), (
        f"{api.module}.{api.path} now takes {parameters}; {api.used_by} in seqforge/vendor_adapters.py passes "
        f"{list(api.parameters)}"
    )


def test_no_other_module_touches_a_private_name() -> None:
    """Only seqforge/vendor_adapters.py (and this test) name the private APIs"""
    sources = [*(ROOT / "seqforge").rglob("*.py"), *(ROOT / "hydra_plugins").rglob("*.py")]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {marker}"
        for path in sources if path.name != "vendor_adapters.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for marker in PRIVATE_MARKERS if marker in line and not re.match(r"\s*#", line)
    ]
    assert found == [], "call these through seqforge/vendor_adapters.py:\n" + "\n".join(found)


def test_every_private_name_is_used_by_an_adapter_that_exists() -> None:
    import seqforge.vendor_adapters as adapters

    missing = [api.used_by for api in PRIVATE_APIS if not callable(getattr(adapters, api.used_by, None))]
    assert missing == []
