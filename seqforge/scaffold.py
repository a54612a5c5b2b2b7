"""``seqforge plugins new <dist-name> --kind cell|attention``: a pip-installable plugin package that works out of the
box.

The package written is what a plugin author would otherwise copy from an
example: a ``pyproject.toml`` with the ``seqforge`` entry point, a plugin
module declaring the plugin-API version and registering one component with
its config dataclass, the component itself (a minimal gated RNN cell, or a
scaled bilinear attention — both real, correct and passing every contract),
a README and tests that run :mod:`seqforge.testing`. After
``pip install -e <dir>`` the component is ``model/cell=<name>`` (or
``model/attention=<name>``) with no other step.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from string import Template

from seqforge.errors import SeqforgeError

KINDS = ("cell", "attention")
_DIST_RE = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")  # PEP 508 project names


def _names(dist: str, name: str | None, kind: str) -> dict[str, str]:
    """Every name the templates use, derived from the distribution name (or ``--name``)."""
    from seqforge import PLUGIN_API_VERSION, __version__
    from seqforge.registry import valid_name

    if not _DIST_RE.match(dist):
        raise SeqforgeError(
            f"`seqforge plugins new {dist}`: '{dist}' is not a valid distribution name; use letters, digits, '-', '_' "
            "and '.', starting and ending with a letter or digit (e.g. seqforge-mycell)."
        )
    package = re.sub(r"[-_.]+", "_", dist).lower()
    if not package.isidentifier():
        raise SeqforgeError(f"`seqforge plugins new {dist}`: its import name '{package}' would not be a Python "
                            "identifier; start the name with a letter.")
    component = name or re.sub(r"^seqforge_", "", package)
    if not valid_name(component) or not component.replace("-", "_").isidentifier():
        raise SeqforgeError(
            f"`seqforge plugins new`: '{component}' cannot be a component name (it is typed as model/{kind}=<name>); "
            "pass --name with lowercase letters, digits and '_', starting with a letter."
        )
    camel = "".join(part.capitalize() for part in re.split(r"[_-]+", component) if part)
    major, minor = (int(p) for p in __version__.split(".")[:2])
    return {
        "dist": dist,
        "package": package,
        "name": component,
        "entry_point": component.replace("-", "_"),
        "kind": kind,
        "group": f"model/{kind}",
        "key": f"model.{kind}",
        # mini_cell -> MiniCell, acme -> AcmeAttention
        "cls": camel if camel.endswith(kind.capitalize()) else camel + kind.capitalize(),
        "config": camel + "Config",
        "module": kind,
        "api": PLUGIN_API_VERSION,
        "seqforge_spec": f"seqforge>={major}.{minor},<{major}.{minor + 1}"
        if major == 0
        else f"seqforge>={major}.{minor},<{major + 1}",
    }


PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A seqforge $kind plugin: $group=$name"
readme = "README.md"
requires-python = ">=3.10"
# The seqforge releases this plugin is tested with; the plugin API it targets is SEQFORGE_PLUGIN_API in plugin.py.
dependencies = ["$seqforge_spec", "torch>=2.2"]

[project.optional-dependencies]
test = ["pytest>=8"]

# Makes `$group=$name` exist as soon as the package is installed.
[project.entry-points.seqforge]
$entry_point = "$package.plugin"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
''')

INIT = Template('''\
"""$dist: a seqforge $kind plugin ($group=$name).

The component lives in :mod:`$package.$module`; :mod:`$package.plugin` registers it.
"""

__version__ = "0.1.0"
''')

PLUGIN = {
    "cell": Template('''\
"""Registers `$name` with seqforge (entry point ``seqforge: $entry_point``)."""

from __future__ import annotations

from dataclasses import dataclass

from seqforge.api import hookimpl

#: The seqforge plugin API this plugin targets; seqforge skips it, saying why, if it implements an incompatible one.
SEQFORGE_PLUGIN_API = "$api"


@dataclass
class $config:
    """``$group=$name``; every field needs a default and becomes ``$key.<field>``."""

    gate_bias: float = 1.0  # initial bias of the update gate: > 0 starts the cell close to copying its input in


@hookimpl
def seqforge_register(registry) -> None:
    """Called once by seqforge when it loads plugins. The factory is an import path, so loading stays torch-free."""
    registry.cell("$name", "$package.cell.$cls", $config, description="minimal gated RNN (Chen 2017)")
'''),
    "attention": Template('''\
"""Registers `$name` with seqforge (entry point ``seqforge: $entry_point``)."""

from __future__ import annotations

from dataclasses import dataclass

from seqforge.api import hookimpl

#: The seqforge plugin API this plugin targets; seqforge skips it, saying why, if it implements an incompatible one.
SEQFORGE_PLUGIN_API = "$api"


@dataclass
class $config:
    """``$group=$name``; every field needs a default and becomes ``$key.<field>``."""

    scale: bool = True  # divide the scores by sqrt(query_size), keeping the softmax soft for large sizes


@hookimpl
def seqforge_register(registry) -> None:
    """Called once by seqforge when it loads plugins. The factory is an import path, so loading stays torch-free."""
    registry.attention(
        "$name", "$package.attention.$cls", $config, description="scaled bilinear attention q^T W m / sqrt(d)"
    )
'''),
}

COMPONENT = {
    "cell": Template('''\
"""$cls: the minimal gated RNN of Chen (2017), "MinimalRNN: Toward More Interpretable and Trainable Recurrent Nets".

    z_t = tanh(W_x x_t)                               (the input, mapped into the state space)
    u_t = σ(U_h h_{t-1} + U_z z_t + b_u)              (update gate)
    h_t = u_t ⊙ h_{t-1} + (1 - u_t) ⊙ z_t

Replace the equations with your own: seqforge's generic loop runs any cell
over padded batches (padded steps leave the state untouched), stacks it and
runs it bidirectionally. ``tests/`` checks every contract with seqforge.testing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class $cls(nn.Module):
    """State: ``h`` ``(B, H)``.

    Args:
        input_size: ``I`` (the core passes it).
        hidden_size: ``H`` (the core passes it).
        gate_bias: initial ``b_u``.
    """

    def __init__(self, input_size: int, hidden_size: int, gate_bias: float = 1.0) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.w_x = nn.Linear(input_size, hidden_size, bias=False)  # W_x: (H, I)
        self.u = nn.Linear(2 * hidden_size, hidden_size)  # [U_h U_z]: (H, 2H), b_u: (H,)
        with torch.no_grad():
            self.u.bias.fill_(gate_bias)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """``x_t`` ``(B, I)``, ``h`` ``(B, H)`` -> output ``(B, H)`` and the new state."""
        z = torch.tanh(self.w_x(x_t))  # (B, H)
        u = torch.sigmoid(self.u(torch.cat([h, z], dim=-1)))  # (B, H)
        h = u * h + (1 - u) * z  # (B, H)
        return h, h
'''),
    "attention": Template('''\
"""$cls: scaled bilinear ("general") attention.

    score(q, m_s) = q^T W m_s / sqrt(Hq)          (without the division when scale=False)
    a = softmax over the real positions of the scores; exactly 0 where mask is False
    context = Σ_s a_s m_s

Replace ``score`` with your own; keep the masking and the normalisation.
``tests/`` checks every contract with seqforge.testing.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn


class $cls(nn.Module):
    """Args:
        query_size: ``Hq``, the decoder's hidden size (the core passes it).
        memory_size: ``Hm``, the encoder's output size (the core passes it).
        scale: divide the scores by ``sqrt(Hq)``.
    """

    def __init__(self, query_size: int, memory_size: int, scale: bool = True) -> None:
        super().__init__()
        self.query_size, self.memory_size = query_size, memory_size
        self.w = nn.Linear(memory_size, query_size, bias=False)  # W: (Hq, Hm)
        self.factor = 1.0 / math.sqrt(query_size) if scale else 1.0

    def project_memory(self, memory: Tensor) -> Tensor:
        """Keys ``W m_s``, computed once per source batch: ``(B, S, Hm) -> (B, S, Hq)``."""
        return self.w(memory)

    def forward(
        self, query: Tensor, memory: Tensor, mask: Tensor, keys: Optional[Tensor] = None
    ) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Hq)``, ``memory`` ``(B, S, Hm)``, ``mask`` ``(B, S)``.

        Returns ``(context (B, Hm), weights (B, S))``.
        """
        keys = self.project_memory(memory) if keys is None else keys  # (B, S, Hq)
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2) * self.factor  # (B, S)
        scores = scores.masked_fill(~mask, float("-inf"))  # padded positions: weight exactly 0
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, Hm)
        return context, weights
'''),
}

TESTS = {
    "cell": Template('''\
"""$cls keeps seqforge's cell contracts and is selectable as $group=$name."""

from __future__ import annotations

import torch

from seqforge.testing import check_cell, check_registrations
from $package import plugin
from $package.cell import $cls


def test_step_computes_the_equations() -> None:
    """h_t = u ⊙ h + (1 - u) ⊙ tanh(W_x x), u = σ(U [h; z] + b)"""
    torch.manual_seed(0)
    cell = $cls(3, 4).double()
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    z = torch.tanh(x @ cell.w_x.weight.T)
    u = torch.sigmoid(torch.cat([h, z], dim=-1) @ cell.u.weight.T + cell.u.bias)
    out, state = cell(x, h)
    torch.testing.assert_close(out, u * h + (1 - u) * z, rtol=0, atol=1e-12)
    torch.testing.assert_close(state, out, rtol=0, atol=0)


def test_keeps_every_cell_contract() -> None:
    """Built as `seqforge train` builds it: shapes, masking, gradients, pickling, training, ..."""
    check_cell("$name")


def test_keeps_the_contracts_with_other_options() -> None:
    """The contracts hold for other option values and sizes too"""
    check_cell("$name", {"gate_bias": -1.0}, input_size=5, hidden_size=2, skip=["trains"])


def test_registrations_are_valid() -> None:
    """Declares the plugin API; a valid, described name that no other installed plugin registers"""
    check_registrations(plugin, name="$entry_point")


def test_is_selectable_from_the_command_line_config(seqforge_registry) -> None:
    """Installed, it is a $group option, and `$group=$name` composes"""
    from seqforge.testing.modules import compose_run

    assert "$name" in seqforge_registry.names("$kind")
    cfg = compose_run(["$group=$name", "$key.gate_bias=0.5"])
    assert cfg.model.cell._target_ == "$package.cell.$cls" and cfg.model.cell.gate_bias == 0.5
'''),
    "attention": Template('''\
"""$cls keeps seqforge's attention contracts and is selectable as $group=$name."""

from __future__ import annotations

import math

import torch

from seqforge.testing import check_attention, check_registrations
from $package import plugin
from $package.attention import $cls


def test_weights_are_the_scaled_bilinear_softmax() -> None:
    """a = softmax(q^T W m / sqrt(Hq)) over the real positions; context = Σ a m"""
    torch.manual_seed(0)
    attention = $cls(4, 6).double()
    q, m = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 5, 6, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    context, weights = attention(q, m, mask)
    scores = torch.einsum("bh,bsh->bs", q, m @ attention.w.weight.T) / math.sqrt(4)
    expected = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    torch.testing.assert_close(weights, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(context, torch.einsum("bs,bsh->bh", expected, m), rtol=0, atol=1e-12)


def test_keeps_every_attention_contract() -> None:
    """Built from its registered config: normalised weights, exactly 0 and inert on padding, shapes, gradients, ..."""
    check_attention("$name", query_size=5, memory_size=8)
    check_attention("$name", {"scale": False})


def test_registrations_are_valid() -> None:
    """Declares the plugin API; a valid, described name that no other installed plugin registers"""
    check_registrations(plugin, name="$entry_point")


def test_is_selectable_from_the_command_line_config(seqforge_registry) -> None:
    """Installed, it is a $group option, and `$group=$name` composes"""
    from seqforge.testing.modules import compose_run

    assert "$name" in seqforge_registry.names("$kind")
    cfg = compose_run(["$group=$name", "$key.scale=false"])
    assert cfg.model.attention._target_ == "$package.attention.$cls" and cfg.model.attention.scale is False
'''),
}

README = Template('''\
# $dist

A [seqforge](https://pypi.org/project/seqforge/) $kind plugin: `$group=$name`.

```bash
pip install -e .                       # or, once published: pip install $dist
seqforge plugins list                  # $name is listed under $kind
seqforge plugins check $dist    # seqforge's contract suite, as a report
$usage
```

Options (`$key.<field>`) are the fields of `$config` in `src/$package/plugin.py`.

## Develop

* The component is `src/$package/$module.py`; change its equations and keep the tests green.
* `pip install -e ".[test]" && pytest` runs `tests/`, which use `seqforge.testing`
  (`$check("$name")` checks every $kind contract: shapes, masking, gradients,
  pickling for DDP, ...; a failure names the contract and how to fix it).
* `SEQFORGE_PLUGIN_API` in `plugin.py` is the seqforge plugin API this package targets; seqforge
  skips the plugin with a message naming both versions if it implements an incompatible one.

## Publish

Bump `version` in `pyproject.toml`, then `python -m build` and `twine upload dist/*`.
Keep the `seqforge` dependency range to the releases you test with.
''')


def write_plugin(dist: str, kind: str, directory: Path, *, name: str | None = None) -> Path:
    """Write the package for ``dist`` into ``directory / dist``; return that folder.

    Raises:
        SeqforgeError: invalid names, an unknown kind, or a non-empty target folder.
    """
    if kind not in KINDS:
        raise SeqforgeError(f"`seqforge plugins new --kind {kind}`: expected one of {', '.join(KINDS)}.")
    names = _names(dist, name, kind)
    root = directory / dist
    if root.exists() and any(root.iterdir()):
        raise SeqforgeError(f"`seqforge plugins new`: {root} already exists and is not empty; choose another --dir or "
                            "name.")
    usage = (
        f"seqforge train model/cell={names['name']} model.cell.gate_bias=0.5"
        if kind == "cell"
        else f"seqforge train experiment=translate_demo model/attention={names['name']}"
    )
    files = {
        "pyproject.toml": PYPROJECT.substitute(names),
        "README.md": README.substitute(names, usage=usage, check=f"check_{kind}"),
        f"src/{names['package']}/__init__.py": INIT.substitute(names),
        f"src/{names['package']}/plugin.py": PLUGIN[kind].substitute(names),
        f"src/{names['package']}/{kind}.py": COMPONENT[kind].substitute(names),
        f"tests/test_{names['package']}.py": TESTS[kind].substitute(names),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def new_command(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="seqforge plugins new", description="Write a pip-installable seqforge plugin "
                                                                              "package.")
    parser.add_argument("dist", help="distribution name, e.g. seqforge-mycell (the folder created)")
    parser.add_argument("--kind", required=True, choices=KINDS, help="what the plugin provides")
    parser.add_argument("--name", help="component name (model/<kind>=<name>); default: from the distribution name")
    parser.add_argument("--dir", default=".", type=Path, help="parent folder (default: the current one)")
    args = parser.parse_args(argv)
    root = write_plugin(args.dist, args.kind, args.dir, name=args.name)
    names = _names(args.dist, args.name, args.kind)
    print(f"Created {root} ({args.kind} '{names['name']}'). Next:")
    print(f"  pip install -e {root}")
    print(f"  pytest {root / 'tests'}")
    print(
        f"  seqforge train model/{args.kind}={names['name']}"
        + ("" if args.kind == "cell" else " experiment=translate_demo")
    )
