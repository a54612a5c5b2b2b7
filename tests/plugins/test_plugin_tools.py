"""Tools for plugin authors: `seqforge plugins new` (scaffold), `seqforge plugins check`, run-time contract violations."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import seqforge
from seqforge.cli import main
from seqforge.errors import ContractViolation, SeqforgeError
from seqforge.scaffold import write_plugin
from seqforge.testing.pytest_plugin import TINY_TRAIN


@pytest.fixture(autouse=True)
def _keep_the_global_rng() -> Any:
    """These tests build modules with torch's global generator; later tests must not see a different random stream."""
    with torch.random.fork_rng():
        yield


CELL_SOURCE = '''
    from dataclasses import dataclass

    import torch
    from torch import nn

    from seqforge import hookimpl

    SEQFORGE_PLUGIN_API = "1.0"


    class Cell(nn.Module):
        def __init__(self, input_size, hidden_size, extra=0):
            super().__init__()
            self.input_size, self.hidden_size, self.extra = input_size, hidden_size, extra
            self.w = nn.Linear(input_size + hidden_size, hidden_size)

        def initial_state(self, batch_size, *, device, dtype):
            return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)

        def forward(self, x_t, h):
            h = torch.tanh(self.w(torch.cat([x_t, h], dim=-1)))
            return torch.cat([h] + [h[:, :1]] * self.extra, dim=-1), h


    @dataclass
    class Config:
        extra: int = EXTRA


    @hookimpl
    def seqforge_register(registry):
        registry.cell("NAME", __name__ + ".Cell", Config, description="a fake cell")
'''


def fake_cell_plugin(name: str, extra: int) -> str:
    """A plugin module registering cell ``name`` whose outputs have ``extra`` features too many."""
    return CELL_SOURCE.replace("EXTRA", str(extra)).replace("NAME", name)


@pytest.fixture
def checked_site(tmp_path: Path, plugin_env: Any) -> Any:
    """An installed fake distribution with a good cell plugin ('fakegood') and a wrong-shaped one ('fakebad')."""
    from fixtures.fake_dist import write_fake_distribution

    from seqforge.plugin_manager import get_plugins

    get_plugins()
    site = write_fake_distribution(
        tmp_path / "site", {"fakegood": fake_cell_plugin("fake-good", 0), "fakebad": fake_cell_plugin("fake-bad", 1)}
    )
    plugin_env.syspath_prepend(str(site))
    yield site
    for module in [m for m in sys.modules if m.startswith("seqforge_fake_")]:
        del sys.modules[module]


# -- seqforge plugins check ----------------------------------------------------------------------
def test_plugins_check_passes_a_good_plugin(checked_site: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """`seqforge plugins check fakegood` runs the registration and cell suites and reports 0 broken"""
    main(["plugins", "check", "fakegood", "--steps", "20"])
    out = capsys.readouterr().out
    assert (
        "cell 'fake-good' (plugin 'fakegood')" in out and "12 of 12" in out and "5 of 5" in out and "BROKEN" not in out
    )
    assert "17 contracts checked, 0 broken." in out


def test_plugins_check_reports_the_broken_contracts_and_exits_1(
    checked_site: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cell with one output feature too many is reported contract by contract, with the fix, and the exit status is 1"""
    with pytest.raises(SystemExit) as exit_info:
        main(["plugins", "check", "fakebad", "--steps", "20"])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert (
        "BROKEN cell 'fake-bad' (plugin 'fakebad') · shapes: with batch 1, forward(x_t (1, 3), state) returned h_t of "
        "shape (1, 7); expected (1, 6)"
        in out
    )
    assert "How to fix: return the layer's output for this step as a (B, hidden_size) tensor" in out
    assert "BROKEN plugin 'fakebad'" not in out  # its registrations are fine
    assert "contracts checked, 0 broken" not in out


def test_plugins_check_of_a_distribution_checks_each_of_its_entry_points(
    checked_site: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """By distribution name, every entry point of the distribution is checked (the broken one makes the run fail)"""
    with pytest.raises(SystemExit):
        main(["plugins", "check", "seqforge-fake-plugins", "--steps", "20"])
    out = capsys.readouterr().out
    assert (
        "checking plugin 'fakebad' (seqforge-fake-plugins 0.3.0)" in out
        and "checking plugin 'fakegood' (seqforge-fake-plugins 0.3.0)" in out
    )


@pytest.mark.requires_plugins("rnn")
def test_plugins_check_of_an_unknown_name_lists_the_installed_plugins(
    plugin_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name no installed plugin has is a one-paragraph error listing what is installed"""
    with pytest.raises(SystemExit) as exit_info:
        main(["plugins", "check", "seqforge-nothing"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "no installed plugin has that distribution or entry-point name (installed: " in err and "seqforge-rnn" in err


def test_plugins_check_flags_a_plugin_taking_a_core_name(fake_site: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A plugin registering the core's encoder 'recurrent' (skipped at load) breaks `no collisions`, saying core names
    are reserved"""
    with pytest.raises(SystemExit) as exit_info:
        main(["plugins", "check", "acoredup", "--steps", "2"])
    assert exit_info.value.code == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "no collisions: encoder 'recurrent' is also registered by plugin 'core' (seqforge " in out
    assert "the core's names are reserved, so this plugin is skipped when plugins load" in out


# -- run-time contract violations --------------------------------------------------------------
class WideCell(nn.Module):
    """Outputs H + 1 features: the generic loop must name it."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.w = nn.Linear(input_size, hidden_size + 1)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.w(x_t)
        return out, out[:, : self.hidden_size]


class BadStateCell(WideCell):
    """Returns a state of the wrong width: the masked loop fails, and the error names the cell."""

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.w(x_t)
        return out[:, : self.hidden_size], out


@dataclass
class TinyConfig:
    """No options."""


@pytest.fixture
def registered_wide_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process-wide plugins, as if plugin 'wide' (seqforge-wide 0.2) had registered the two cells above."""
    import pluggy

    from seqforge import plugin_manager as plugins
    from seqforge.registry import Provider, Registry

    registry = Registry(store_configs=False)
    registry.begin(Provider("wide", "seqforge-wide", "0.2"))
    registry.cell("wide", WideCell, TinyConfig)
    registry.cell("bad-state", BadStateCell, TinyConfig)
    registry.commit()
    monkeypatch.setattr(plugins, "_loaded", plugins.LoadedPlugins(registry, pluggy.PluginManager("seqforge")))


def built_cell(name: str) -> Any:
    """The registered cell ``name`` built as a run builds it (through ``seqforge.builders``, which records its
    provider)."""
    from omegaconf import OmegaConf

    from seqforge.builders import instantiate
    from seqforge.plugin_manager import get_registry

    return instantiate(
        OmegaConf.structured(get_registry().get("cell", name).node), "model.cell", input_size=3, hidden_size=4
    )


def test_cell_with_wrong_output_shape_inside_the_loop_is_named_with_its_plugin(registered_wide_cells: None) -> None:
    """A cell returning (B, H + 1) inside seqforge's loop raises ContractViolation naming the component and its plugin"""
    from seqforge.recurrent import run_cell

    with pytest.raises(ContractViolation, match=r"^The cell 'wide' of plugin 'wide' \(seqforge-wide 0.2\) returned "
                                                r"outputs of shape \(2, 5, 5\) "
                       r"for inputs \(2, 5, 3\); expected \(B, T, hidden_size\) = \(2, 5, 4\)\. .*seqforge plugins "
                       r"check"):
        run_cell(built_cell("wide"), torch.randn(2, 5, 3))


def test_cell_with_wrong_state_shape_is_named_when_the_masked_loop_fails(registered_wide_cells: None) -> None:
    """A state of the wrong width breaks the masked update; the error names the cell instead of showing torch internals
    only"""
    from seqforge.recurrent import run_cell

    with pytest.raises(ContractViolation, match=r"^The cell 'bad-state' of plugin 'wide' \(seqforge-wide 0.2\) "
                                                r"returned a state of shape\(s\) "
                       r"\[\(2, 5\)\] from a state of shape\(s\) \[\(2, 4\)\] \(a step must keep its state's shapes\), "
                       r"which broke "
                       r"seqforge's recurrent loop: ") as excinfo:
        run_cell(built_cell("bad-state"), torch.randn(2, 5, 3), torch.tensor([5, 2]))
    assert isinstance(excinfo.value.__cause__, RuntimeError)  # the original error stays chained


class RaisingCell(WideCell):
    """Its own step code fails (a matmul of the wrong width): that is the plugin's bug."""

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(x_t @ torch.ones(x_t.shape[1] + 1, self.hidden_size))
        return h, h


class TorchStepCell(nn.Module):
    """Its steps are torch's own nn.GRUCell (one input feature too wide): the error is raised in torch, not in the
    plugin."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.project_input = nn.Identity()
        self.step = nn.GRUCell(input_size + 1, hidden_size)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)


def test_error_raised_in_the_cells_own_code_is_blamed_with_its_file_and_line(registered_wide_cells: None) -> None:
    """A RuntimeError from a frame of the cell's own module becomes a ContractViolation naming file:line, the cause
    chained"""
    from seqforge.recurrent import run_cell

    with pytest.raises(ContractViolation, match=r"^The RaisingCell \(.*\) raised RuntimeError in its own code "
                                                r"\(.*test_plugin_tools\.py:\d+ in forward\): ") as excinfo:
        run_cell(RaisingCell(3, 4), torch.randn(2, 5, 3))
    assert isinstance(excinfo.value.__cause__, RuntimeError) and "seqforge plugins check" in str(excinfo.value)


def test_error_raised_outside_the_cells_code_propagates_unchanged(plugin_env: Any) -> None:
    """An error raised only in torch's code (no frame of the cell's package) is not blamed on the plugin: it propagates
    as is"""
    from seqforge.recurrent import run_cell

    with pytest.raises(RuntimeError) as excinfo:
        run_cell(TorchStepCell(3, 4), torch.randn(2, 5, 3))
    assert not isinstance(excinfo.value, ContractViolation) and "bug in that component" not in str(excinfo.value)


def test_unregistered_cell_is_named_by_its_class(plugin_env: Any) -> None:
    """A cell no plugin registered (built by hand) is named by class and module"""
    from seqforge.recurrent import run_cell

    with pytest.raises(ContractViolation, match=r"^The WideCell \(.*test_plugin_tools\) returned outputs of shape"):
        run_cell(WideCell(3, 4), torch.randn(2, 5, 3))


def test_cell_built_by_the_encoder_is_named_with_its_plugin(registered_wide_cells: None) -> None:
    """The real path: build_encoder hands the stack a factory that builds through the registry, so each layer's cell
    names its plugin"""
    from omegaconf import OmegaConf

    from seqforge.builders import build_encoder
    from seqforge.plugin_manager import get_registry

    model = OmegaConf.create({"cell": OmegaConf.structured(get_registry().get("cell", "wide").node),
                              "encoder": {"_target_": "seqforge.encoders.RecurrentEncoder"},
                              "hidden_size": 4, "num_layers": 2, "bidirectional": True, "dropout": 0.0})
    encoder = build_encoder(model, input_size=3)
    with pytest.raises(ContractViolation, match=r"^The cell 'wide' of plugin 'wide' \(seqforge-wide 0.2\) returned "
                                                r"outputs of shape"):
        encoder(torch.randn(2, 5, 3), torch.tensor([5, 3]))


def test_cell_built_by_hand_is_named_by_its_class_even_if_a_plugin_registers_that_class(
    registered_wide_cells: None,
) -> None:
    """Provenance is attached where the registry builds a component: a hand-built instance of a registered class names
    no plugin"""
    from seqforge.recurrent import run_cell

    with pytest.raises(ContractViolation, match=r"^The WideCell \(.*test_plugin_tools\) returned outputs of shape"):
        run_cell(WideCell(3, 4), torch.randn(2, 5, 3))


def make_wide_cell(input_size: int, hidden_size: int) -> WideCell:
    """A factory function (not a class) registered as a cell: what it returns is still named by its registration."""
    return WideCell(input_size, hidden_size)


def test_cell_from_a_registered_factory_function_is_named_with_its_plugin(
    registered_wide_cells: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider is found by the registered target, not by the built object's class (which a factory function hides)"""
    from seqforge.plugin_manager import get_registry
    from seqforge.recurrent import run_cell
    from seqforge.registry import Provider

    registry = get_registry()
    registry.begin(Provider("wide", "seqforge-wide", "0.2"))
    registry.cell("wide-made", make_wide_cell, TinyConfig)
    registry.commit()
    with pytest.raises(ContractViolation, match=r"^The cell 'wide-made' of plugin 'wide' \(seqforge-wide 0.2\) "
                                                r"returned outputs of shape"):
        run_cell(built_cell("wide-made"), torch.randn(2, 5, 3))


def test_provenance_survives_pickling_and_deepcopy(registered_wide_cells: None) -> None:
    """DDP spawn pickles the model and Lightning may deepcopy it: the copies still name their plugin"""
    import copy
    import pickle

    from seqforge.provenance import describe

    cell = built_cell("wide")
    for copied in (copy.deepcopy(cell), pickle.loads(pickle.dumps(cell))):
        assert describe(copied) == "cell 'wide' of plugin 'wide' (seqforge-wide 0.2)"
    assert all(not key.startswith("_seqforge") for key in cell.state_dict())


# -- seqforge plugins new ----------------------------------------------------------------------
def test_scaffold_writes_a_package_with_entry_point_api_version_component_readme_and_tests(tmp_path: Path) -> None:
    """`seqforge plugins new seqforge-mini --kind cell` writes the six files of an installable plugin package"""
    main(["plugins", "new", "seqforge-mini", "--kind", "cell", "--dir", str(tmp_path)])
    root = tmp_path / "seqforge-mini"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", "src/seqforge_mini/__init__.py", "src/seqforge_mini/cell.py",
        "src/seqforge_mini/plugin.py", "tests/test_seqforge_mini.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    assert (
        '[project.entry-points.seqforge]\nmini = "seqforge_mini.plugin"' in pyproject
        and 'name = "seqforge-mini"' in pyproject
    )
    assert (
        f'SEQFORGE_PLUGIN_API = "{seqforge.PLUGIN_API_VERSION}"' in (root / "src/seqforge_mini/plugin.py").read_text()
    )
    assert 'check_cell("mini")' in (root / "tests/test_seqforge_mini.py").read_text()
    for path in root.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


@pytest.mark.parametrize(
    "kind, module, cls, check",
    [("cell", "cell", "MyThingCell", "check_cell"), ("attention", "attention", "MyThingAttention", "check_attention")],
)
def test_scaffolded_components_keep_their_contracts_before_installation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, module: str, cls: str, check: str
) -> None:
    """The generated component itself passes seqforge.testing (imported from src/, before any install)"""
    import importlib

    import seqforge.testing as testing

    root = write_plugin("acme-things", kind, tmp_path, name="my_thing")
    monkeypatch.syspath_prepend(str(root / "src"))
    component = getattr(importlib.import_module(f"acme_things.{module}"), cls)
    try:
        getattr(testing, check)(
            component, **({"training": {"steps": 30}} if kind == "cell" else {"query_size": 5, "memory_size": 7})
        )
    finally:
        for name in [m for m in sys.modules if m.startswith("acme_things")]:
            del sys.modules[name]


@pytest.mark.parametrize("argv, message", [
    (["bad name", "--kind", "cell"], "'bad name' is not a valid distribution name"),
    (["seqforge-x", "--kind", "cell", "--name", "Has Caps"], "'Has Caps' cannot be a component name"),
    (["seqforge-x", "--kind", "cell", "--name", "null"], "'null' cannot be a component name"),
    (["9lives", "--kind", "cell"], "its import name '9lives' would not be a Python identifier"),
])
def test_scaffold_rejects_bad_names_in_one_paragraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Invalid distribution or component names are refused with the reason, and nothing is written"""
    with pytest.raises(SystemExit) as exit_info:
        main(["plugins", "new", *argv, "--dir", str(tmp_path)])
    assert exit_info.value.code == 1 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_scaffold_never_overwrites_a_non_empty_folder(tmp_path: Path) -> None:
    """Scaffolding twice into the same place fails instead of overwriting the author's work"""
    write_plugin("seqforge-mine", "cell", tmp_path)
    (tmp_path / "seqforge-mine" / "src" / "seqforge_mine" / "cell.py").write_text("# my work\n")
    with pytest.raises(SeqforgeError, match="already exists and is not empty"):
        write_plugin("seqforge-mine", "cell", tmp_path)
    assert (tmp_path / "seqforge-mine" / "src" / "seqforge_mine" / "cell.py").read_text() == "# my work\n"


# -- the scaffold installed in a fresh environment ---------------------------------------------------
def fresh_venv(path: Path) -> Path:
    """A new virtualenv that also sees this environment's packages (torch, seqforge, pytest), so nothing is downloaded.

    ``--system-site-packages`` would expose the *system* Python's packages, not this
    venv's; a ``.pth`` line calling ``site.addsitedir`` on this environment's
    site-packages exposes exactly ours, including the editable installs' own ``.pth`` hooks.
    Packages installed into the new venv stay there (the current environment is untouched).
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "_seqforge_parent_env.pth").write_text("import site; "
                                                         f"site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    return python


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_scaffolded_plugins_install_pass_their_tests_and_train_from_the_cli(tmp_path: Path) -> None:
    """Scaffold a cell and an attention plugin, `pip install -e` them into a fresh venv, run their tests, train with the
    cell"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SEQFORGE_") and k != "PYTHONPATH"},
        "OMP_NUM_THREADS": "1",
    }
    for dist, kind in (("seqforge-mini-cell", "cell"), ("acme-attn", "attention")):
        made = subprocess.run(
            [sys.executable, "-m", "seqforge", "plugins", "new", dist, "--kind", kind, "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
    python = fresh_venv(tmp_path / "venv")

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(python), *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=timeout
        )

    installed = run(
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-e",
        "seqforge-mini-cell",
        "-e",
        "acme-attn",
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert (
        subprocess.run([sys.executable, "-c", "import seqforge_mini_cell"], capture_output=True, env=env).returncode
        != 0
    )  # ours untouched

    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "seqforge-mini-cell/tests", "acme-attn/tests")
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "9 passed" in tests.stdout

    trained = run(
        "-m",
        "seqforge",
        "train",
        "model/cell=mini_cell",
        "model.cell.gate_bias=0.5",
        *TINY_TRAIN,
        "hydra.run.dir=run",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (
        "gate_bias: 0.5" in (tmp_path / "run" / "config.yaml").read_text()
        and "seqforge_mini_cell.cell.MiniCell" in (tmp_path / "run" / "config.yaml").read_text()
    )
    assert "ppl" in trained.stdout



def test_wrapped_cell_is_named_through_its_wrapper(registered_wide_cells: None) -> None:
    """Inside CompiledLoop the error still names the registered cell (and the wrapper)"""
    from seqforge.provenance import describe
    from seqforge.recurrent import CompiledLoop

    assert (
        describe(CompiledLoop(built_cell("wide")))
        == "cell 'wide' of plugin 'wide' (seqforge-wide 0.2) (in CompiledLoop)"
    )
