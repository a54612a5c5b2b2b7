"""Plugin subcommands: ``registry.command`` and how ``seqforge <name>`` dispatches to them."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures import commands

from seqforge import cli
from seqforge.errors import DuplicateComponentError, PluginError
from seqforge.registry import Provider, Registry


@pytest.fixture
def registry() -> Registry:
    return Registry(store_configs=False)


def test_registered_command_is_listed_with_its_provider(registry: Registry) -> None:
    """A command registered inside a plugin transaction appears after commit, with who provided it"""
    registry.begin(Provider("demo", "seqforge-demo", "1.0"))
    registry.command("record", "fixtures.commands.record", description="records argv")
    assert registry.commands() == []  # not visible before commit
    registry.commit()
    (command,) = registry.commands()
    assert (command.name, command.target, command.description) == ("record", "fixtures.commands.record", "records argv")
    assert command.provider.distribution == "seqforge-demo" and command.load() is commands.record


def test_rolled_back_plugin_leaves_no_command(registry: Registry) -> None:
    registry.begin(Provider("broken"))
    registry.command("record", "fixtures.commands.record")
    registry.rollback()
    assert registry.commands() == []


def test_command_names_are_unique_and_builtins_are_reserved(registry: Registry) -> None:
    """A second provider of a name is rejected naming both; built-in commands cannot be taken"""
    registry.begin(Provider("first"))
    registry.command("record", "fixtures.commands.record")
    registry.commit()
    registry.begin(Provider("second"))
    with pytest.raises(DuplicateComponentError, match="'record' is registered twice: by plugin 'first' and by plugin "
                                                      "'second'"):
        registry.command("record", "fixtures.commands.record")
    with pytest.raises(DuplicateComponentError, match="'train' is built into seqforge"):
        registry.command("train", "fixtures.commands.record")


@pytest.mark.parametrize(
    "name,target", [("Bad Name", "fixtures.commands.record"), ("ok", "not a path"), ("ok", "record")]
)
def test_malformed_command_is_a_plugin_error(registry: Registry, name: str, target: str) -> None:
    with pytest.raises(PluginError):
        registry.command(name, target)


@pytest.fixture
def with_command(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI sees one plugin command, `record`."""
    registry = Registry(store_configs=False)
    registry.begin(Provider("demo", "seqforge-demo", "1.0"))
    registry.command("record", "fixtures.commands.record", description="records argv")
    registry.commit()
    monkeypatch.setattr(cli, "plugin_commands", lambda: {c.name: c for c in registry.commands()})
    commands.CALLS.clear()
    return registry


def test_cli_dispatches_unknown_subcommand_to_the_plugin_command(with_command: Any) -> None:
    """`seqforge record a=1 b` calls the registered function with the remaining words"""
    cli.main(["record", "a=1", "b"])
    assert commands.CALLS == [["a=1", "b"]]


def test_usage_lists_plugin_commands(with_command: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["--help"])
    out = capsys.readouterr().out
    assert "plugin commands:" in out and "seqforge record" in out and "records argv" in out and "[seqforge-demo]" in out


def test_unknown_command_lists_builtin_and_plugin_commands(
    with_command: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["recrod"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "unknown command 'recrod'" in err and "train" in err and "record" in err and "Did you mean 'record'?" in err
