"""seqforge.testing's reference components keep the contracts they stand in for (the core's tests rely on them)."""

from __future__ import annotations

import pytest

from seqforge.testing import check_attention, check_cell
from seqforge.testing.reference import DotAttention, ReferenceGRUCell, ReferenceLSTMCell, ReferenceRNNCell


@pytest.mark.parametrize("cell", [ReferenceRNNCell, ReferenceLSTMCell, ReferenceGRUCell])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
def test_reference_cells_keep_every_cell_contract(cell, fused: bool) -> None:
    """Each reference cell, with and without its fused kernel, passes check_cell"""
    check_cell(cell, {"fused": fused})


def test_only_fused_reference_cells_offer_a_whole_sequence_path() -> None:
    """`fused=False` leaves the generic loop as the only path, so tests can compare the two"""
    assert hasattr(ReferenceLSTMCell(3, 4, fused=True), "forward_sequence")
    assert not hasattr(ReferenceLSTMCell(3, 4, fused=False), "forward_sequence")


def test_dot_attention_keeps_the_attention_contract() -> None:
    """The parameter-free dot score passes check_attention"""
    check_attention(DotAttention, query_size=6, memory_size=6)
