"""seqforge.testing, tested the way its users run it: inside pytest sessions of their own (``pytester``).

A toy plugin with good components passes; toy components with one defect each
(wrong shapes, unnormalised or leaking attention, non-picklable, a fused path
that ignores padding) fail, and the failure names the broken contract and the fix.
"""

from __future__ import annotations

import textwrap

import lightning.pytorch  # noqa: F401
import pytest

# pytester's in-process runs drop the modules imported after the `pytester` fixture was set up, and torch's
# extension modules crash when imported twice: everything the checks import is imported here, up front.
from seqforge import PLUGIN_API_VERSION, encoders, train  # noqa: F401
from seqforge.plugin_manager import get_plugins
from seqforge.testing import attention, cells, modules, registrations, training  # noqa: F401

# the process-wide plugins (and their config modules) load here, not inside a pytester run that would unload them
get_plugins()

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The toy plugin's components: module-level, as a real plugin's would be.
TOY_COMPONENTS = '''
from dataclasses import dataclass

import torch
from torch import nn

from seqforge import hookimpl

SEQFORGE_PLUGIN_API = "1.0"


class GoodCell(nn.Module):
    """h' = tanh(W x + U h)."""

    def __init__(self, input_size, hidden_size, gain=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.w = nn.Linear(input_size, hidden_size)
        self.u = nn.Linear(hidden_size, hidden_size, bias=False)
        self.gain = gain

    def initial_state(self, batch_size, *, device, dtype):
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x_t, h):
        h = torch.tanh(self.gain * (self.w(x_t) + self.u(h)))
        return h, h


class WrongShapeCell(GoodCell):
    """Returns its output with one feature too many."""

    def forward(self, x_t, h):
        h, _ = super().forward(x_t, h)
        return torch.cat([h, h[:, :1]], dim=-1), h


class NonPicklableCell(GoodCell):
    """Keeps a lambda: ddp_spawn cannot send it to its workers."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.activation = lambda z: torch.tanh(z)


class LeakyFusedCell(GoodCell):
    """Offers a whole-sequence path that ignores the lengths: padded steps change the final state."""

    def forward_sequence(self, x, h, lengths):
        outputs = []
        for x_t in x.unbind(1):
            out, h = self.forward(x_t, h)
            outputs.append(out)
        return torch.stack(outputs, dim=1), h


def _masked_softmax(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


class GoodAttention(nn.Module):
    def __init__(self, query_size, memory_size):
        super().__init__()
        self.w = nn.Linear(memory_size, query_size, bias=False)

    def scores(self, query, memory):
        return torch.bmm(self.w(memory), query.unsqueeze(2)).squeeze(2)

    def forward(self, query, memory, mask, keys=None):
        weights = _masked_softmax(self.scores(query, memory), mask)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class UnnormalisedAttention(GoodAttention):
    """Sigmoid scores: weights do not sum to 1."""

    def forward(self, query, memory, mask, keys=None):
        weights = torch.sigmoid(self.scores(query, memory)) * mask
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class LeakyAttention(GoodAttention):
    """Forgets the mask: padded positions get weight."""

    def forward(self, query, memory, mask, keys=None):
        weights = torch.softmax(self.scores(query, memory), dim=-1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class WrongContextAttention(GoodAttention):
    """Returns the context in query space, (B, Hq), instead of (B, Hm)."""

    def forward(self, query, memory, mask, keys=None):
        _, weights = super().forward(query, memory, mask)
        return query, weights


@dataclass
class GoodCellConfig:
    gain: float = 1.0


@dataclass
class NoOptions:
    pass


@hookimpl
def seqforge_register(registry):
    registry.cell("toy_good", "toy_plugin.GoodCell", GoodCellConfig, description="a good toy cell")
    registry.attention("toy_general", "toy_plugin.GoodAttention", NoOptions, description="a good toy attention")
'''


@pytest.fixture
def toy(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory holding the toy plugin module ``toy_plugin``."""
    pytester.makepyfile(toy_plugin=TOY_COMPONENTS)
    pytester.syspathinsert()
    return pytester


def run_tests(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_toy=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", "-W", "ignore::UserWarning")


def test_good_toy_plugin_passes_every_contract(toy: pytest.Pytester) -> None:
    """A good cell, a good attention and the plugin that registers them pass check_cell, check_attention and
    check_plugin"""
    result = run_tests(
        toy,
        """
        import toy_plugin
        from seqforge.testing import check_attention, check_cell, check_plugin

        def test_cell():
            names = [r.contract for r in check_cell(toy_plugin.GoodCell, {"gain": 0.5})]
            assert names == ["builds", "state structure", "shapes", "batch independence", "gradients", "masking", "fused path",
                             "determinism", "state_dict", "picklable", "stacked bidirectional", "trains"]

        def test_attention():
            check_attention(toy_plugin.GoodAttention, query_size=5, memory_size=8)

        def test_plugin():
            results = check_plugin(toy_plugin, name="toy")
            assert {(r.kind, r.component) for r in results} >= {("cell", "'toy_good' (plugin 'toy')"), ("attention", "'toy_general' (plugin 'toy')")}
    """,
    )
    result.assert_outcomes(passed=3)


#: A toy component with one defect, the check that catches it, and the lines its failure must show (fnmatch patterns).
DEFECTIVE_TOYS = [
    pytest.param(  # h_t of shape (B, H + 1) breaks `shapes`, with the shape seen, the shape expected and how to fix it
        "check_cell(toy_plugin.WrongShapeCell)",
        [
            "*ContractError: cell WrongShapeCell broke * seqforge contracts:*",
            (
                "*- shapes: with batch 1, forward(x_t (1, 3), state) returned h_t of shape (1, 7); expected (1, 6) = "
                "(B, hidden_size)"
            ),
            "*How to fix: return the layer's output for this step as a (B, hidden_size) tensor*",
        ],
        (),
        id="cell-wrong-output-shape",
    ),
    # a forward_sequence that runs padded steps breaks `masking` and says how to keep ended sequences' state
    pytest.param(
        "check_cell(toy_plugin.LeakyFusedCell, only=['masking'])",
        [
            "*- masking: sequence 1 has length 3 of 5, but its outputs after step 3 are not exactly 0",
            "*How to fix: in forward_sequence, zero the outputs at padded steps*",
        ],
        (),
        id="cell-fused-path-ignoring-padding",
    ),
    pytest.param(  # sigmoid weights break `weights sum to 1`, showing the row sums; masked positions do get 0
        "check_attention(toy_plugin.UnnormalisedAttention)",
        [
            "*- weights sum to 1: attention weights must be non-negative and sum to 1 over each row; row sums are [[]*",
            "*How to fix: normalise the scores with a softmax over the real positions*",
        ],
        ("masked positions get 0: ",),
        id="attention-unnormalised",
    ),
    pytest.param(  # a softmax without the mask gives padded positions weight and lets padded memory reach the context
        "check_attention(toy_plugin.LeakyAttention)",
        [
            "*attention LeakyAttention broke 2 seqforge contracts:*",
            "*- masked positions get 0: weights at masked (padded) positions must be exactly 0; the largest is *",
            "*How to fix: set the scores of masked positions to -inf before the softmax*",
            "*- masked memory is inert: changing the memory at masked (padded) positions changed the context*",
        ],
        (),
        id="attention-leaking-into-masked-positions",
    ),
    pytest.param(  # a context of the query's size breaks `shapes` when query and memory sizes differ
        "check_attention(toy_plugin.WrongContextAttention, query_size=4, memory_size=9, only=['shapes'])",
        ["*- shapes: with batch 1, the context has shape (1, 4); expected (1, 9) = (B, memory_size)"],
        (),
        id="attention-wrong-context-shape",
    ),
]


@pytest.mark.parametrize("check, expected_lines, absent", DEFECTIVE_TOYS)
def test_defective_toy_component_fails_naming_the_contract_and_the_fix(
    toy: pytest.Pytester, check: str, expected_lines: list[str], absent: tuple[str, ...]
) -> None:
    """The check fails the author's test, and its report names each broken contract, what was seen and how to fix it"""
    result = run_tests(toy, f"""
        import toy_plugin
        from seqforge.testing import check_attention, check_cell

        def test_component():
            {check}
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(expected_lines)
    for text in absent:
        assert text not in result.stdout.str()


def test_non_picklable_cell_fails_the_picklable_contract_only(toy: pytest.Pytester) -> None:
    """A cell holding a lambda breaks `picklable` (ddp_spawn) and nothing else"""
    result = run_tests(
        toy,
        """
        import toy_plugin
        from seqforge.testing import cell_results, check_cell

        def test_only_picklable_breaks():
            assert [r.contract for r in cell_results(toy_plugin.NonPicklableCell, skip=["trains"]) if not r.passed] == ["picklable"]

        def test_cell():
            check_cell(toy_plugin.NonPicklableCell, skip=["trains"])
    """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*cell NonPicklableCell broke 1 seqforge contract:*",
        "*- picklable: pickle.dumps(cell) failed: *lambda*",
        "*How to fix: do not keep lambdas, local functions or classes*ddp_spawn pickles the model*",
    ])


@pytest.mark.requires_plugins("rnn")
def test_plugin_registrations_name_the_collision_and_the_missing_api_version(toy: pytest.Pytester) -> None:
    """A plugin without SEQFORGE_PLUGIN_API that registers 'lstm' (seqforge-rnn's) breaks two registration contracts"""
    toy.makepyfile(clashing_plugin='''
        from dataclasses import dataclass
        from seqforge import hookimpl

        @dataclass
        class Config:
            size: int = 2

        @hookimpl
        def seqforge_register(registry):
            registry.cell("lstm", "toy_plugin.GoodCell", Config, description="my own lstm")
    ''')
    result = run_tests(toy, """
        import clashing_plugin
        from seqforge.testing import check_registrations

        def test_registrations():
            check_registrations(clashing_plugin)
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*plugin 'clashing_plugin' broke 2 seqforge contracts:*",
        (
            "*- plugin API version: the plugin module does not declare SEQFORGE_PLUGIN_API (this seqforge implements "
            f"plugin API {PLUGIN_API_VERSION})"
        ),
        f'*How to fix: declare the plugin API you target in the plugin module, e.g. SEQFORGE_PLUGIN_API = "{PLUGIN_API_VERSION}"*',
        (
            "*- no collisions: cell 'lstm' is also registered by plugin 'rnn' (seqforge-rnn *) "
            "(seqforge_rnn.cells.LSTMCell): while both are installed `model/cell=lstm` is refused and users must write "
            "`model/cell=seqforge-rnn:lstm`"
        ),
    ])


@pytest.mark.requires_plugins("rnn")
def test_fixtures_are_available_through_the_pytest11_entry_point(toy: pytest.Pytester) -> None:
    """An author's test session gets seqforge_registry and seqforge_plugin_env without any conftest"""
    result = run_tests(toy, """
        def test_registry(seqforge_registry, seqforge_plugin_env):
            assert "lstm" in seqforge_registry.names("cell") and "recurrent" in seqforge_registry.names("encoder")
    """)
    result.assert_outcomes(passed=1)


def test_unknown_contract_name_is_rejected_listing_the_contracts() -> None:
    """only=/skip= with a misspelt contract name is an error that lists the real ones (a silent no-op would hide a typo)"""
    from seqforge.testing import check_cell
    from seqforge.testing.reference import ElmanCell

    with pytest.raises(
        ValueError, match=r"unknown cell contract\(s\) pickable; the contracts are: builds, state structure"
    ):
        check_cell(ElmanCell, skip=["pickable"])


def test_reference_components_keep_their_contracts() -> None:
    """The reference cell and attention that encoder/decoder checks plug in are themselves correct"""
    from seqforge.testing import check_attention, check_cell
    from seqforge.testing.reference import ElmanCell, GeneralAttention

    check_cell(ElmanCell, skip=["trains"])
    check_attention(GeneralAttention, query_size=4, memory_size=7)


@pytest.mark.requires_plugins("rnn")
def test_core_encoder_decoder_and_tasks_keep_their_contracts() -> None:
    """The core's recurrent encoder and decoder (both attention styles) and the lm task pass their suites"""
    from seqforge.testing import check_decoder, check_encoder, check_task

    check_encoder("recurrent")
    check_encoder("recurrent", {"merge": "sum"})
    check_decoder("recurrent")
    check_decoder("recurrent", {"attention_style": "bahdanau", "bridge": "zero"})
    results = check_task("lm", ["data.seq_len=8", "data.batch_size=4"])
    assert [r.contract for r in results] == ["composes", "protocol", "training step", "evaluation step"]


def test_task_that_cannot_compose_is_reported_as_a_broken_contract() -> None:
    """check_task with data the task cannot use names the task and the failing `composes` contract"""
    from seqforge.testing import ContractError, check_task

    with pytest.raises(ContractError, match=r"task 'translation' broke 1 seqforge contract:\n  - composes: "):
        check_task("translation", ["data=text"])
