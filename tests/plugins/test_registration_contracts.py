"""The registration contracts: what the loader and the registry refuse breaks `registers`, naming the reason."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from seqforge import hookimpl
from seqforge.testing.registrations import REGISTRATION_CONTRACTS, registration_results


@dataclass
class Sized:
    size: int = 2


@dataclass
class Unsized:
    size: int


def plugin_registering(name: str, config: type, api: str = "1.0") -> SimpleNamespace:
    @hookimpl
    def seqforge_register(registry):
        registry.cell(name, "seqforge.testing.cells.check_cell", config, description="a cell")

    return SimpleNamespace(__name__="toy_plugin", SEQFORGE_PLUGIN_API=api, seqforge_register=seqforge_register)


@pytest.mark.parametrize(("plugin", "reason"), [
    (plugin_registering("Bad Name", Sized), "names must be non-empty lowercase ASCII letters"),
    (plugin_registering("toy", Unsized), "has fields without defaults: size"),
    (plugin_registering("toy", Sized, api="2.0"), "targets seqforge plugin API 2.0"),
])
def test_refused_registrations_break_registers_with_the_reason(plugin: SimpleNamespace, reason: str) -> None:
    """An invalid name, a field without default or an incompatible API stops at `registers`; nothing after it runs"""
    results, registry = registration_results(plugin, name="toy")
    assert registry is None and [r.contract for r in results] == ["registers"]
    assert not results[0].passed and reason in results[0].message


def test_no_contract_re_checks_what_registration_refuses() -> None:
    """The contracts that could never break (valid names, config defaults) are gone"""
    assert [c.name for c in REGISTRATION_CONTRACTS] == [
        "registers",
        "plugin API version",
        "no collisions",
        "factories import",
        "described",
    ]
