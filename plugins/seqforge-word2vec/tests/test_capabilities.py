"""Which optional Task capabilities (seqforge.api Protocols) the word2vec task has, as the core sees it."""

from seqforge.testing import task_capabilities


def test_word2vec_updates_its_parameters_itself_and_exports_vectors() -> None:
    assert task_capabilities("word2vec") == [
        "ConfiguresOptimizers",
        "ExportsVectors",
        "ManuallyOptimised",
        "ProvidesCallbacks",
        "Reports",
    ]
