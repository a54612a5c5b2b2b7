"""``seqforge.api`` is the declared plugin surface: documented, light to import, and the only core module plugins use."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import seqforge.api as api
from seqforge.errors import SeqforgeError, UsageError

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_MODULES = {"seqforge.api", "seqforge.testing"}


def _public_api_section() -> str:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    match = re.search(r"^## Public API\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, "docs/plugins.md has no '## Public API' section"
    return match.group(1)


def _documented_names() -> set[str]:
    """The first column of the section's table: | `name` | what it is |."""
    return set(re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", _public_api_section(), flags=re.M))


def test_every_public_name_is_documented() -> None:
    """Each name in seqforge.api.__all__ has a row in docs/plugins.md's Public API table"""
    missing = sorted(set(api.__all__) - _documented_names())
    assert not missing, f"undocumented public names (add a row to docs/plugins.md 'Public API'): {missing}"


def test_the_docs_list_no_name_the_api_lacks() -> None:
    """A row for a name that is not in __all__ (removed or misspelt) is caught too"""
    extra = sorted(_documented_names() - set(api.__all__))
    assert not extra, f"documented but not public: {extra}"


def test_the_docs_say_the_plugin_api_version_covers_this_surface() -> None:
    assert "`SEQFORGE_PLUGIN_API` versions exactly this surface" in _public_api_section()


@pytest.mark.parametrize("name", api.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(api, name) is not None
    assert name in dir(api)


def test_lazy_names_are_the_defining_modules_objects() -> None:
    from seqforge.recurrent.loop import run_cell
    from seqforge.run_loading import load_run
    from seqforge.search import beam_search

    assert (api.run_cell, api.beam_search, api.load_run) == (run_cell, beam_search, load_run)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'restore'"):
        api.restore  # noqa: B018 - the access is the test


def test_importing_the_api_imports_neither_torch_nor_hydra() -> None:
    """`seqforge plugins list` loads plugin modules that import seqforge.api: that must stay cheap"""
    code = "import sys, seqforge.api; print(sorted(m for m in ('torch', 'omegaconf', 'hydra', 'lightning', 'numpy') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- plugins import only seqforge.api and seqforge.testing -----------------------------------------------------
def core_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a seqforge module other than the public ones, at any depth in the file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from seqforge import x` imports from the package itself; `from seqforge.testing import x` is allowed
            modules = [node.module] if node.module != "seqforge" else [f"seqforge.{alias.name}" for alias in node.names]
        else:
            continue
        found += [
            (node.lineno, m)
            for m in modules
            if (m == "seqforge" or m.startswith("seqforge.")) and m not in ALLOWED_MODULES
        ]
    return found


def test_the_scan_finds_function_level_package_and_plain_imports() -> None:
    source = (
        "from seqforge.api import Registry\nfrom seqforge.testing import check_cell\nimport seqforge.api\n"
        "from seqforge import hookimpl\nimport seqforge.registry\n"
        "def f():\n    from seqforge.cli import fail\n"
        "from . import sibling\nfrom seqforge_rnn.cells import LSTMCell\n"
    )
    assert core_imports(source) == [(4, "seqforge.hookimpl"), (5, "seqforge.registry"), (7, "seqforge.cli")]


def _plugin_sources() -> list[Path]:
    files = sorted(ROOT.glob("plugins/*/src/**/*.py"))
    assert len(files) >= 10, files  # the four bundled plugins
    return files


def test_plugins_import_only_the_public_api() -> None:
    """Every module of a bundled plugin imports from seqforge only seqforge.api and seqforge.testing"""
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _plugin_sources() for line, module in core_imports(path.read_text(encoding="utf-8"))
    ]
    assert not offences, "plugins must import only seqforge.api / seqforge.testing:\n" + "\n".join(offences)


# -- the registry sits below the CLI ------------------------------------------------------------------------
def test_registry_does_not_import_the_cli() -> None:
    tree = ast.parse((ROOT / "seqforge" / "registry.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "seqforge.cli" not in imported


def test_builtin_command_names_match_the_cli() -> None:
    from seqforge.cli import COMMANDS
    from seqforge.commands import BUILTIN_COMMANDS

    assert set(COMMANDS) == BUILTIN_COMMANDS


def test_registering_a_builtin_command_is_refused_without_loading_the_cli() -> None:
    code = (
        "import sys\nfrom seqforge.registry import Registry\nfrom seqforge.errors import DuplicateComponentError\n"
        "r = Registry(store_configs=False)\n"
        "try:\n    r.command('predict', 'pkg.mod.func')\nexcept DuplicateComponentError as e:\n    print('refused', "
        "'seqforge.cli' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "refused False"


# -- key=value parsing for plugin commands ----------------------------------------------------------------
from dataclasses import dataclass  # noqa: E402


@dataclass
class _Args:
    ckpt: str | None = None
    topn: int = 10


def test_parse_key_values_types_values_and_keeps_dotted_overrides() -> None:
    args, overrides = api.parse_key_values(["ckpt=run", "topn=3", "data.path=x.txt"], _Args, "neighbors")
    assert (args.ckpt, args.topn, overrides) == ("run", 3, ["data.path=x.txt"])


@pytest.mark.parametrize("argv,message", [
    (["topn"], "takes KEY=VALUE arguments; got 'topn'. Known keys: ckpt, topn."),
    (["top=3"], "has no argument 'top'. Known: ckpt, topn"),
    (["topn=many"], "(argument `topn`)"),
])
def test_parse_key_values_raises_usage_error_not_system_exit(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        api.parse_key_values(argv, _Args, "neighbors")
    assert message in str(caught.value) and caught.value.exit_code == 2


def test_the_cli_turns_usage_error_into_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    from seqforge import cli

    with pytest.raises(SystemExit) as caught:
        cli.main(["evaluate", "split"])
    assert caught.value.code == 2
    assert "seqforge: error: `seqforge evaluate` takes KEY=VALUE arguments; got 'split'" in capsys.readouterr().err


# -- load_run ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step char-LM run (the one test_resume_data trains)."""
    from cli_helpers import write_corpus
    from test_resume_data import _lm

    from seqforge.train import run_training

    root = tmp_path_factory.mktemp("lm")
    run_training(_lm(write_corpus(root / "corpus.txt", chars=800)), root / "run")
    return root / "run"


@pytest.mark.requires_plugins("rnn")
def test_load_run_rebuilds_the_trained_module_from_a_run_directory(lm_run: Path) -> None:
    module = api.load_run(lm_run)
    saved = torch.load(lm_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    assert module.state_dict().keys() == saved.keys()
    assert all(torch.equal(module.state_dict()[k], v) for k, v in saved.items())
    assert hasattr(module.task, "generate") and module.data is not None


@pytest.mark.requires_plugins("rnn")
def test_load_run_applies_overrides_as_dotted_words_or_a_mapping(lm_run: Path) -> None:
    assert api.load_run(lm_run, ["data.eval_batch_size=3"]).data.cfg.eval_batch_size == 3
    assert api.load_run(lm_run, {"data": {"eval_batch_size": 5}}).data.cfg.eval_batch_size == 5


@pytest.mark.requires_plugins("rnn")
def test_load_run_names_a_misspelt_override_key(lm_run: Path) -> None:
    with pytest.raises(SeqforgeError, match="eval_batch_sise"):
        api.load_run(lm_run, ["data.eval_batch_sise=3"], command="neighbors")


@pytest.mark.requires_plugins("rnn")
def test_load_run_refuses_a_checkpoint_whose_config_builds_foreign_code(tmp_path: Path) -> None:
    """The registry check of restore stays in force: a crafted target is refused before it is built"""
    from test_checkpoint_safety import _config, _opener, _write_checkpoint

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    ckpt = _write_checkpoint(tmp_path / "evil.ckpt", _config(data=_opener(victim)))
    with pytest.raises(SeqforgeError, match=r"evil\.ckpt"):
        api.load_run(ckpt)
    assert victim.read_text() == "precious\n"


def test_load_run_without_a_checkpoint_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(SeqforgeError, match=r"`vectors_from=.*` is a directory without a checkpoint"):
        api.load_run(tmp_path, key="vectors_from")
