"""A tiny Lightning training run, to prove a component learns inside the real training machinery.

The task is next-token prediction on counting sequences (``s, s+1, s+2, ... mod V``
from random starts): easy enough that any working recurrent cell cuts the loss
within a few dozen steps, hard enough that an output that ignores its
parameters (or a broken gradient) cannot.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

VOCAB, EMBED, HIDDEN, STEPS_PER_SEQUENCE = 8, 8, 16, 12


def counting_sequences(count: int, *, vocab: int = VOCAB, length: int = STEPS_PER_SEQUENCE, seed: int = 0) -> Tensor:
    """``(count, length + 1)`` token ids ``(s + t) mod vocab`` with random starts ``s``."""
    starts = torch.randint(vocab, (count, 1), generator=torch.Generator().manual_seed(seed))  # (N, 1)
    return (starts + torch.arange(length + 1)) % vocab  # (N, L + 1)


class TinyLanguageModel(nn.Module):
    """Embedding -> seqforge's recurrent encoder around the cell -> linear head."""

    def __init__(
        self, cell: Callable[..., nn.Module], *, vocab: int = VOCAB, embed: int = EMBED, hidden: int = HIDDEN
    ) -> None:
        super().__init__()
        from seqforge.encoders import RecurrentEncoder

        self.embedding = nn.Embedding(vocab, embed)
        self.encoder = RecurrentEncoder(cell=cell, input_size=embed, hidden_size=hidden)
        self.head = nn.Linear(self.encoder.output_size, vocab)

    def loss(self, tokens: Tensor) -> Tensor:
        """Mean next-token cross-entropy of ``tokens`` ``(B, L + 1)``."""
        logits = self.head(self.encoder(self.embedding(tokens[:, :-1])).outputs)  # (B, L, V)
        return F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's start-up banners (GPU available, ...) are noise inside a contract check."""
    import warnings

    loggers = [logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # Lightning-internal deprecation
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def tiny_training_run(
    cell: Callable[..., nn.Module], *, steps: int = 40, lr: float = 0.02, seed: int = 0
) -> tuple[float, float]:
    """Train a :class:`TinyLanguageModel` with ``cell`` for ``steps`` Adam steps through ``lightning.Trainer``.

    Returns:
        The loss on a held-out batch before and after training.
    """
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = TinyLanguageModel(cell)

        def training_step(self, batch: Any, batch_idx: int) -> Tensor:
            return self.model.loss(batch[0])

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=lr)

    with torch.random.fork_rng(), _quiet_lightning():
        torch.manual_seed(seed)
        module = Module()
        held_out = counting_sequences(32, seed=seed + 1)
        with torch.no_grad():
            module.eval()
            before = float(module.model.loss(held_out))
        loader = DataLoader(TensorDataset(counting_sequences(128, seed=seed)), batch_size=16, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        trainer = L.Trainer(
            max_steps=steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, deterministic=True,
        )
        module.train()
        trainer.fit(module, train_dataloaders=loader)
        with torch.no_grad():
            module.eval()
            after = float(module.model.loss(held_out))
    return before, after
