"""Which optional Task capabilities (seqforge.api Protocols) the seq2seq plugin's task has, as the core sees it."""

from seqforge.testing import task_capabilities


def test_translation_translates_and_adds_its_heatmap_callbacks() -> None:
    assert task_capabilities("translation") == ["BeginsEvaluation", "ProvidesCallbacks", "Reports", "Translates"]
