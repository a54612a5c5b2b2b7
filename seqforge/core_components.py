"""The core's own components, registered through the ``seqforge`` entry point like any plugin's.

Generic, cell-agnostic pieces live in core: the recurrent encoder (any cell,
stacked, bidirectional), the recurrent decoder, the language-modelling
task with its data. Translation is the seqforge-seq2seq plugin's.
Factories are given as import paths so that loading plugins (and so
``seqforge --help`` / ``plugins list``) never imports torch or lightning.
"""

from __future__ import annotations

from seqforge import PLUGIN_API_VERSION as SEQFORGE_PLUGIN_API  # noqa: F401 - the core always targets its own API
from seqforge.data.configs import TextDataConfig
from seqforge.hookspecs import hookimpl
from seqforge.model_configs import NoAttentionConfig, RecurrentDecoderConfig, RecurrentEncoderConfig
from seqforge.registry import Registry
from seqforge.tasks.configs import LanguageModelTaskConfig


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.encoder(
        "recurrent", "seqforge.encoders.RecurrentEncoder", RecurrentEncoderConfig,
        description="any cell; stacked, bidirectional (merge concat|sum|mean)",
    )
    registry.decoder(
        "recurrent", "seqforge.decoders.RecurrentDecoder", RecurrentDecoderConfig,
        description="any cell, stacked, optional attention with input feeding; bridge linear|zero|copy",
    )
    registry.attention("none", "seqforge.decoders.no_attention", NoAttentionConfig, description="no attention")
    registry.task(
        "lm", "seqforge.tasks.lm.LanguageModelTask", LanguageModelTaskConfig,
        description="language modelling: perplexity, bits per character, sampling",
    )
    registry.data(
        "text", "seqforge.data.lm.LanguageModelData", TextDataConfig,
        description="plain text (char|word tokens), contiguous BPTT batches",
    )
