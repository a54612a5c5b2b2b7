"""SIGTERM and SIGINT stop a run at a step boundary with a fresh ``last.ckpt`` and a non-zero exit.

Lightning's own handling does not fit a scheduler: on SIGTERM it stops at the
next batch by raising ``SIGTERMException`` (a ``SystemExit`` with code 0, so a
script counts the run as a success) and on Ctrl-C it prints "attempting
graceful shutdown" and exits 1; neither saves a checkpoint. Here a signal only
sets a flag; at the end of the current optimiser step every rank agrees to stop
(one all-reduce of the signal number, so all DDP ranks stop at the same step
boundary), ``last.ckpt`` is written through the atomic checkpoint writer, and
:class:`RunInterrupted` carries the exit code the shell convention gives a
signal (128 + its number) and the ``resume=`` command to the CLI.

A signal before training starts or after it ended stops at once (there is no
step to finish); a second signal stops at once without saving. Under SLURM,
SIGTERM stays with Lightning and submitit (which owns preemption through
USR2 and requeues the job); only SIGINT is taken there.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import lightning as L
import torch

from seqforge.errors import SeqforgeError
from seqforge.vendor_adapters import save_last_checkpoint


class RunInterrupted(SeqforgeError):
    """Training was stopped by a signal; ``exit_code`` is 128 + the signal number."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


def _signals() -> tuple[int, ...]:
    # from its own module: the package re-exports it implicitly, which strict mypy does not accept
    from lightning.fabric.plugins.environments.slurm import SLURMEnvironment

    return (signal.SIGINT,) if SLURMEnvironment.detect() else (signal.SIGINT, signal.SIGTERM)


class StopOnSignal(L.Callback):
    """Turns SIGTERM/SIGINT into "save ``last.ckpt`` at the next step boundary, then stop".

    :meth:`install` it before a run starts (so a signal during data preparation
    stops at once, cleanly), :meth:`uninstall` it when the run is over, and pass
    it to the trainer as a callback. ``last.ckpt`` is written by the trainer's
    ``ModelCheckpoint`` with ``save_last``, so it is the same file a periodic save writes.

    Args:
        run_dir: the run directory (for the ``resume=`` command in the message).
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.signum: int | None = None  # the first signal received
        self.training = False  # inside the training loop: stop at the next step boundary, else at once
        self.ended = False  # training is over (test/reporting may still run)
        self._previous: dict[int, Any] = {}

    # -- the handlers ----------------------------------------------------------------
    def install(self) -> None:
        """Take SIGTERM/SIGINT (main thread only; a no-op elsewhere), remembering the handlers to restore."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in _signals():
            if signum not in self._previous:
                self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.signum is not None or not self.training:
            self.signum = self.signum or signum
            raise RunInterrupted(self._stopped_at_once(signum), signum)
        self.signum = signum
        print(f"\nseqforge: {name} received: stopping after the current step and saving checkpoints/last.ckpt "
              f"(send it again to stop at once, without saving).", file=sys.stderr, flush=True)

    def _stopped_at_once(self, signum: int) -> str:
        name = signal.Signals(signum).name
        last = self.run_dir / "checkpoints" / "last.ckpt"
        if self.ended:
            return (f"Stopped by {name} after training had ended (during the final evaluation); {last} holds the "
                    f"trained model: `seqforge evaluate ckpt={self.run_dir}` reports its metrics.")
        when = "a second signal, without saving" if self.training else "training had not started yet"
        if last.is_file():
            return (
                f"Stopped by {name} at once ({when}); the last checkpoint written is {last}. "
                f"Continue with: seqforge train resume={self.run_dir}"
            )
        return (
            f"Stopped by {name} at once ({when}); no checkpoint had been written yet, "
            "so run the command again to start over."
        )

    # -- Lightning hooks ---------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        # Lightning installs its own SIGTERM handler just before this hook (raising a code-0 SystemExit at the next
        # batch); take the signals back. Lightning restores the handlers it found (ours) when fit ends.
        self.install()
        self.training = True
        self.checkpoint = next((c for c in trainer.checkpoint_callbacks if getattr(c, "save_last", False)), None)

    def _agreed_signal(self, trainer: L.Trainer, pl_module: Any) -> int:
        """The signal any rank received (0: none); a collective, so every rank calls it at the same point."""
        signum = self.signum or 0
        if trainer.world_size > 1:
            agreed = trainer.strategy.reduce(torch.tensor(signum, device=pl_module.device), reduce_op="max")
            signum = int(agreed.item())
        return signum

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        signum = self._agreed_signal(trainer, pl_module)
        if not signum:
            return
        self.training = False
        step = trainer.global_step
        path = self.run_dir / "checkpoints" / "last.ckpt"
        if self.checkpoint is None:
            trainer.save_checkpoint(path)
        else:
            save_last_checkpoint(self.checkpoint, trainer)  # through ModelCheckpoint, unless it saved this step already
        raise RunInterrupted(
            f"Training stopped by {signal.Signals(signum).name} after step {step}; saved {path} (step {step}). "
            f"Continue with: seqforge train resume={self.run_dir}",
            signum,
        )

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        # A signal during the last step's validation: last.ckpt of the final step was written just before this hook
        # (the checkpoint callbacks come first); stop before the test evaluation.
        signum = self._agreed_signal(trainer, pl_module)
        self.training = False
        self.ended = True
        if signum:
            raise RunInterrupted(
                f"Training stopped by {signal.Signals(signum).name} at its last step ({trainer.global_step}); "
                f"{self.run_dir / 'checkpoints' / 'last.ckpt'} holds the trained model. The final evaluation was "
                f"skipped: `seqforge evaluate ckpt={self.run_dir}` reports it.",
                signum,
            )

    def on_exception(self, trainer: L.Trainer, pl_module: Any, exception: BaseException) -> None:
        self.training = False
