"""The typed schema of a seqforge run.

Stored in Hydra's ConfigStore as ``seqforge_schema`` and listed first in the
primary config's defaults, so every override is type-checked
(``model.hidden_size=abc`` fails at composition, naming the key). Components
(``model.cell``, ``model.encoder``, ``task``, ``data``) are typed by the config
dataclasses their plugins register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

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
    init_range: Optional[float] = None  # uniform(-r, r) for every parameter (Zaremba et al. use 0.1); None keeps each module's init
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)  # pretrained token vectors (word2vec format), freeze
    arch: Optional[str] = None  # a task's named architecture (word2vec: skipgram|cbow)
    loss: Optional[str] = None  # a task's training objective (word2vec: negative_sampling|nce|softmax)


@dataclass
class TrainerConfig:
    """Passed as keyword arguments to ``lightning.Trainer`` (same names, same meaning)."""

    accelerator: str = "auto"
    devices: Any = 1
    strategy: Any = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    max_epochs: Optional[int] = None
    max_steps: int = -1
    max_time: Optional[str] = None
    gradient_clip_val: Optional[float] = None
    gradient_clip_algorithm: Optional[str] = None
    accumulate_grad_batches: int = 1
    val_check_interval: Any = None
    check_val_every_n_epoch: Optional[int] = 1
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    num_sanity_val_steps: int = 0
    log_every_n_steps: int = 10
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    deterministic: Any = None
    benchmark: Optional[bool] = None
    fast_dev_run: Any = False
    use_distributed_sampler: bool = True


@dataclass
class SchedulerConfig:
    """A ``torch.optim.lr_scheduler`` class by name plus its keyword arguments."""

    name: Optional[str] = None  # e.g. MultiStepLR, CosineAnnealingLR, ReduceLROnPlateau; None: constant lr
    interval: str = "epoch"  # epoch|step
    kwargs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    name: str = "adam"  # adam|adamw|sgd|rmsprop|adagrad
    lr: float = 3e-3
    weight_decay: float = 0.0
    momentum: float = 0.0  # sgd/rmsprop only
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)


@dataclass
class TrainConfig:
    """How seqforge drives optimisation (Lightning's own knobs stay under ``trainer``)."""

    tbptt_steps: Optional[int] = None  # truncated BPTT: split each batch's time axis into chunks of this many steps, one optimiser step each; None: off


@dataclass
class CheckpointConfig:
    every_n_train_steps: Optional[int] = 200  # how often `last.ckpt` is refreshed; None: only at epoch/validation ends
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
    resume: Optional[str] = None  # a run directory or a checkpoint to continue from
    overwrite: bool = False  # train into a run directory that holds an earlier run, deleting its checkpoints and logs
    accept_data_change: bool = False  # resume although the data files differ from the checkpoint's (keeps its vocabularies)
    logger: str = "auto"  # auto (CSV, plus TensorBoard when installed)|csv|tensorboard|none
    callbacks: Dict[str, Any] = field(default_factory=dict)  # name -> {_target_: ..., **kwargs}, extra Lightning callbacks
    test_after_fit: bool = True  # report test-split metrics at the end of `train`


def register_schema() -> None:
    """Store the schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="seqforge_schema", node=SeqforgeConfig)
    # hydra/launcher=seqforge, which the primary config selects (importing the plugin module stores it; Hydra's own
    # plugin scan misses it in editable installs).
    import hydra_plugins.seqforge_launcher.seqforge_launcher  # noqa: F401
