"""Registers sequence to sequence with seqforge (entry point ``seqforge: seq2seq``).

* ``task=translation``: teacher-forced training, greedy/beam/sampling decoding, BLEU/chrF (sacrebleu), attention
  heatmaps;
* ``data=parallel`` (sentence pairs; char, word or BPE subword tokens), ``data=dates`` (the offline demo) and
  ``data=reorder`` (the harder offline demo that ranks attention variants);
* the ``experiment=translate_demo`` and ``experiment=reorder_demo`` presets and the ``seqforge translate`` command.

Factories are import paths so loading the plugin does not import torch (fast CLI start-up).
``formerly=`` names where each class lived while it was part of the core (seqforge 0.1 before
the split), so checkpoints written then still load.
"""

from __future__ import annotations

from pathlib import Path

from seqforge.api import Registry, hookimpl
from seqforge_seq2seq.configs import DatesDataConfig, ParallelDataConfig, ReorderDataConfig, TranslationTaskConfig

#: The seqforge plugin API this plugin is written against (checked before it is loaded).
SEQFORGE_PLUGIN_API = "1.1"

_PRESETS = Path(__file__).parent / "presets"


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.task(
        "translation", "seqforge_seq2seq.translation.TranslationTask", TranslationTaskConfig,
        description="sequence to sequence: BLEU, chrF, exact match; greedy/beam/sampling decoding",
        formerly=["seqforge.tasks.translation.TranslationTask"],
    )
    registry.data(
        "parallel", "seqforge_seq2seq.parallel.ParallelData", ParallelDataConfig,
        description="sentence pairs: two line-aligned files or a TSV; char|word|subword tokens",
        formerly=["seqforge.data.parallel.ParallelData"],
    )
    registry.data(
        "dates", "seqforge_seq2seq.dates.DatesData", DatesDataConfig,
        description="generated dates in 8 languages and 4 formats -> ISO 8601 (offline translation demo)",
        formerly=["seqforge.data.dates.DatesData"],
    )
    registry.data(
        "reorder", "seqforge_seq2seq.reorder.ReorderData", ReorderDataConfig,
        description="generated symbol sequences -> each |-separated segment reversed (offline demo that ranks "
        "attention variants)",
    )
    registry.preset(
        "translate_demo", _PRESETS / "translate_demo.yaml",
        description="dates in 8 languages -> ISO 8601: char BiLSTM encoder, LSTM decoder, Bahdanau attention",
    )
    registry.preset(
        "reorder_demo", _PRESETS / "reorder_demo.yaml",
        description="reverse every segment of 15-40 symbols: BiLSTM encoder, LSTM decoder, Bahdanau attention",
    )
    registry.command(
        "translate", "seqforge_seq2seq.commands.translate",
        description="translate lines with a trained sequence-to-sequence model: ckpt=PATH [input=FILE|-] "
                    "[output=FILE|-] "
        "[decode=greedy|beam|sample] [decode.beam_size=5] [decode.n_best=3]",
    )
