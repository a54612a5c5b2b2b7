"""Which optional Task capabilities (seqforge.api Protocols) the labelled plugin's tasks have, as the core sees them."""

from seqforge.testing import task_capabilities


def test_classify_predicts() -> None:
    """`seqforge predict` applies classifiers"""
    assert task_capabilities("classify") == ["Predicts", "Reports"]


def test_tag_predicts() -> None:
    assert task_capabilities("tag") == ["BeginsEvaluation", "Predicts", "Reports"]


def test_conditional_generates() -> None:
    """`seqforge generate` applies one-to-many generators"""
    assert task_capabilities("conditional") == ["BeginsEvaluation", "Generates", "Reports"]
