"""The word2vec task: skip-gram / CBOW with negative sampling, NCE or full softmax.

Training goes through seqforge's LightningModule like every task (checkpoints, logging,
progress, resume), with *manual* optimisation: one Lightning step is one chunk of
sentences (``data.chunk_words`` words), and the task updates the parameters itself with
word2vec's SGD and linearly decaying learning rate:

* ``task.backend=kernel`` (default; negative sampling and NCE): the chunk is split among
  ``task.workers`` threads running the compiled Hogwild kernel
  (:func:`seqforge_word2vec.kernels.train_sentences`) directly on the parameters' memory.
* ``task.backend=torch`` (and always for ``model.loss=softmax``): examples are built with the
  same sub-sampling and dynamic window, and the autograd reference losses
  (:mod:`seqforge_word2vec.losses`) are minimised with sparse-gradient SGD.

Either way the step ends with one (gradient-free) ``optimizer.step()`` so that Lightning's
step count — ``trainer.max_steps``, checkpoint intervals, logging — means "chunks trained".
Validation and test report the reference loss on a fixed probe chunk (``val/loss``), plus
analogy accuracy and word-similarity Spearman when ``task.analogy`` / ``task.similarity`` are set.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqforge.api import ConfigError, instantiate
from seqforge_word2vec import kernels
from seqforge_word2vec.data import Chunk, Word2VecData
from seqforge_word2vec.losses import nce_loss, negative_sampling_loss, softmax_loss
from seqforge_word2vec.model import ARCHS, Word2VecModel

# Lightning's advice for manual optimisation with step checkpoints does not apply: a step's update is complete when it
# returns.
warnings.filterwarnings("ignore", message=r".*manual optimization and every_n_train_steps.*")

LOSSES = ("negative_sampling", "nce", "softmax")
BACKENDS = ("kernel", "torch")
EXPORTS = ("text", "binary", "both", "none")


class Word2VecTask:
    """See the module docstring; constructor arguments: :class:`~seqforge_word2vec.configs.Word2VecTaskConfig`."""

    metric_sums = ("loss_sum", "examples")
    automatic_optimization = False  # the task updates the parameters itself (compiled kernels)

    def __init__(
        self,
        negative: int = 5,
        cbow_mean: bool = True,
        lr: float = 0.025,
        min_lr: float = 0.0001,
        workers: int = 2,
        backend: str = "kernel",
        torch_batch_pairs: int = 1024,
        analogy: str | None = None,
        similarity: str | None = None,
        restrict_vocab: int = 30000,
        export: str = "both",
        show_neighbors: str = "",
        seed_offset: int = 0,
    ) -> None:
        if negative < 1:
            raise ConfigError(f"task.negative must be >= 1 (noise words per positive pair), got {negative}.")
        for key, value in (
            ("workers", workers),
            ("torch_batch_pairs", torch_batch_pairs),
            ("restrict_vocab", restrict_vocab),
        ):
            if value < 1:
                raise ConfigError(f"task.{key} must be >= 1, got {value}.")
        if not lr > 0 or min_lr < 0 or min_lr > lr:
            raise ConfigError(f"task.lr must be > 0 and 0 <= task.min_lr <= task.lr, got lr={lr}, min_lr={min_lr}.")
        if backend not in BACKENDS:
            raise ConfigError(f"task.backend='{backend}' is not known; expected one of: {', '.join(BACKENDS)}.")
        if export not in EXPORTS:
            raise ConfigError(f"task.export='{export}' is not known; expected one of: {', '.join(EXPORTS)}.")
        self.negative, self.cbow_mean, self.lr, self.min_lr = negative, cbow_mean, lr, min_lr
        self.workers, self.backend, self.torch_batch_pairs = workers, backend, torch_batch_pairs
        self.analogy, self.similarity, self.restrict_vocab = analogy, similarity, restrict_vocab
        self.export, self.show_neighbors, self.seed_offset = export, show_neighbors, seed_offset
        self.arch, self.loss, self.seed = "skipgram", "negative_sampling", 0
        self.run_dir: Path | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._steps = 0
        self._model: Word2VecModel | None = None

    # -- building -----------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> Word2VecData:
        data = instantiate(cfg.data, "data", vocab=state)
        if not isinstance(data, Word2VecData):
            raise ConfigError("task=word2vec needs data=word2vec (a plain-text corpus streamed as sentences); got "
                              f"{type(data).__name__}.")
        return data

    def build_model(self, cfg: Any, data: Word2VecData) -> Word2VecModel:
        model_cfg = cfg.model
        self.arch = model_cfg.get("arch") or "skipgram"
        self.loss = model_cfg.get("loss") or "negative_sampling"
        if self.arch not in ARCHS:
            raise ConfigError(f"model.arch='{self.arch}' is not a word2vec architecture; expected one of: "
                              f"{', '.join(ARCHS)}.")
        if self.loss not in LOSSES:
            raise ConfigError(f"model.loss='{self.loss}' is not a word2vec loss; expected one of: {', '.join(LOSSES)}.")
        if model_cfg.embedding_dim < 1:
            raise ConfigError(f"model.embedding_dim must be >= 1, got {model_cfg.embedding_dim}.")
        self.seed = int(cfg.seed) + self.seed_offset
        self.log_kq = np.log(self.negative * data.noise).astype(np.float32)  # (V,) NCE's log(k q(w))
        self._data = data
        return Word2VecModel(
            vocab_size=len(data.vocab), dim=model_cfg.embedding_dim, arch=self.arch, cbow_mean=self.cbow_mean
        )

    def configure_optimizers(self, model: Word2VecModel) -> torch.optim.Optimizer:
        """Plain SGD (sparse gradients allowed); the learning rate is set at every step (linear decay)."""
        return torch.optim.SGD(model.parameters(), lr=self.lr)

    @property
    def uses_kernel(self) -> bool:
        return self.backend == "kernel" and self.loss != "softmax"

    def learning_rate(self, progress: float) -> float:
        """Linear decay from ``lr`` to ``min_lr`` over the planned steps (word2vec's alpha schedule)."""
        return self.lr - (self.lr - self.min_lr) * min(max(progress, 0.0), 1.0)

    # -- training -------------------------------------------------------------
    def training_step(
        self, model: Word2VecModel, batch: Chunk, carry: Any, *, stateful: bool, optimizer: Any
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        """Train on one chunk; returns the mean loss per trained target (as computed before each update)."""
        lr = self.learning_rate(batch.progress)
        seed = self.seed * 1_000_003 + self._steps * 64
        self._steps += 1
        started = time.perf_counter()
        if self.uses_kernel:
            loss_sum, targets = self._kernel_step(model, batch, lr, seed)
        else:
            loss_sum, targets = self._torch_step(model, batch, lr, seed, getattr(optimizer, "optimizer", optimizer))
        words_per_sec = batch.batch_size / max(time.perf_counter() - started, 1e-9)
        optimizer.zero_grad(set_to_none=True)
        optimizer.step()  # no gradients left: the parameters are already updated; this advances Lightning's step count
        loss = torch.tensor(loss_sum / max(targets, 1))
        return loss, {"loss": loss, "lr": torch.tensor(lr), "words_per_sec": torch.tensor(words_per_sec)}, None

    def _kernel_step(self, model: Word2VecModel, batch: Chunk, lr: float, seed: int) -> tuple[float, int]:
        data = self._data
        w_in = model.input.weight.detach().numpy()  # shares memory with the parameter
        w_out = model.output.weight.detach().numpy()
        starts = batch.starts
        n_sentences = len(starts) - 1
        # split the sentences into 4 runs per worker of about equal word counts: the pool balances the load
        pieces = 1 if self.workers == 1 else 4 * self.workers
        cuts = np.searchsorted(starts, np.linspace(0, starts[-1], pieces + 1)[1:-1])
        bounds = [0, *sorted({int(c) for c in cuts if 0 < c < n_sentences}), n_sentences]
        args = (
            data.keep,
            data.alias_prob,
            data.alias_word,
            self.log_kq,
            self.loss == "nce",
            self.arch == "cbow",
            self.cbow_mean,
            data.cfg.window,
            self.negative,
            lr,
        )
        jobs = []
        for k, (a, b) in enumerate(itertools.pairwise(bounds)):
            words = batch.words[starts[a] : starts[b]]
            local = starts[a : b + 1] - starts[a]
            jobs.append((w_in, w_out, words, local, *args, seed + k))
        if len(jobs) == 1:
            results = [kernels.train_sentences(*job) for job in jobs]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="word2vec")
            results = list(self._pool.map(lambda job: kernels.train_sentences(*job), jobs))
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def examples(self, batch: Chunk, seed: int) -> tuple[Tensor, Tensor, Tensor]:
        """``inputs (N, C)``, ``targets (N,)`` and noise words ``(N, K)`` for the autograd path."""
        data = self._data
        inputs, targets = kernels.make_examples(
            batch.words, batch.starts, data.keep, self.arch == "cbow", data.cfg.window, seed
        )
        noise = kernels.draw_noise(data.alias_prob, data.alias_word, len(targets) * self.negative, seed + 1).reshape(
            len(targets), self.negative
        )
        return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(noise)

    def example_loss(self, model: Word2VecModel, inputs: Tensor, targets: Tensor, noise: Tensor) -> Tensor:
        """Per-example reference loss ``(N,)`` of the configured ``model.loss``."""
        h = model.hidden(inputs)  # (N, D)
        if self.loss == "softmax":
            return softmax_loss(h, model.output.weight, targets)
        u_true, u_noise = model.output(targets), model.output(noise)  # (N, D), (N, K, D)
        if self.loss == "nce":
            log_kq = torch.from_numpy(self.log_kq)
            return nce_loss(h, u_true, u_noise, log_kq[targets], log_kq[noise])
        return negative_sampling_loss(h, u_true, u_noise)

    def _torch_step(
        self, model: Word2VecModel, batch: Chunk, lr: float, seed: int, optimizer: torch.optim.Optimizer
    ) -> tuple[float, int]:
        inputs, targets, noise = self.examples(batch, seed)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total = 0.0
        for begin in range(0, len(targets), self.torch_batch_pairs):
            part = slice(begin, begin + self.torch_batch_pairs)
            optimizer.zero_grad(set_to_none=True)
            # SGD on the sum: lr per example, as word2vec
            loss = self.example_loss(model, inputs[part], targets[part], noise[part]).sum()
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total, len(targets)

    # -- evaluation -----------------------------------------------------------
    @torch.no_grad()
    def evaluation_step(
        self, model: Word2VecModel, batch: Chunk, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Tensor], Any]:
        """Summed reference loss over the probe chunk's examples (fixed draws, so comparable across validations)."""
        self._model = model
        inputs, targets, noise = self.examples(batch, seed=12345)
        total = torch.zeros(())
        for begin in range(0, len(targets), 8192):
            part = slice(begin, begin + 8192)
            total += self.example_loss(model, inputs[part], targets[part], noise[part]).sum()
        return {"loss_sum": total, "examples": torch.tensor(float(len(targets)))}, None

    def compute_metrics(self, sums: dict[str, float], data: Word2VecData, texts: Any = ()) -> dict[str, float]:
        """Probe loss (nats per example) and, when configured, analogy accuracy and similarity Spearman."""
        metrics = {"loss": sums["loss_sum"] / max(sums["examples"], 1.0)}
        if self._model is not None and (self.analogy or self.similarity):
            metrics.update(self.intrinsic_metrics(self.vectors(self._model, data)))
        return metrics

    def intrinsic_metrics(self, vectors: Any) -> dict[str, float]:
        from seqforge_word2vec.evaluation import (
            evaluate_analogies,
            evaluate_similarity,
            read_analogies,
            read_similarity,
        )

        metrics: dict[str, float] = {}
        if self.analogy:
            result = evaluate_analogies(
                vectors, read_analogies(self.analogy, key="task.analogy"), restrict_vocab=self.restrict_vocab
            )
            metrics["analogy_acc"] = result.accuracy
        if self.similarity:
            result = evaluate_similarity(vectors, read_similarity(self.similarity, key="task.similarity"))
            if not math.isnan(result.spearman):
                metrics["similarity_spearman"] = result.spearman
        return metrics

    @staticmethod
    def vectors(model: Word2VecModel, data: Word2VecData) -> Any:
        from seqforge_word2vec.vectors import WordVectors

        return WordVectors(list(data.vocab.words), model.input.weight.detach().cpu().numpy().copy())

    # -- after training ---------------------------------------------------------
    def callbacks(self, run_dir: Path) -> list[Any]:
        self.run_dir = Path(run_dir)
        return []

    def report(self, module: Any) -> None:
        """Write the vectors (word2vec text/binary) to the run directory and print neighbours of a few words."""
        vectors = self.vectors(module.model, module.data)
        if self.run_dir is not None and self.export != "none":
            for kind in ("text", "binary"):
                if self.export in (kind, "both"):
                    path = self.run_dir / ("vectors.txt" if kind == "text" else "vectors.bin")
                    vectors.save(path, binary=kind == "binary")
                    print(f"Vectors ({kind} word2vec format): {path}")
        for word in [w.strip() for w in self.show_neighbors.split(",") if w.strip()]:
            if word in vectors:
                shown = ", ".join(f"{w} {s:.2f}" for w, s in vectors.most_similar([word], topn=5))
                print(f"  {word}: {shown}")
