"""word2vec data: a streamed corpus -> chunks of sentences as ``int32`` id arrays.

Two passes over the text: :meth:`Word2VecData.prepare` counts the vocabulary once; the first
epoch then streams the file and encodes it chunk by chunk in a background thread (the compiled
kernels release the GIL, so encoding overlaps training), and with ``data.cache_encoded`` writes
the ids to a temporary file that later epochs memory-map. Memory is the vocabulary plus a few
chunks, whatever the corpus size. Out-of-vocabulary words are
dropped before windows are formed (as word2vec.c and gensim do); a chunk holds exactly
``data.chunk_words`` in-vocabulary words, so the number of steps per epoch is known.
"""

from __future__ import annotations

import queue
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from seqforge.api import ConfigError
from seqforge_word2vec.configs import Word2VecDataConfig
from seqforge_word2vec.corpus import Corpus, TextCorpus, demo_corpus
from seqforge_word2vec.kernels import alias_table
from seqforge_word2vec.vocab import Vocab, keep_probabilities, noise_distribution


@dataclass
class Chunk:
    """Sentences ``words[starts[i]:starts[i+1]]`` (int32 ids, int64 boundaries) and where they sit in training.

    ``progress`` is the fraction of planned training done before this chunk (drives the linear
    learning-rate decay); ``index`` the chunk's position in its epoch.
    """

    words: np.ndarray
    starts: np.ndarray
    index: int
    progress: float = 0.0

    @property
    def batch_size(self) -> int:
        return int(self.words.shape[0])

    def to(self, device: Any) -> Chunk:
        return self


def encode_chunks(
    corpus: Corpus, index: dict[str, int], chunk_words: int, max_sentence_len: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(words, starts)`` with exactly ``chunk_words`` in-vocabulary words each (the last one fewer)."""
    get = index.get
    ids: list[int] = []
    starts: list[int] = [0]
    for tokens in corpus:
        sentence = [i for i in map(get, tokens) if i is not None]
        while sentence:
            room = min(chunk_words - len(ids), max_sentence_len)
            piece, sentence = sentence[:room], sentence[room:]
            ids.extend(piece)
            starts.append(len(ids))
            if len(ids) >= chunk_words:
                yield np.asarray(ids, dtype=np.int32), np.asarray(starts, dtype=np.int64)
                ids, starts = [], [0]
    if ids:
        yield np.asarray(ids, dtype=np.int32), np.asarray(starts, dtype=np.int64)


class ChunkStream:
    """The training chunks of one epoch after another; resumable mid-epoch (like
    ``seqforge.data.streams.StreamBatches``).

    Encoding runs in a background thread a few chunks ahead of training.
    """

    def __init__(self, data: Word2VecData, n_chunks: int, planned_chunks: int) -> None:
        self.data = data
        self.n_chunks = n_chunks
        self.planned_chunks = max(planned_chunks, 1)
        self.epoch = 0
        self.consumed = 0

    def __len__(self) -> int:
        return self.n_chunks

    def __iter__(self) -> Iterator[Chunk]:
        start = self.consumed if self.consumed < self.n_chunks else 0
        cfg = self.data.cfg
        cache = self.data.encoded
        if cache is not None and cache.complete:
            source: Iterator[tuple[np.ndarray, np.ndarray]] = cache.read()
        else:
            source = encode_chunks(self.data.corpus, self.data.vocab.index, cfg.chunk_words, cfg.max_sentence_len)
            if cache is not None:
                source = cache.write(source, self.n_chunks)
        # Lightning stops after len(self) batches without exhausting the iterator, so the epoch is taken
        # from the trainer when there is one, and counted here at the last chunk otherwise.
        trainer = getattr(self.data, "trainer", None)
        epoch = trainer.current_epoch if trainer is not None else self.epoch
        for index, (words, starts) in enumerate(_prefetch(source, depth=4)):
            if index < start:
                continue
            done = epoch * self.n_chunks + index
            if index == self.n_chunks - 1:
                self.consumed, self.epoch = 0, epoch + 1
            yield Chunk(words, starts, index, min(done / self.planned_chunks, 1.0))

    def mark_consumed(self, index: int) -> None:
        self.consumed = index + 1

    def state_dict(self) -> dict[str, int]:
        return {"consumed": self.consumed, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.consumed = int(state.get("consumed", 0))
        self.epoch = int(state.get("epoch", 0))


def _prefetch(source: Iterator[Any], depth: int) -> Iterator[Any]:
    """Run ``source`` in a daemon thread, ``depth`` items ahead; its exceptions re-raise here."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            items.put(exc)

    thread = threading.Thread(target=produce, name="word2vec-encoder", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class EncodedCache:
    """The encoded corpus in two temporary binary files (int32 word ids, int64 sentence starts), written
    during the first full epoch and memory-mapped by the next ones: later epochs skip reading and
    encoding the text (on 2 cores, encoding in Python would take a third of a core from the kernels).
    Memory-mapped pages are the operating system's cache, not the process's memory."""

    def __init__(self) -> None:
        import tempfile
        import weakref

        self.directory = Path(tempfile.mkdtemp(prefix="seqforge-word2vec-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.directory), True)
        self.chunks: list[tuple[int, int, int, int]] = []  # (word offset, words, starts offset, starts)
        self.complete = False

    def write(
        self, source: Iterator[tuple[np.ndarray, np.ndarray]], expected: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Pass ``source`` through, appending it to the files; complete once its ``expected`` chunks are written."""
        chunks: list[tuple[int, int, int, int]] = []
        word_offset = start_offset = 0
        with (
            open(self.directory / "words.i32", "wb") as words_file,
            open(self.directory / "starts.i64", "wb") as starts_file,
        ):
            for words, starts in source:
                words_file.write(words.tobytes())
                starts_file.write(starts.tobytes())
                chunks.append((word_offset, len(words), start_offset, len(starts)))
                word_offset += len(words)
                start_offset += len(starts)
                if len(chunks) == expected:
                    words_file.flush()
                    starts_file.flush()
                    self.chunks, self.complete = chunks, True
                yield words, starts

    def read(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        words = np.memmap(self.directory / "words.i32", dtype=np.int32, mode="r")
        starts = np.memmap(self.directory / "starts.i64", dtype=np.int64, mode="r")
        for word_offset, n_words, start_offset, n_starts in self.chunks:
            yield (
                np.asarray(words[word_offset : word_offset + n_words]),
                np.asarray(starts[start_offset : start_offset + n_starts]),
            )


class ProbeLoader:
    """A loader of fixed chunks (a plain list would be read by Lightning as several loaders)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)


class Word2VecData(L.LightningDataModule):
    """Vocabulary, sub-sampling and noise tables, and the streamed training chunks.

    ``val``/``test`` batches are one probe chunk: the first ``data.probe_words`` corpus words,
    whose examples (with fixed random draws) give a comparable loss at every validation.
    """

    def __init__(self, *, vocab: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = cfg = Word2VecDataConfig(**options)
        for key in ("window", "chunk_words", "max_sentence_len"):
            if getattr(cfg, key) < 1:
                raise ConfigError(f"data.{key} must be >= 1, got {getattr(cfg, key)}.")
        if cfg.probe_words < 0:
            raise ConfigError(f"data.probe_words must be >= 0, got {cfg.probe_words}.")
        self.vocab: Vocab | None = Vocab.from_state(vocab) if vocab is not None else None
        self.corpus: Corpus | None = None
        self._train: ChunkStream | None = None
        self.encoded: EncodedCache | None = None
        self._probe: Chunk | None = None
        if self.vocab is not None:
            self._tables()

    def _corpus(self) -> Corpus:
        if self.corpus is None:
            cfg = self.cfg
            self.corpus = TextCorpus(cfg.path, lowercase=cfg.lowercase) if cfg.path else demo_corpus(cfg.demo_sentences)
        return self.corpus

    def prepare(self) -> Word2VecData:
        """Count the vocabulary (first pass over the corpus); idempotent."""
        corpus = self._corpus()
        if self.vocab is None:
            self.vocab = Vocab.build(corpus, min_count=self.cfg.min_count, max_vocab=self.cfg.max_vocab)
            self._tables()
        return self

    def _tables(self) -> None:
        vocab = self.vocab
        self.keep = keep_probabilities(vocab.counts, self.cfg.sample)  # (V,) float32
        self.noise = noise_distribution(vocab.counts)  # (V,) float64
        self.alias_prob, self.alias_word = alias_table(self.noise)  # (V,) float32, (V,) int32: O(1) noise draws

    def setup(self, stage: str | None = None) -> None:
        self.prepare()
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.world_size > 1:
            raise ConfigError(
                f"task=word2vec trains with threads in one process (task.workers); it does not support "
                f"{trainer.world_size} devices. Use trainer.devices=1 and raise task.workers instead."
            )

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: the vocabulary with its counts (tables are rebuilt from them)."""
        return self.vocab.state()

    @property
    def chunks_per_epoch(self) -> int:
        return max(1, -(-self.vocab.train_words // self.cfg.chunk_words))

    def describe(self) -> str:
        v = self.vocab
        return (
            f"vocabulary {len(v)} (min_count {self.cfg.min_count}) | corpus tokens {v.corpus_words:,}, "
            f"{v.train_words:,} in vocabulary | {self.chunks_per_epoch} chunks of {self.cfg.chunk_words} words per "
            "epoch"
        )

    def planned_chunks(self) -> int:
        """Training steps the run will take (for the learning-rate decay)."""
        trainer = getattr(self, "trainer", None)
        per_epoch = self.chunks_per_epoch
        if trainer is None:
            return per_epoch
        planned = []
        if trainer.max_epochs not in (None, -1):
            planned.append(trainer.max_epochs * per_epoch)
        if trainer.max_steps not in (None, -1):
            planned.append(trainer.max_steps)
        return min(planned) if planned else per_epoch

    def train_dataloader(self) -> ChunkStream:
        if self._train is None:
            self.encoded = EncodedCache() if self.cfg.cache_encoded else None
            self._train = ChunkStream(self, self.chunks_per_epoch, self.planned_chunks())
        return self._train

    def probe(self) -> Chunk:
        """The first ``probe_words`` in-vocabulary corpus words as one chunk."""
        if self._probe is None:
            size = max(self.cfg.probe_words, 1)
            words, starts = next(encode_chunks(self._corpus(), self.vocab.index, size, self.cfg.max_sentence_len))
            self._probe = Chunk(words, starts, 0)
        return self._probe

    def val_dataloader(self) -> ProbeLoader:
        return ProbeLoader([self.probe()] if self.cfg.probe_words > 0 else [])

    def test_dataloader(self) -> ProbeLoader:
        return self.val_dataloader()

    def transfer_batch_to_device(self, batch: Chunk, device: Any, dataloader_idx: int) -> Chunk:
        return batch
