"""Config dataclasses of the sequence-to-sequence components (import-light: no torch, no lightning)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqforge.api import DecodeConfig


@dataclass
class ParallelDataConfig:
    """``data=parallel``: sentence pairs for sequence-to-sequence tasks.

    Give either two line-aligned files (``source`` + ``target``) or one ``tsv``
    file (``source<TAB>target`` per line). Without ``valid_*``/``test_*``
    files the pairs are split by ``split`` (in file order).
    """

    source: str | None = None
    target: str | None = None
    tsv: str | None = None
    valid_source: str | None = None
    valid_target: str | None = None
    valid_tsv: str | None = None
    test_source: str | None = None
    test_target: str | None = None
    test_tsv: str | None = None
    split: list[float] = field(default_factory=lambda: [0.9, 0.05, 0.05])
    tokenizer: str = "word"  # char|word|subword (subword: BPE via Hugging Face tokenizers)
    subword_vocab_size: int = 8000
    shared_vocab: bool = False  # one vocabulary for both sides (needed for tied source/target embeddings)
    lowercase: bool = False
    min_freq: int = 1
    max_vocab: int | None = None
    max_source_len: int = 200  # tokens
    max_target_len: int = 200
    too_long: str = "truncate"  # truncate|error: what to do with longer pairs in training data
    batch_size: int = 64
    eval_batch_size: int = 128
    shuffle: bool = True


@dataclass
class DatesDataConfig(ParallelDataConfig):
    """``data=dates``: dates written in many languages and formats -> ISO 8601 (generated offline with Babel's CLDR
    data)."""

    tokenizer: str = "char"
    n_train: int = 20000
    n_valid: int = 1000
    n_test: int = 1000
    seed: int = 1234
    first_year: int = 1950  # two-digit years are unambiguous inside a 100-year window
    last_year: int = 2049
    locales: list[str] = field(
        default_factory=lambda: ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"]
    )


@dataclass
class ReorderDataConfig(ParallelDataConfig):
    """``data=reorder``: symbol sequences -> each ``|``-separated segment reversed and upper-cased (generated offline).

    A translation demo hard enough to rank attention variants: the alignment runs backwards inside
    every segment, and sequences are too long for a decoder without attention.
    """

    tokenizer: str = "word"  # symbols and separators are space-separated words
    n_train: int = 20000
    n_valid: int = 500
    n_test: int = 1000
    seed: int = 1234
    min_len: int = 15  # tokens per source sequence, separators included
    max_len: int = 40
    symbols: int = 16  # source alphabet a, b, ... (at most 26)
    max_segment: int = 6  # longest segment between separators; 0: no separators (reverse the whole sequence)


@dataclass
class TranslationTaskConfig:
    """``task=translation``: sequence to sequence with teacher forcing."""

    teacher_forcing: float = 1.0  # probability of feeding the true previous token (< 1: scheduled sampling)
    # the same for validation/test loss, perplexity and token accuracy (0: the model is fed its own greedy predictions,
    # so val/loss -- and checkpoint.monitor on it -- measures free-running decoding, as bentrevett's seq2seq tutorials)
    eval_teacher_forcing: float = 1.0
    label_smoothing: float = 0.0
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    heatmaps: int = 3  # attention heatmap PNGs of this many validation examples per validation run
    show_examples: int = 5  # test examples printed after training
