"""Registers labelled sequences with seqforge (entry point ``seqforge: labelled``).

* ``task=classify`` (many to one: pooling, accuracy, macro-F1) with ``data=labelled`` and ``data=digits``;
* ``task=tag`` (one label per token: softmax or CRF output, seqeval entity P/R/F1) with ``data=conll`` and
  ``data=entities``;
* ``task=conditional`` (one to many: a label or feature vector conditions a decoder) with ``data=conditional`` and
  ``data=digit_rows``;
* the presets ``experiment=digits_demo|tagging_demo|conditional_demo|conll_ner|wnut17|sst2``.

``seqforge predict`` (classifiers, taggers) and ``seqforge generate`` (one-to-many) are core verbs that apply these
tasks through their ``predict`` / ``generate`` capabilities. Factories are import paths so loading the plugin does
not import torch (fast CLI start-up).
"""

from __future__ import annotations

from pathlib import Path

from seqforge.api import Registry, hookimpl
from seqforge_labelled.data_configs import (
    AuthorsDataConfig,
    ConditionalDataConfig,
    ConllDataConfig,
    DigitRowsDataConfig,
    DigitsDataConfig,
    DocumentDataConfig,
    EntitiesDataConfig,
    LabelledDataConfig,
)
from seqforge_labelled.encoder_configs import BagOfWordsEncoderConfig, SelfAttentiveEncoderConfig
from seqforge_labelled.task_configs import (
    ClassificationTaskConfig,
    ConditionalTaskConfig,
    DocumentClassificationTaskConfig,
    TaggingTaskConfig,
)

#: The seqforge plugin API this plugin is written against (checked before it is loaded).
SEQFORGE_PLUGIN_API = "1.2"

_PACKAGE = "seqforge_labelled"
_PRESETS = Path(__file__).parent / "presets"


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.task(
        "classify", f"{_PACKAGE}.classification.ClassificationTask", ClassificationTaskConfig,
        description="sequence classification (many to one): pooling last|mean|max|attention; accuracy, macro-F1",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.tasks.classification.ClassificationTask"],
    )
    registry.data(
        "labelled", f"{_PACKAGE}.labelled_data.LabelledData", LabelledDataConfig,
        description="one label per sequence: 'label<TAB>text' / 'label text' lines, or .pt/.npz float sequences",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.data.labelled.LabelledData"],
    )
    registry.data(
        "digits", f"{_PACKAGE}.labelled_data.DigitsData", DigitsDataConfig,
        description="scikit-learn's 8x8 handwritten digits read row by row (offline classification demo)",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.data.labelled.DigitsData"],
    )
    registry.task(
        "tag", f"{_PACKAGE}.tagging.TaggingTask", TaggingTaskConfig,
        description="sequence tagging: optional character features; entity P/R/F1 (seqeval), token accuracy",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.tasks.tagging.TaggingTask"],
    )
    registry.data(
        "conll", f"{_PACKAGE}.conll.TaggingData", ConllDataConfig,
        description="CoNLL column files (IOB1/IOB2, -DOCSTART-, configurable token/tag columns)",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.data.conll.TaggingData"],
    )
    registry.data(
        "entities", f"{_PACKAGE}.entities.EntitiesData", EntitiesDataConfig,
        description="generated sentences with DATE/LOC/MONEY/PERCENT entities in IOB2 (offline tagging demo)",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.data.entities.EntitiesData"],
    )
    registry.task(
        "conditional", f"{_PACKAGE}.conditional.ConditionalTask", ConditionalTaskConfig,
        description="one-to-many generation from a label or feature vector; greedy/beam/sampling decoding",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.tasks.conditional.ConditionalTask"],
    )
    registry.data(
        "conditional", f"{_PACKAGE}.conditional_data.ConditionalData", ConditionalDataConfig,
        description="a condition and its sequence: 'label<TAB>text' lines, or .pt/.npz targets with labels/features",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.data.conditional.ConditionalData"],
    )
    registry.data(
        "digit_rows", f"{_PACKAGE}.conditional_data.DigitRowsData", DigitRowsDataConfig,
        description="a digit's 64 pixel intensities from its label (offline one-to-many demo)",
        # its path inside the core before 0.2 (checkpoints written then still load)
        formerly=["seqforge.data.conditional.DigitRowsData"],
    )
    registry.task(
        "doc_classify", f"{_PACKAGE}.han.DocumentClassificationTask", DocumentClassificationTaskConfig,
        description="document classification: hierarchical attention network (word and sentence attention, Yang et al. "
                    "2016)",
    )
    registry.data(
        "documents", f"{_PACKAGE}.documents.DocumentData", DocumentDataConfig,
        description="labelled documents of sentences: 'label<TAB>s1 ||| s2' lines or blank-line-separated blocks",
    )
    registry.data(
        "authors", f"{_PACKAGE}.documents.AuthorsData", AuthorsDataConfig,
        description="passages of 3-6 sentences by Austen, Carroll or Chesterton (public domain; offline HAN demo)",
    )
    registry.encoder(
        "bag_of_words", f"{_PACKAGE}.bag_of_words.BagOfWordsEncoder", BagOfWordsEncoderConfig,
        description="mean|sum of token vectors, masked, order ignored (with model.embedding.kind=onehot: counts); "
                    "classify only",
    )
    registry.encoder(
        "self_attentive", f"{_PACKAGE}.self_attention.SelfAttentiveEncoder", SelfAttentiveEncoderConfig,
        description="recurrent encoder + multi-head scaled dot-product self-attention layers (residual, layer norm)",
    )
    registry.command(
        "han-attention", f"{_PACKAGE}.han_html.main",
        description="render a doc_classify run's word and sentence attention for test documents as HTML",
    )
    for name, description in PRESETS.items():
        registry.preset(name, _PRESETS / f"{name}.yaml", description=description)


#: ``experiment=<name>`` presets shipped in ``presets/<name>.yaml``.
PRESETS = {
    "digits_demo": "sklearn digits row by row: BiLSTM, attention pooling (offline classification demo)",
    "tagging_demo": "generated sentences with DATE/LOC/MONEY/PERCENT entities: char-feature BiLSTM tagger (offline)",
    "conditional_demo": "draw a digit's 8x8 pixels from its label: LSTM decoder conditioned on the label (offline)",
    "conll_ner": "CoNLL-format NER: BiLSTM-CRF with character features after Lample et al. (2016), by epochs",
    "wnut17": "WNUT 2017 emerging entities: BiLSTM-CRF with character features, by epochs",
    "sst2": "SST-2 sentiment (stsa.binary): BiLSTM, max pooling; optional word2vec initialisation",
    "han_demo": "authorship of 3-6 sentence passages (Austen/Carroll/Chesterton, public domain): hierarchical "
                "attention network",
}
