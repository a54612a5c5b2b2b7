"""Config dataclasses of the labelled-sequence data components (import-light: no torch, no lightning).

Classification (``data=labelled``, ``data=digits``), tagging (``data=conll``,
``data=entities``) and one-to-many generation (``data=conditional``,
``data=digit_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LabelledDataConfig:
    """``data=labelled``: one label per sequence.

    Text files hold one example per line, ``label<TAB>text`` or ``label text``
    (the first whitespace-separated word is the label). Tensor files (``.pt`` or
    ``.npz``) hold ``x``: ``(N, T, F)`` float sequences (or a list of ``(T_i, F)``),
    ``y``: ``(N,)`` labels (ints or strings), optional ``lengths``: ``(N,)``.
    Give ``path`` (split by ``split``, in file order) or ``train`` + ``valid`` + ``test``.
    """

    path: str | None = None
    train: str | None = None
    valid: str | None = None
    test: str | None = None
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])  # train/valid/test fractions of `path`
    tokenizer: str = "word"  # char|word, for text files
    lowercase: bool = False
    min_freq: int = 1
    max_vocab: int | None = None
    max_len: int = 400  # steps kept per example; longer ones are truncated and counted
    # labels absent from the training split at evaluation: report (print, leave out of the metrics)|error
    unseen_labels: str = "report"
    batch_size: int = 32
    eval_batch_size: int = 256
    shuffle: bool = True


@dataclass
class DigitsDataConfig(LabelledDataConfig):
    """``data=digits``: scikit-learn's bundled 8x8 handwritten digits, read row by row (8 steps of 8 pixels)."""

    valid_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0  # the fixed random split (stratified by digit)
    batch_size: int = 32


@dataclass
class ConllDataConfig:
    """``data=conll``: column files, one token per line, a blank line between sentences.

    ``-DOCSTART-`` lines are skipped. Columns are separated by whitespace (or tabs
    with ``separator=tab``); every token line of a file must have the same number
    of columns (``columns``, or that of the file's first token line).
    """

    train: str | None = None
    valid: str | None = None
    test: str | None = None
    token_column: int = 0
    tag_column: int = -1  # negative counts from the end (CoNLL-2003: -1 is the NER tag)
    columns: int | None = None  # expected columns per token line; None: the first token line's count
    separator: str = "whitespace"  # whitespace|tab
    scheme: str = "auto"  # auto|iob1|iob2|none; IOB1 is converted to IOB2; none: plain tags (POS), token accuracy only
    lowercase: bool = False  # word vocabulary only; character features keep the case
    min_freq: int = 1
    max_vocab: int | None = None
    max_word_len: int = 20  # characters per word for character features
    unseen_labels: str = "report"  # tags absent from training at evaluation: report (print; they count as errors)|error
    batch_size: int = 32
    eval_batch_size: int = 128
    shuffle: bool = True


@dataclass
class EntitiesDataConfig(ConllDataConfig):
    """``data=entities``: generated English sentences with DATE, LOC, MONEY and PERCENT entities (Babel CLDR data,
    offline)."""

    n_train: int = 4000
    n_valid: int = 400
    n_test: int = 600
    seed: int = 7


@dataclass
class ConditionalDataConfig:
    """``data=conditional``: a condition (a label or a feature vector) and a target sequence.

    Text files: ``label<TAB>text`` or ``label text`` lines (the label conditions the text).
    Tensor files (``.pt``/``.npz``): ``targets`` ``(N, T)`` integer tokens (negative = padding),
    and either ``labels`` ``(N,)`` or ``features`` ``(N, F)`` floats as the condition.
    """

    path: str | None = None
    train: str | None = None
    valid: str | None = None
    test: str | None = None
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    tokenizer: str = "word"  # char|word, for text targets
    lowercase: bool = False
    min_freq: int = 1
    max_vocab: int | None = None
    max_len: int = 200  # target tokens kept; longer ones are truncated and counted
    unseen_labels: str = "report"  # condition labels absent from training: report (print, leave out)|error
    batch_size: int = 32
    eval_batch_size: int = 256
    shuffle: bool = True


@dataclass
class DigitRowsDataConfig(ConditionalDataConfig):
    """``data=digit_rows``: generate a handwritten digit's 64 pixels (8 rows of 8, intensities 0-16) from its label."""

    valid_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0
    max_len: int = 64


@dataclass
class DocumentDataConfig(LabelledDataConfig):
    """``data=documents``: one label per document of sentences (hierarchical attention network, ``task=doc_classify``).

    ``format=lines``: one document per line, ``label<TAB>sentence ||| sentence ...``; ``format=blocks``:
    blank-line-separated documents, the label on the first line and one sentence per further line.
    ``max_len`` here caps the words per sentence.
    """

    format: str = "lines"  # lines|blocks (see above)
    sentence_separator: str = " ||| "  # between sentences in format=lines (surrounding spaces optional)
    max_len: int = 80  # words kept per sentence (per document with flat=true)
    max_sentences: int = 40  # sentences kept per document; longer documents are cut and counted
    flat: bool = False  # one word sequence per document (for task=classify: the flat-encoder baseline)
    batch_size: int = 16


@dataclass
class AuthorsDataConfig(DocumentDataConfig):
    """``data=authors``: the han_demo documents shipped with the plugin (passages by Austen, Carroll, Chesterton)."""
