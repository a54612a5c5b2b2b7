"""The typed schema of a seqforge run.

Stored in Hydra's ConfigStore as ``seqforge_schema`` and listed first in the
primary config's defaults, so every override is type-checked
(``model.hidden_size=abc`` fails at composition, naming the key). Components
(``model.cell``, ``model.encoder``, ``task``, ``data``) are typed by the config
dataclasses their plugins register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from seqforge.embeddings import EmbeddingConfig


@dataclass
class ModelConfig:
    """Sizes shared by every architecture; the cell and encoder bring their own options."""

    cell: Any = MISSING  # model/cell=<name>
    encoder: Any = MISSING  # model/encoder=<name>
    decoder: Any = None  # model/decoder=<name> (sequence-to-sequence tasks)
    attention: Any = None  # model/attention=<name> (none: no attention)
    embedding_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between layers and on embeddings / before the output layer
    tie_weights: bool = False  # share input embedding and output projection (needs embedding_dim == hidden_size)
    # uniform(-r, r) for every parameter (Zaremba et al. use 0.1); None keeps each module's init
    init_range: float | None = None
    # N(0, std) for every weight, 0 for every bias (bentrevett's seq2seq tutorials: 0.01); None: each module's init
    init_std: float | None = None
    # pretrained token vectors (word2vec format), freeze
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    arch: str | None = None  # a task's named architecture (word2vec: skipgram|cbow)
    loss: str | None = None  # a task's training objective (word2vec: negative_sampling|nce|softmax)


@dataclass
class TrainerConfig:
    """Passed as keyword arguments to ``lightning.Trainer`` (same names, same meaning).

    These defaults are the single source of what ``seqforge train`` uses (``trainer=default``: 400 steps,
    validation every 200, gradients clipped at 1.0), where they differ from Lightning's own. The rule:
    ``seqforge/conf/trainer/default.yaml`` may restate a key for readers but must agree with the default here;
    every other trainer preset (``trainer=epochs``, ``trainer=ddp``) changes the keys it sets on purpose
    and nothing else. tests/test_config_sources.py fails when a preset breaks the rule.
    """

    accelerator: str = "auto"
    devices: Any = 1
    strategy: Any = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    max_epochs: int | None = None
    max_steps: int = 400  # the demos' length; trainer=epochs trains by epochs instead (max_steps=-1)
    max_time: str | None = None
    gradient_clip_val: float | None = 1.0  # clip the gradient norm (recurrent nets explode without it); null: off
    gradient_clip_algorithm: str | None = None
    accumulate_grad_batches: int = 1
    val_check_interval: Any = 200  # batches between validations (null with check_val_every_n_epoch: per epoch)
    # null: validation is counted in steps (val_check_interval), across epochs
    check_val_every_n_epoch: int | None = None
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    num_sanity_val_steps: int = 0
    log_every_n_steps: int = 25
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    deterministic: Any = None
    benchmark: bool | None = None
    fast_dev_run: Any = False
    use_distributed_sampler: bool = True


@dataclass
class SchedulerConfig:
    """A ``torch.optim.lr_scheduler`` class by name plus its keyword arguments."""

    name: str | None = None  # e.g. MultiStepLR, CosineAnnealingLR, ReduceLROnPlateau; None: constant lr
    interval: str = "epoch"  # epoch|step
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    """``optim=<name>`` selects a row of :data:`OPTIMISERS` (its values); the defaults are ``optim=adam``'s."""

    name: str = "adam"  # a key of OPTIMISERS: adam|adamw|sgd|rmsprop|adagrad
    lr: float = 3e-3
    weight_decay: float = 0.0
    momentum: float = 0.0  # sgd/rmsprop only
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)


@dataclass(frozen=True)
class Optimiser:
    """One row of the optimiser table: the ``torch.optim`` class and the values ``optim=<name>`` selects."""

    torch_class: str  # the class's name in torch.optim
    lr: float
    weight_decay: float = 0.0
    momentum: float | None = None  # the value optim=<name> sets; None: the class takes no momentum argument
    adaptive: bool = True  # divides by a running gradient magnitude plus eps (16-true precision is refused with it)


#: The optimiser table: every row is selectable as ``optim=<name>`` (:func:`store_optimisers`) and buildable
#: by name (``optim.name``); nothing else lists optimisers.
OPTIMISERS: dict[str, Optimiser] = {
    "adam": Optimiser("Adam", lr=3e-3),
    "adamw": Optimiser("AdamW", lr=1e-3, weight_decay=0.01),
    "sgd": Optimiser("SGD", lr=1.0, momentum=0.0, adaptive=False),
    "rmsprop": Optimiser("RMSprop", lr=1e-3, momentum=0.0),
    "adagrad": Optimiser("Adagrad", lr=1e-2),
}


def optim_config(name: str) -> OptimConfig:
    """What ``optim=<name>`` composes: the row's values over :class:`OptimConfig`'s defaults."""
    row = OPTIMISERS[name]
    return OptimConfig(name=name, lr=row.lr, weight_decay=row.weight_decay, momentum=row.momentum or 0.0)


def store_optimisers() -> None:
    """Store ``optim/<name>`` in Hydra's ConfigStore for every row of :data:`OPTIMISERS`."""
    from hydra.core.config_store import ConfigStore

    for name in OPTIMISERS:
        ConfigStore.instance().store(group="optim", name=name, node=optim_config(name))


@dataclass
class TrainConfig:
    """How seqforge drives optimisation (Lightning's own knobs stay under ``trainer``)."""

    # truncated BPTT: split each batch's time axis into chunks of this many steps, one optimiser step each; None: off
    tbptt_steps: int | None = None
    # count float values below ~1.2e-38 as 0 on the CPU (x86 is up to ~100x slower on them; see seqforge.precision)
    flush_denormal: bool = False


@dataclass
class CheckpointConfig:
    every_n_train_steps: int | None = 200  # how often `last.ckpt` is refreshed; None: only at epoch/validation ends
    monitor: str = "val/loss"  # metric that picks `best.ckpt`
    mode: str = "min"


@dataclass
class SeqforgeConfig:
    """Top level of a composed run config."""

    task: Any = MISSING  # task=<name>
    data: Any = MISSING  # data=<name>
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    seed: int = 0
    resume: str | None = None  # a run directory or a checkpoint to continue from
    overwrite: bool = False  # train into a run directory that holds an earlier run, deleting its checkpoints and logs
    # resume although the data files differ from the checkpoint's (keeps its vocabularies)
    accept_data_change: bool = False
    logger: str = "auto"  # auto (CSV, plus TensorBoard when installed)|csv|tensorboard|none
    # name -> {_target_: ..., **kwargs}, extra Lightning callbacks
    callbacks: dict[str, Any] = field(default_factory=dict)
    test_after_fit: bool = True  # report test-split metrics at the end of `train`


def register_schema() -> None:
    """Store the schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="seqforge_schema", node=SeqforgeConfig)
    store_optimisers()
    # hydra/launcher=seqforge, which the primary config selects (importing the plugin module stores it; Hydra's own
    # plugin scan misses it in editable installs).
    import hydra_plugins.seqforge_launcher.seqforge_launcher  # noqa: F401
