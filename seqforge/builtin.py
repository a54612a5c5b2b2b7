"""The core's own components, registered through the ``seqforge`` entry point like any plugin's.

Generic, cell-agnostic pieces live in core: the recurrent encoder (any cell,
stacked, bidirectional), the recurrent decoder, the language-modelling
task with its data. Translation is the seqforge-seq2seq plugin's.
Factories are given as import paths so that loading plugins (and so
``seqforge --help`` / ``plugins list``) never imports torch or lightning.
"""

from __future__ import annotations

from seqforge.data.configs import TextDataConfig
from seqforge.model_configs import NoAttentionConfig, RecurrentDecoderConfig, RecurrentEncoderConfig
from seqforge.hookspecs import hookimpl
from seqforge.registry import Registry
from seqforge.tasks.configs import LanguageModelTaskConfig
from seqforge import PLUGIN_API_VERSION as SEQFORGE_PLUGIN_API  # noqa: F401 - the core always targets its own API
from seqforge.data.labelled_configs import (
    ConditionalDataConfig, ConllDataConfig, DigitRowsDataConfig, DigitsDataConfig, EntitiesDataConfig, LabelledDataConfig,
)
from seqforge.tasks.labelled_configs import ClassificationTaskConfig, ConditionalTaskConfig, TaggingTaskConfig


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
    # Classification, tagging and one-to-many generation (issue 5).
    registry.task(
        "classify", "seqforge.tasks.classification.ClassificationTask", ClassificationTaskConfig,
        description="sequence classification (many to one): pooling last|mean|max|attention; accuracy, macro-F1",
    )
    registry.data(
        "labelled", "seqforge.data.labelled.LabelledData", LabelledDataConfig,
        description="one label per sequence: 'label<TAB>text' / 'label text' lines, or .pt/.npz float sequences",
    )
    registry.data(
        "digits", "seqforge.data.labelled.DigitsData", DigitsDataConfig,
        description="scikit-learn's 8x8 handwritten digits read row by row (offline classification demo)",
    )
    registry.task(
        "tag", "seqforge.tasks.tagging.TaggingTask", TaggingTaskConfig,
        description="sequence tagging: optional character features; entity P/R/F1 (seqeval), token accuracy",
    )
    registry.data(
        "conll", "seqforge.data.conll.TaggingData", ConllDataConfig,
        description="CoNLL column files (IOB1/IOB2, -DOCSTART-, configurable token/tag columns)",
    )
    registry.data(
        "entities", "seqforge.data.entities.EntitiesData", EntitiesDataConfig,
        description="generated sentences with DATE/LOC/MONEY/PERCENT entities in IOB2 (offline tagging demo)",
    )
    registry.task(
        "conditional", "seqforge.tasks.conditional.ConditionalTask", ConditionalTaskConfig,
        description="one-to-many generation from a label or feature vector; greedy/beam/sampling decoding",
    )
    registry.data(
        "conditional", "seqforge.data.conditional.ConditionalData", ConditionalDataConfig,
        description="a condition and its sequence: 'label<TAB>text' lines, or .pt/.npz targets with labels/features",
    )
    registry.data(
        "digit_rows", "seqforge.data.conditional.DigitRowsData", DigitRowsDataConfig,
        description="a digit's 64 pixel intensities from its label (offline one-to-many demo)",
    )
