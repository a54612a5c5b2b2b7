"""Two installed distributions registering the same component name, end to end through the `seqforge` command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import TINY, run_seqforge
from fixtures.fake_dist import write_fake_distribution

#: An "impostor" whose entry point ('aaa') sorts before 'rnn' and registers 'lstm' with the very class seqforge-rnn has.
IMPOSTOR = """
    from dataclasses import dataclass
    from seqforge import hookimpl

    SEQFORGE_PLUGIN_API = "1.0"

    @dataclass
    class SameConfig:
        forget_bias: float = 1.0
        fused: bool = True

    @hookimpl
    def seqforge_register(registry):
        registry.cell("lstm", "seqforge_rnn.cells.LSTMCell", SameConfig, description="the same class under a taken name")
"""


@pytest.fixture
def impostor_site(tmp_path: Path) -> dict[str, str]:
    """The environment of a `seqforge` process that also sees distribution ``seqforge-impostor`` (entry point 'aaa')."""
    site = write_fake_distribution(tmp_path / "site", {"aaa": IMPOSTOR}, name="seqforge-impostor", version="9.9")
    return {"PYTHONPATH": str(site)}


def assert_refused_naming_both(result) -> None:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    message = " ".join(result.stderr.split())
    assert "The cell name 'lstm' (config key `model/cell`) is registered by 2 installed distributions" in message, (
        message
    )
    assert "`model/cell=seqforge-rnn:lstm` from plugin 'rnn' (seqforge-rnn" in message
    assert "`model/cell=seqforge-impostor:lstm` from plugin 'aaa' (seqforge-impostor 9.9)" in message
    assert "the same class path" in message and "select one by its qualified name" in message


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_plain_name_on_the_command_line_is_refused_naming_both_providers(
    impostor_site: dict[str, str], tmp_path: Path
) -> None:
    """`model/cell=lstm` with two providers exits 2 before composing, naming both and the qualified spellings"""
    result = run_seqforge("train", "model/cell=lstm", "trainer.max_steps=1", cwd=tmp_path, env=impostor_site)
    assert result.returncode == 2
    assert_refused_naming_both(result)


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_default_cell_from_the_primary_config_is_refused_too(impostor_site: dict[str, str], tmp_path: Path) -> None:
    """The default `model/cell: lstm` (no override at all) is refused before training, not resolved by load order"""
    result = run_seqforge(
        "train",
        "experiment=char_lm",
        "trainer.max_steps=1",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env=impostor_site,
    )
    assert_refused_naming_both(result)
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_qualified_name_trains_and_the_checkpoint_keeps_the_class_path(
    impostor_site: dict[str, str], tmp_path: Path
) -> None:
    """`model/cell=seqforge-rnn:lstm` trains with both plugins loaded (neither skipped); the run's config holds the
    import path"""
    run = tmp_path / "run"
    result = run_seqforge(
        "train",
        "model/cell=seqforge-rnn:lstm",
        "trainer.max_steps=2",
        *TINY,
        f"hydra.run.dir={run}",
        cwd=tmp_path,
        env=impostor_site,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped" not in result.stderr
    assert "_target_: seqforge_rnn.cells.LSTMCell" in (run / "config.yaml").read_text()
    assert (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_plugins_check_flags_the_shared_name_on_both_sides_even_with_the_same_class(
    impostor_site: dict[str, str], tmp_path: Path
) -> None:
    """`plugins check` of the impostor and of the original both break `no collisions`, naming the other distribution"""
    impostor = run_seqforge("plugins", "check", "seqforge-impostor", "--steps", "2", cwd=tmp_path, env=impostor_site)
    assert impostor.returncode == 1 and "Traceback" not in impostor.stderr, impostor.stderr
    out = " ".join(impostor.stdout.split())
    assert re.search(r"BROKEN plugin 'aaa' · no collisions: cell 'lstm' is also registered by plugin 'rnn' "
                     r"\(seqforge-rnn \S+\) \(the same class path\)", out), out
    assert "users must write `model/cell=seqforge-impostor:lstm` or `model/cell=seqforge-rnn:lstm`" in out
    original = run_seqforge("plugins", "check", "rnn", "--steps", "2", cwd=tmp_path, env=impostor_site)
    assert original.returncode == 1, original.stdout
    assert "cell 'lstm' is also registered by plugin 'aaa' (seqforge-impostor 9.9) (the same class path)" in " ".join(
        original.stdout.split()
    )


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_plugins_list_offers_only_the_qualified_names_of_a_shared_name(
    impostor_site: dict[str, str], tmp_path: Path
) -> None:
    """`plugins list` lists both plugins, selects the shared name by qualified names only, and prints the collision"""
    result = run_seqforge("plugins", "list", cwd=tmp_path, env=impostor_site)
    assert result.returncode == 0 and "skipped" not in result.stderr, result.stderr
    out = " ".join(result.stdout.split())
    assert "model/cell=seqforge-rnn:lstm" in out and "model/cell=seqforge-impostor:lstm" in out
    assert re.search(r"collision cell 'lstm' is registered by plugin 'aaa' \(seqforge-impostor 9.9\), plugin 'rnn' "
                     r"\(seqforge-rnn \S+\): "
                     r"`model/cell=lstm` is refused", out), out


@pytest.mark.requires_plugins("rnn")
def test_qualified_names_pass_the_command_line_check_in_sweeps_too(capsys: pytest.CaptureFixture[str]) -> None:
    """`model/cell=seqforge-rnn:lstm,gru` (Hydra re-emits it as `seqforge-rnn\\:lstm`) passes; a misspelt qualified name
    is suggested"""
    from seqforge.cli import _check_component_overrides

    _check_component_overrides(["model/cell=seqforge-rnn:lstm,gru"])
    _check_component_overrides(["model/cell=seqforge-rnn\\:lstm"])
    with pytest.raises(SystemExit):
        _check_component_overrides(["model/cell=seqforge-rnn:lsmt"])
    assert "Unknown cell 'seqforge-rnn:lsmt'" in capsys.readouterr().err
