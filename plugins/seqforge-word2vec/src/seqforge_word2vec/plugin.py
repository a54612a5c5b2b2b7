"""Registers word2vec with seqforge (entry point ``seqforge: word2vec``).

* ``task=word2vec`` and ``data=word2vec`` (factories as import paths: loading the plugin imports no torch/numba);
* the ``experiment=word2vec_demo`` preset, shipped in this package and stored in Hydra's ConfigStore;
* the subcommands ``seqforge neighbors``, ``seqforge export-vectors`` and ``seqforge evaluate-vectors``.
"""

from __future__ import annotations

from importlib import resources

from seqforge.api import Registry, hookimpl
from seqforge_word2vec.configs import Word2VecDataConfig, Word2VecTaskConfig

#: The seqforge plugin API this plugin is written against (checked when plugins load).
SEQFORGE_PLUGIN_API = "1.1"

PRESETS = ("word2vec_demo",)


def _store_presets() -> None:
    """``experiment=<name>`` for each preset yaml of this package (Hydra reads ConfigStore like a config folder)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    store = ConfigStore.instance()
    for name in PRESETS:
        text = resources.files("seqforge_word2vec").joinpath("presets", f"{name}.yaml").read_text(encoding="utf-8")
        store.store(
            group="experiment", name=name, node=OmegaConf.create(text), package="_global_", provider="seqforge-word2vec"
        )


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.task(
        "word2vec", "seqforge_word2vec.task.Word2VecTask", Word2VecTaskConfig,
        description="word embeddings: skip-gram|cbow x negative_sampling|nce|softmax; compiled Hogwild kernels",
    )
    registry.data(
        "word2vec", "seqforge_word2vec.data.Word2VecData", Word2VecDataConfig,
        description="plain-text corpus streamed as sentences (two passes; .gz ok); embedded demo corpus",
    )
    registry.command("neighbors", "seqforge_word2vec.commands.neighbors",
                     description="nearest words / analogies: ckpt=PATH word=king topn=10 | positive=[king,woman] "
                                 "negative=[man]")
    registry.command("export-vectors", "seqforge_word2vec.commands.export_vectors",
                     description="ckpt=PATH output=vectors.txt [format=text|binary]: word2vec-format vectors")
    registry.command("evaluate-vectors", "seqforge_word2vec.commands.evaluate_vectors",
                     description="ckpt=PATH|vectors=FILE analogy=questions-words.txt similarity=wordsim353.tsv "
                                 "[restrict_vocab=N]")
    _store_presets()
