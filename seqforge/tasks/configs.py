"""Config dataclasses of the core tasks (import-light: no torch, no lightning)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LanguageModelTaskConfig:
    """``task=lm``."""

    sample_length: int = 200  # characters/words sampled and printed after training (0: none)
    sample_prompt: str = "The "
    sample_temperature: float = 0.8
    # What the optimiser minimises per batch: `mean` (the mean token NLL) or `sum_over_time` (summed over the
    # unrolled steps, averaged over the batch: Zaremba et al.'s and the TensorFlow PTB tutorial's loss, whose
    # SGD lr 1 / clip 5 recipe assumes steps seq_len times larger than the mean gives).
    loss_reduction: str = "mean"


@dataclass
class DecodeConfig:
    """How sequences are produced at evaluation and inference (cell- and attention-agnostic search)."""

    strategy: str = "greedy"  # greedy|beam|sample
    beam_size: int = 5
    n_best: int = 1
    length_penalty: str = "none"  # none|avg|gnmt
    alpha: float = 0.6  # gnmt length-penalty strength
    min_len: int = 0
    max_len: int = 200  # target tokens
    max_len_ratio: float = 3.0  # and at most this many target tokens per source token (0: off)
    block_ngram_repeat: int = 0  # forbid repeating any n-gram of this size (0: off)
    temperature: float = 1.0  # sampling
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        """Refuse values the search would fail on later with a traceback (``task.decode.beam_size=0``)."""
        from seqforge.errors import ConfigError

        problems = [
            (self.strategy not in ("greedy", "beam", "sample"), "strategy", "greedy, beam or sample"),
            (self.beam_size < 1, "beam_size", "a number of beams >= 1"),
            (
                not 1 <= self.n_best <= max(self.beam_size, 1),
                "n_best",
                f"between 1 and task.decode.beam_size={self.beam_size}",
            ),
            (self.length_penalty not in ("none", "avg", "gnmt"), "length_penalty", "none, avg or gnmt"),
            (self.min_len < 0, "min_len", "a number of tokens >= 0"),
            (self.max_len < 1, "max_len", "a number of tokens >= 1"),
            (self.max_len_ratio < 0, "max_len_ratio", "a ratio >= 0 (0: off)"),
            (self.block_ngram_repeat < 0, "block_ngram_repeat", "an n-gram size >= 0 (0: off)"),
            (self.temperature < 0, "temperature", "a temperature >= 0"),
            (self.top_k is not None and self.top_k < 0, "top_k", "a number of tokens >= 0 (0 or null: off)"),
            (
                self.top_p is not None and not 0 <= self.top_p <= 1,
                "top_p",
                "a probability in [0, 1] (0, 1 or null: off)",
            ),
        ]
        for bad, key, expected in problems:
            if bad:
                raise ConfigError(
                    f"task.decode.{key}={getattr(self, key)}: expected {expected}. (`seqforge translate` takes it as "
                    f"decode.{key}=..., training as task.decode.{key}=....)"
                )
