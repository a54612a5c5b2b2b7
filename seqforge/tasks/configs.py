"""Config dataclasses of the core tasks (import-light: no torch, no lightning)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LanguageModelTaskConfig:
    """``task=lm``."""

    sample_length: int = 200  # characters/words sampled and printed after training (0: none)
    sample_prompt: str = "The "
    sample_temperature: float = 0.8
