"""The contracts between seqforge's core and its plugins.

Everything that computes is a plugin; the core only knows these shapes. They are
``typing.Protocol`` classes, so a plugin never has to inherit from seqforge: any
``torch.nn.Module`` with the right methods is a cell, an attention, ... This
module imports torch only for type checking, so the CLI stays fast to start.

Shape letters used throughout: ``B`` batch, ``T`` time (target), ``S`` source
time, ``I`` input features, ``H`` hidden size, ``V`` vocabulary, ``G`` a cell's
projected-input width (e.g. ``4H`` for an LSTM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

if TYPE_CHECKING:
    import torch
    from torch import Tensor

#: A recurrent state: one tensor ``(B, H)`` (RNN, GRU) or a tuple of them
#: (LSTM's ``(h, c)``). The core treats it as an opaque pytree of ``(B, *)`` tensors.
State = Union["Tensor", tuple["Tensor", ...]]


@runtime_checkable
class Cell(Protocol):
    """One recurrent step: ``(x_t, state) -> (h_t, state)``.

    Required:
        ``input_size``, ``hidden_size`` attributes; ``initial_state`` and ``forward``.

    Optional fast paths, used by the core when present:
        ``project_input(x: (T, B, I)) -> (T, B, G)`` together with
        ``step(px_t: (B, G), state) -> (h_t, state)``: the core hoists the input
        projection out of the time loop (one large matmul instead of T small ones).

        ``forward_sequence(x: (B, T, I), state, lengths: (B,) | None)
        -> (outputs (B, T, H), final_state)``: a fused whole-sequence kernel
        (e.g. ``nn.LSTM``). It must equal the step loop, including masking:
        outputs at padded steps are zero and the final state is the state at
        each sequence's last real step.
    """

    input_size: int
    hidden_size: int

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> State:
        """The zero state for ``batch_size`` sequences (a tensor or a tuple of ``(B, *)`` tensors)."""
        ...

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """Advance one step. ``x_t``: ``(B, I)`` -> ``h_t``: ``(B, H)`` and the new state."""
        ...


@dataclass
class EncoderOutput:
    """What an encoder hands to a decoder, an attention or a task head.

    Attributes:
        outputs: ``(B, S, H_out)`` per-position features; zero at padded positions.
        mask: ``(B, S)`` bool, True at real (non-padded) positions.
        state: final recurrent state per layer (``list`` of ``State``, one per
            layer; for a bidirectional layer, a ``(forward, backward)`` tuple), or
            None for encoders without one.
    """

    outputs: Tensor
    mask: Tensor
    state: list[Any] | None = None


@runtime_checkable
class Encoder(Protocol):
    """Maps an embedded sequence to per-position features.

    ``forward(x: (B, S, I), lengths: (B,) | None, state=None) -> EncoderOutput``.
    ``output_size`` is ``H_out`` (``2H`` for a bidirectional concat encoder).
    ``state`` lets a caller continue from a previous chunk (truncated BPTT).
    """

    output_size: int

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: list[Any] | None = None) -> EncoderOutput:
        ...


@runtime_checkable
class Attention(Protocol):
    """Scores a decoder query against encoder memory and returns a weighted context.

    Built by the core as ``factory(query_size=Hq, memory_size=Hm, **config)``.

    ``forward(query (B, Hq), memory (B, S, Hm), mask (B, S) bool, keys=None)
    -> (context (B, Hm), weights (B, S))``: weights sum to 1 over real
    positions and are exactly 0 where ``mask`` is False. An attention whose
    paper's weights sum to at most 1 (local-p's Gaussian-damped ones) says so
    with ``weights_sum_to_one = False``.

    Optional: ``project_memory(memory (B, S, Hm)) -> keys (B, S, K)``. The
    decoder calls it once per source batch and passes the result as ``keys``
    at every step, so per-sequence work (e.g. Bahdanau's ``W_m h_s``) is not
    repeated for each target token.
    """

    def forward(
        self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        ...


@runtime_checkable
class StepAttention(Protocol):
    """An attention that needs the target position ``t`` (e.g. Luong et al. 2015's local-m window ``[t - D, t + D]``).

    Declared by the attribute ``needs_step`` (its presence is the declaration).
    The decoder then calls ``forward(query, memory, mask, keys=None, step=t)``
    with ``step`` ``(B,)`` long: the 0-based index of the target token being
    produced. The decoder carries ``t`` in its state, so greedy and beam search
    expand and reorder it with the beams.
    """

    needs_step: bool


@runtime_checkable
class ReinforceAttention(Protocol):
    """An attention trained by a score-function estimator (e.g. hard attention with REINFORCE).

    Its forward samples positions (not differentiable), so the usual loss cannot
    reach its scores. It records what it sampled during a training forward;
    after the teacher-forced pass the task hands it the reward and adds
    ``reinforce_loss(reward (B,), mask (B, T) | None) -> scalar`` to the loss
    (``mask``: True at the target steps whose samples count). The call also
    clears the records. Returns a zero scalar when nothing was recorded.
    """

    def reinforce_loss(self, reward: Tensor, mask: Tensor | None = None) -> Tensor:
        ...


@runtime_checkable
class Decoder(Protocol):
    """Produces target tokens' logits one step at a time, conditioned on encoder memory.

    ``initial_state(layers, memory (B, S, H_enc), mask (B, S)) -> state``: ``layers``
    is one cell state per decoder layer (from the bridge). The state keeps the
    memory, so beam search can expand and reorder it with everything else.
    ``step(y_prev (B,) token ids, state) -> (logits (B, V), state, weights (B, S) | None)``.
    Attributes read by the seq2seq wiring: ``cells`` (one per layer) and ``bridge``.
    """

    def initial_state(self, layers: list[Any], memory: Tensor, mask: Tensor) -> Any:
        ...

    def step(self, y_prev: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
        ...


@runtime_checkable
class Task(Protocol):
    """A learning problem: how to read data, build a model, and score it.

    The core's LightningModule (:class:`seqforge.module.SeqforgeModule`) is
    generic glue; everything task-specific lives behind these methods, so a
    new task is one plugin class. ``carry`` is whatever the task wants kept
    between consecutive batches (e.g. the detached hidden state for
    truncated BPTT over contiguous text). The core owns its lifetime: it passes
    ``None`` wherever the state must start afresh (the start of an epoch or of an
    evaluation, and every batch when the data is not ``stateful``), so a task
    simply continues from ``carry`` when it is not ``None``. ``stateful=True``
    asks the task to return its final (detached) state as the new carry.

    Optional capabilities (truncated BPTT, generation, translation, prediction,
    own optimisation, evaluation hooks, callbacks, reports, vectors) are the
    ``runtime_checkable`` Protocols after this one; the data module a task
    builds and the batches it yields follow :class:`DataModule` and :class:`Batch`.

    Attributes:
        metric_sums: names of the per-batch sums ``evaluation_step`` returns;
            the core accumulates them over batches and devices (torchmetrics).
    """

    metric_sums: tuple[str, ...]

    def build_data(self, cfg: Any, *, state: Any = None) -> DataModule:
        """A :class:`DataModule` (a ``LightningDataModule``) for the composed config, with ``prepare()``
        (read data, learn vocabularies) and ``state()`` (what a checkpoint keeps of it).

        ``state`` is given when a trained model is restored: the module must then
        know its vocabularies without reading any data (inference needs no corpus).
        """
        ...

    def build_model(self, cfg: Any, data: Any) -> torch.nn.Module:
        """The model; ``data`` is the prepared data module (vocabulary, sizes)."""
        ...

    def training_step(
        self, model: torch.nn.Module, batch: Any, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        """``(loss, logs, carry)`` for one training batch."""
        ...

    def evaluation_step(
        self, model: torch.nn.Module, batch: Any, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Tensor], Any]:
        """Per-batch sums named in ``metric_sums``, and the carry.

        The dict may also hold ``"texts"``: a list of ``(output, reference)``
        strings for corpus-level metrics (BLEU), gathered across ranks.
        """
        ...

    def compute_metrics(self, sums: dict[str, float], data: Any, texts: Any = ()) -> dict[str, float]:
        """Final metrics (e.g. loss, perplexity) from the sums reduced over the split (and the gathered texts)."""
        ...



# -- optional Task capabilities ------------------------------------------------------------
# Each is checked with ``isinstance(task, Capability)``: a task has it by defining the method
# (structural typing; no registration, no base class). ``isinstance`` on a runtime_checkable
# Protocol checks that the names exist, not their signatures: tests/test_task_capabilities.py and each
# family plugin's tests/test_capabilities.py pin which registered task has which capability.


@runtime_checkable
class TimeSplits(Protocol):
    """Truncated BPTT (``train.tbptt_steps=k``): the batch cut along time.

    ``split_time(batch, k)`` returns consecutive chunks *of* ``k`` steps
    (``tensor.split(k, dim=1)`` on every ``(B, T, ...)`` tensor: the last chunk
    may be shorter). The core then calls ``training_step`` once per chunk with
    ``stateful=True`` and the previous chunk's carry, backpropagates and takes an
    optimiser step per chunk, detaches the carry between chunks, and hands it to
    the next batch only when the data is ``stateful``. Under DDP every rank takes
    as many steps as the rank with the most chunks (zero-gradient steps pad the
    others), so collectives never hang. A chunk's ``time_steps`` (:class:`TimedBatch`)
    weights its logs. Without this capability ``train.tbptt_steps`` is a ConfigError.
    """

    def split_time(self, batch: Any, steps: int) -> list[Any]:
        ...


@runtime_checkable
class Generates(Protocol):
    """``seqforge generate``: free-running text from a prompt (language models, one-to-many generators).

    Called once per command on the restored run; ``top_k``/``top_p`` are None or 0 when off,
    ``temperature`` 0 means greedy. Returns the generated text (prompt included where the task says so).
    """

    def generate(
        self, model: torch.nn.Module, data: Any, prompt: str, *, max_new_tokens: int, temperature: float,
        top_k: int | None, top_p: float | None, seed: int | None,
    ) -> str:
        ...


@runtime_checkable
class Translates(Protocol):
    """``seqforge translate`` (from seqforge-seq2seq): source lines to n-best target hypotheses.

    Returns ``(results, unknown)``: per input line a list of ``(text, hypothesis)``
    pairs, best first (beam search gives up to ``n_best``), and the number of source
    tokens mapped to ``<unk>``. ``options`` overrides the task's decoding config.
    """

    def translate(
        self, model: torch.nn.Module, data: Any, lines: Sequence[str], options: Any = None, batch_size: int = 64
    ) -> tuple[list[Any], int]: ...


@runtime_checkable
class Predicts(Protocol):
    """``seqforge predict``: one output row per non-blank input line (classifiers, taggers).

    Returns ``(rows, notes)``: the rows written one per line, and short notes for
    stderr (e.g. unknown tokens mapped to ``<unk>``). The CLI drops blank lines first.
    """

    def predict(
        self, model: torch.nn.Module, data: Any, lines: Sequence[str], batch_size: int
    ) -> tuple[list[str], list[str]]: ...


@runtime_checkable
class ConfiguresOptimizers(Protocol):
    """A task with its own update rule (word2vec's SGD): replaces ``optim.*`` and its scheduler.

    The core's ``LightningModule.configure_optimizers`` returns whatever this
    returns (anything Lightning accepts there).
    """

    def configure_optimizers(self, model: torch.nn.Module) -> Any:
        ...


@runtime_checkable
class ManuallyOptimised(Protocol):
    """A task that may update its parameters itself (compiled kernels).

    When ``automatic_optimization`` is False the core switches Lightning to manual
    optimisation, drops ``trainer.gradient_clip_*`` (nothing to clip), and calls
    ``training_step(..., optimizer=<the optimiser>)``.
    """

    automatic_optimization: bool

    def training_step(
        self, model: torch.nn.Module, batch: Any, carry: Any, *, stateful: bool, optimizer: Any
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        """:meth:`Task.training_step`, also given the optimiser (Lightning's wrapper) to step itself."""
        ...


@runtime_checkable
class BeginsEvaluation(Protocol):
    """Called before every validation or test pass (``split`` is ``"valid"`` or ``"test"``), on every rank.

    For per-pass state a task keeps outside the metric sums (e.g. example
    outputs to show, a baseline to fit on the split).
    """

    def begin_evaluation(self, data: Any, split: str) -> None:
        ...


@runtime_checkable
class ProvidesCallbacks(Protocol):
    """Extra Lightning callbacks for a training run (e.g. attention heatmaps), built once per fit."""

    def callbacks(self, run_dir: Any) -> list[Any]:
        ...


@runtime_checkable
class Reports(Protocol):
    """Prints something useful after training and testing (samples, examples); rank 0 only.

    ``module`` is the trained :class:`seqforge.module.SeqforgeModule` (``.model``, ``.data``, ``.last_metrics``).
    """

    def report(self, module: Any) -> None:
        ...


@runtime_checkable
class ExportsVectors(Protocol):
    """Word vectors of a trained model (word2vec): what ``seqforge neighbors``/``analogy`` query."""

    def vectors(self, model: torch.nn.Module, data: Any) -> Any:
        ...


#: Every optional Task capability, by the name docs and ``seqforge plugins list`` use.
TASK_CAPABILITIES: tuple[type, ...] = (
    TimeSplits, Generates, Translates, Predicts, ConfiguresOptimizers, ManuallyOptimised,
    BeginsEvaluation, ProvidesCallbacks, Reports, ExportsVectors,
)


def capabilities(task: Any) -> list[str]:
    """The names of the optional capabilities ``task`` has (e.g. ``["Generates", "Reports", "TimeSplits"]``)."""
    return sorted(p.__name__ for p in TASK_CAPABILITIES if isinstance(task, p))


# -- what a Task's data module and batches provide --------------------------------------------


@runtime_checkable
class DataModule(Protocol):
    """What ``Task.build_data`` returns and the core relies on.

    It is a ``lightning.LightningDataModule``: the core hands it to
    ``Trainer.fit/validate/test(datamodule=...)``, which calls
    ``train_dataloader()``, ``val_dataloader()`` and ``test_dataloader()``
    (each yielding :class:`Batch` objects). Besides:

    - ``cfg``: its config node; ``cfg.stateful`` (optional, default False) makes
      the core keep the task's carry between consecutive training batches.
    - ``prepare()``: read the data and learn vocabularies (training), or encode the
      current files with the restored vocabularies (resume, evaluation); returns itself.
    - ``state()``: what a checkpoint keeps of it (vocabularies, scalers: plain,
      picklable data); ``Task.build_data(cfg, state=...)`` must rebuild a module
      that can encode inputs from it without reading any data.
    - ``describe()``: one line for the start-of-run summary (sizes, vocabulary).

    The training loader should be a resumable one (:class:`ResumableLoaderLike`,
    e.g. ``seqforge.api.training_loader``) so a run resumed mid-epoch continues
    with the next unseen batch.
    """

    cfg: Any

    def prepare(self) -> Any:
        ...

    def state(self) -> Any:
        ...

    def describe(self) -> str:
        ...

    def train_dataloader(self) -> Any:
        ...

    def val_dataloader(self) -> Any:
        ...

    def test_dataloader(self) -> Any:
        ...


@runtime_checkable
class KnowsSequenceLength(Protocol):
    """Optional on a data module: the time steps of a training batch, so a too large
    ``train.tbptt_steps`` is refused (naming ``sequence_length_key``, e.g. ``"data.seq_len"``) before training."""

    sequence_length: int
    sequence_length_key: str


@runtime_checkable
class ListsDataFiles(Protocol):
    """Optional on a data module: the files it reads, by config key (``{"data.path": Path}``).

    Fingerprinted into checkpoints so a resume notices edited data; without it the
    core fingerprints the path fields of its ``cfg`` dataclass (``path``, ``train``, ...) that name a file or folder.
    """

    def data_files(self) -> dict[str, Any]:
        ...


@runtime_checkable
class ResumableLoaderLike(Protocol):
    """A training loader that knows how far an epoch got (``seqforge.api.ResumableLoader``, ``StreamLoaders``).

    The core calls ``mark_consumed(batch.index)`` (``index`` None unless the batch
    has one) at the start of every training step and reads ``consumed`` at the start
    of an epoch: between 0 and ``len(loader)`` exclusive means a resumed run is
    mid-epoch, so the restored carry is kept.
    """

    consumed: int

    def mark_consumed(self, index: Any = None) -> None:
        ...


@runtime_checkable
class Batch(Protocol):
    """What a data module's loaders yield: any object the task's steps understand, plus
    ``batch_size`` (``B``; weights the logged training metrics). Lightning moves it to the
    device (``move_data_to_device``): a dataclass, named tuple or dict of tensors, or an
    object with a ``to(device)`` method."""

    batch_size: int


@runtime_checkable
class TimedBatch(Protocol):
    """Optional on a batch: ``time_steps`` (``T`` of its ``(B, T, ...)`` tensors) weights a
    truncated-BPTT chunk's logs, and ``index`` (a stream batch's position in the epoch)
    is passed to ``mark_consumed`` for exact mid-epoch resume."""

    time_steps: int
