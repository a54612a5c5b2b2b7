"""The core's own components, registered through the ``seqforge`` entry point like any plugin's.

Generic, cell-agnostic pieces live in core: the recurrent encoder (any cell,
stacked, bidirectional) and the language-modelling task with its text data.
Factories are given as import paths so that loading plugins (and so
``seqforge --help`` / ``plugins list``) never imports torch or lightning.
"""

from __future__ import annotations

from seqforge.data.configs import TextDataConfig
from seqforge.encoder_configs import RecurrentEncoderConfig
from seqforge.hookspecs import hookimpl
from seqforge.registry import Registry
from seqforge.tasks.configs import LanguageModelTaskConfig


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.encoder(
        "recurrent", "seqforge.encoders.RecurrentEncoder", RecurrentEncoderConfig,
        description="any cell; stacked, bidirectional (merge concat|sum|mean)",
    )
    registry.task(
        "lm", "seqforge.tasks.lm.LanguageModelTask", LanguageModelTaskConfig,
        description="language modelling: perplexity, bits per character, sampling",
    )
    registry.data(
        "text", "seqforge.data.lm.LanguageModelData", TextDataConfig,
        description="plain text (char|word tokens), contiguous BPTT batches",
    )
