"""``seqforge.api``: everything a plugin may import from seqforge (plus :mod:`seqforge.testing`).

A plugin written against these names keeps working across seqforge releases that
implement the same plugin API major version (:data:`PLUGIN_API_VERSION`; a
plugin declares the one it targets as ``SEQFORGE_PLUGIN_API = "1.1"`` in its
entry-point module). Every other ``seqforge.*`` module is internal and may change
in any release. ``SEQFORGE_PLUGIN_API`` versions exactly ``__all__`` below;
docs/plugins.md ("Public API") describes each name.

Importing this module is cheap (no torch, no Hydra): the registry, hook marker,
errors and Protocols are plain imports; the machinery that needs torch or
OmegaConf is imported on first access (PEP 562), so a plugin module that only
registers keeps ``seqforge plugins list`` fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seqforge import PLUGIN_API_VERSION
from seqforge.errors import ConfigError, DataError, PluginError, SeqforgeError, UsageError
from seqforge.hookspecs import hookimpl
from seqforge.interfaces import (
    Attention,
    Batch,
    BeginsEvaluation,
    Cell,
    ConfiguresOptimizers,
    DataModule,
    Decoder,
    Encoder,
    EncoderOutput,
    ExportsVectors,
    Generates,
    KnowsSequenceLength,
    ListsDataFiles,
    ManuallyOptimised,
    Predicts,
    ProvidesCallbacks,
    ReinforceAttention,
    Reports,
    ResumableLoaderLike,
    State,
    StepAttention,
    Task,
    TimedBatch,
    TimeSplits,
    Translates,
)
from seqforge.registry import Registry

if TYPE_CHECKING:
    from seqforge.bridge import StateBridge, state_sizes, unflatten_state
    from seqforge.builders import build_encoder, cell_factory, instantiate
    from seqforge.command_io import command_for, read_input_lines, write_output_lines
    from seqforge.data.codecs import Codec, VocabularyCodec, codec_from_state, fit_codec
    from seqforge.data.resumable import ResumableLoader, shuffle_seed, training_loader
    from seqforge.data.splits import SplitLoaders, check_fractions, split_by_fractions
    from seqforge.data.streams import StreamBatch, StreamBatches, StreamLoaders
    from seqforge.data.text_io import read_text
    from seqforge.data.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, Vocabulary
    from seqforge.embeddings import (
        EmbeddingConfig,
        build_token_embedding,
        extend_vocabulary,
        init_embedding,
        read_word2vec,
    )
    from seqforge.encoders import RecurrentEncoder
    from seqforge.key_values import parse_key_values
    from seqforge.recurrent.loop import length_mask, reverse_padded, run_cell
    from seqforge.recurrent.stack import RecurrentStack
    from seqforge.recurrent.state import detach_state, map_state, select_state
    from seqforge.run_loading import load_run
    from seqforge.search import (
        Hypothesis,
        LengthPenalty,
        StepFn,
        beam_search,
        expand_state,
        greedy_search,
        penalised_score,
        sample_search,
        select_state_rows,
    )
    from seqforge.seq2seq import Seq2Seq
    from seqforge.tasks.configs import DecodeConfig

#: Names imported on first access, by the module that defines them (torch, numpy or OmegaConf behind them).
_LAZY = {
    "instantiate": "seqforge.builders",
    "read_word2vec": "seqforge.embeddings",
    "parse_key_values": "seqforge.key_values",
    "load_run": "seqforge.run_loading",
    "run_cell": "seqforge.recurrent.loop",
    "length_mask": "seqforge.recurrent.loop",
    "reverse_padded": "seqforge.recurrent.loop",
    "RecurrentStack": "seqforge.recurrent.stack",
    "RecurrentEncoder": "seqforge.encoders",
    "map_state": "seqforge.recurrent.state",
    "detach_state": "seqforge.recurrent.state",
    "select_state": "seqforge.recurrent.state",
    "Hypothesis": "seqforge.search",
    "LengthPenalty": "seqforge.search",
    "StepFn": "seqforge.search",
    "greedy_search": "seqforge.search",
    "beam_search": "seqforge.search",
    "sample_search": "seqforge.search",
    "expand_state": "seqforge.search",
    "select_state_rows": "seqforge.search",
    "penalised_score": "seqforge.search",
    # building a task's model from the composed config
    "build_encoder": "seqforge.builders",
    "cell_factory": "seqforge.builders",
    "init_embedding": "seqforge.embeddings",
    "extend_vocabulary": "seqforge.embeddings",
    "build_token_embedding": "seqforge.embeddings",
    "EmbeddingConfig": "seqforge.embeddings",
    "DecodeConfig": "seqforge.tasks.configs",
    "Seq2Seq": "seqforge.seq2seq",
    "StateBridge": "seqforge.bridge",
    "state_sizes": "seqforge.bridge",
    "unflatten_state": "seqforge.bridge",
    # data modules: vocabularies, codecs, splits, resumable loaders, contiguous streams
    "SPECIALS": "seqforge.data.vocab",
    "PAD_ID": "seqforge.data.vocab",
    "UNK_ID": "seqforge.data.vocab",
    "BOS_ID": "seqforge.data.vocab",
    "EOS_ID": "seqforge.data.vocab",
    "Vocabulary": "seqforge.data.vocab",
    "Codec": "seqforge.data.codecs",
    "VocabularyCodec": "seqforge.data.codecs",
    "fit_codec": "seqforge.data.codecs",
    "codec_from_state": "seqforge.data.codecs",
    "read_text": "seqforge.data.text_io",
    "check_fractions": "seqforge.data.splits",
    "split_by_fractions": "seqforge.data.splits",
    "SplitLoaders": "seqforge.data.splits",
    "ResumableLoader": "seqforge.data.resumable",
    "training_loader": "seqforge.data.resumable",
    "shuffle_seed": "seqforge.data.resumable",
    "StreamBatch": "seqforge.data.streams",
    "StreamBatches": "seqforge.data.streams",
    "StreamLoaders": "seqforge.data.streams",
    # -- names added for the task-family plugins (seqforge-seq2seq) --
    "read_input_lines": "seqforge.command_io",
    "write_output_lines": "seqforge.command_io",
    "command_for": "seqforge.command_io",
}

__all__ = sorted([
    "PLUGIN_API_VERSION",
    # plugin system
    "Registry", "hookimpl",
    # errors
    "ConfigError", "DataError", "PluginError", "SeqforgeError", "UsageError",
    # Protocols and data types
    "Attention", "Cell", "Decoder", "Encoder", "EncoderOutput", "State", "Task",
    # optional attention capabilities (the decoder passes `step=`; REINFORCE estimators get the reward)
    "StepAttention", "ReinforceAttention",
    # a Task's optional capabilities (isinstance-checked Protocols)
    "TimeSplits", "Generates", "Translates", "Predicts", "ConfiguresOptimizers", "ManuallyOptimised",
    "BeginsEvaluation", "ProvidesCallbacks", "Reports", "ExportsVectors",
    # what a Task's data module, its loaders and batches provide
    "DataModule", "KnowsSequenceLength", "ListsDataFiles", "ResumableLoaderLike", "Batch", "TimedBatch",
    # lazily imported
    *_LAZY,
])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(
            f"module 'seqforge.api' has no attribute '{name}' (the public API is seqforge.api.__all__)"
        )
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
