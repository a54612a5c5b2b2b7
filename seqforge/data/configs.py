"""Config dataclasses of the data components (import-light: no torch, no lightning)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TextDataConfig:
    """``data=text``: plain text for language modelling."""

    # a text file (split by `split`) or a folder with *train*.txt, *valid*.txt, *test*.txt; None: the embedded corpus
    path: str | None = None
    tokenizer: str = "char"  # char|word
    lowercase: bool = False
    min_freq: int = 1  # rarer tokens become <unk>
    max_vocab: int | None = None  # including the 4 specials
    split: list[float] = field(default_factory=lambda: [0.9, 0.05, 0.05])  # train/valid/test fractions of a single file
    seq_len: int = 100  # BPTT length: tokens per row of a batch
    batch_size: int = 32  # rows (streams) per batch and per device
    eval_batch_size: int = 16
    stateful: bool = True  # carry the hidden state from batch n to batch n+1 (rows are contiguous)
