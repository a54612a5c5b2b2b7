"""When each public name joined the plugin API: what ``seqforge plugins check`` compares a plugin's imports against.

A module of its own, in the bottom layer, so that the authors' harness (``seqforge.testing``) can
read it without importing :mod:`seqforge.api`, which sits above it.
"""

from __future__ import annotations

#: The minor version of the plugin API that added each name after 1.0 (a name absent here is in 1.0).
#: A plugin importing a name must declare at least that version: ``seqforge plugins check`` refuses
#: one that declares an older API than it uses, since it would break on that older seqforge.
ADDED_IN: dict[str, str] = dict.fromkeys([
    "BOS_ID", "Batch", "BeginsEvaluation", "Codec", "ConfiguresOptimizers", "DataModule",
    "DecodeConfig", "EOS_ID", "EmbeddingConfig", "ExportsVectors", "Generates", "KnowsSequenceLength",
    "ListsDataFiles", "ManuallyOptimised", "PAD_ID", "Predicts", "ProvidesCallbacks", "RecurrentEncoder",
    "ReinforceAttention",
    "Reports", "ResumableLoader", "ResumableLoaderLike", "SPECIALS", "Seq2Seq", "SplitLoaders",
    "StateBridge", "StepAttention", "StreamBatch", "StreamBatches", "StreamLoaders", "TimeSplits",
    "TimedBatch", "Translates", "UNK_ID", "Vocabulary", "VocabularyCodec", "build_encoder",
    "build_token_embedding", "cell_factory", "check_fractions", "codec_from_state", "command_for", "fit_codec",
    "init_embedding", "read_input_lines", "read_text", "shuffle_seed", "split_by_fractions", "state_sizes",
    "training_loader", "unflatten_state", "write_output_lines",
], "1.1") | dict.fromkeys(["extend_vocabulary"], "1.2")
