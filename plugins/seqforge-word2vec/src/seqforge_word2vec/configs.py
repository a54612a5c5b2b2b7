"""Config dataclasses of the word2vec task and data (import-light: no torch, no numba)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Word2VecDataConfig:
    """``data=word2vec``: a plain-text corpus, one sentence per line, tokens separated by whitespace.

    The file is read twice: once to count the vocabulary, then streamed every epoch as
    chunks of token ids, so memory is the vocabulary plus one chunk, not the corpus.
    """

    path: str | None = None  # a text file (.gz too); None: the embedded demo corpus
    lowercase: bool = False
    min_count: int = 5  # rarer words are dropped from the corpus (as in word2vec.c / gensim)
    max_vocab: int | None = None  # keep only the most frequent words
    sample: float = 1e-3  # sub-sampling threshold of frequent words (0: off)
    window: int = 5  # maximal context window; the effective window is uniform in 1..window per word
    chunk_words: int = 200000  # corpus words per training step (split among task.workers threads)
    max_sentence_len: int = 10000  # longer lines are cut into sentences of this many words
    cache_encoded: bool = True  # keep the encoded corpus in a temporary file (4 bytes/word) for epochs 2..n
    probe_words: int = 20000  # corpus words whose held-out pairs give val/loss and test/loss
    demo_sentences: int = 30000  # size of the embedded demo corpus (when path is None)


@dataclass
class Word2VecTaskConfig:
    """``task=word2vec``; the architecture and loss are ``model.arch`` and ``model.loss``, the size
    ``model.embedding_dim``."""

    negative: int = 5  # noise words per positive pair (negative sampling and NCE)
    cbow_mean: bool = True  # CBOW averages the context vectors (false: sums them)
    lr: float = 0.025  # initial SGD learning rate (word2vec's alpha); optim.* is not used by this task
    min_lr: float = 0.0001  # the rate decays linearly to this over the planned steps
    workers: int = 2  # threads running the compiled kernel (Hogwild: lock-free shared updates)
    backend: str = "kernel"  # kernel (compiled; negative_sampling|nce) | torch (autograd + sparse SGD; any loss)
    # examples per autograd step for backend=torch / model.loss=softmax (SGD on their summed loss: keep it small next to
    # the vocabulary)
    torch_batch_pairs: int = 1024
    analogy: str | None = None  # questions-words.txt-format file evaluated at validation/test
    similarity: str | None = None  # wordsim353.tsv-format file evaluated at validation/test
    restrict_vocab: int = 30000  # analogy questions use the most frequent words only (gensim's restrict_vocab)
    export: str = "both"  # text|binary|both|none: vectors.txt / vectors.bin written to the run directory after training
    show_neighbors: str = ""  # comma-separated words whose nearest neighbours are printed after training
    seed_offset: int = 0  # added to the run's seed for the kernel's random streams
