"""Running the real ``seqforge`` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEQFORGE = str(Path(sys.executable).with_name("seqforge"))

#: Tiny model and data sizes so an end-to-end run takes seconds.
TINY = [
    "model.hidden_size=16",
    "model.embedding_dim=8",
    "data.seq_len=8",
    "data.batch_size=4",
    "data.eval_batch_size=2",
    "trainer.limit_val_batches=3",
    "trainer.limit_test_batches=3",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
    "task.sample_length=20",
]

#: Quiet, tiny runs of the non-LM tasks (classification, tagging, ...).
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "logger=csv"]
TINY_MODEL = ["model.hidden_size=8", "model.embedding_dim=8"]


def run_seqforge(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """``stdin``: text piped to the command (None: the command inherits the test's stdin)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SEQFORGE_DISABLE_PLUGIN_AUTOLOAD", None)
    return subprocess.run(
        [SEQFORGE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, input=stdin
    )


def interrupted_lm_run(tmp_path: Path) -> list[str]:
    """Overrides of the small LM run that the kill/signal-then-resume tests stop and resume (crosses epochs, saves every
    5 steps)."""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=800)  # 22 training batches per epoch: the runs cross epochs
    return [
        f"data.path={corpus}",
        "trainer.max_steps=40",
        "trainer.val_check_interval=10",
        "checkpoint.every_n_train_steps=5",
        "model.dropout=0.2",
        "task.sample_length=0",
        "seed=7",
        *TINY,
    ]


def write_corpus(path: Path, chars: int = 6000) -> Path:
    """Real English text (CPython's help topics) so the model has something to learn."""
    from seqforge.data.corpus import pydoc_corpus

    path.write_text(pydoc_corpus()[:chars], encoding="utf-8")
    return path


# : A Lightning callback module (write it to a file, put its folder on PYTHONPATH, add it as a `callbacks.kill`
# override):
#: SIGKILL the process after optimiser step `step`: no cleanup, no final checkpoint — a crash for resume tests.
KILL_AT_STEP = '''
import os, signal
import lightning as L


class KillAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def run_seqforge_in_process(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    """``seqforge.cli.main(args)`` in this process, seen as :func:`run_seqforge` sees the console script.

    For tests whose subject is what a command refuses or prints, not the process around it: no interpreter,
    torch or plugin start-up per case. The exit code is ``SystemExit``'s (0 when ``main`` returns); an
    exception that isn't turned into an exit code propagates, so the test shows its traceback and fails,
    as a "Traceback" in a subprocess's stderr would. The working directory and stdin are the command's own.
    """
    import contextlib
    import io

    from hydra.core.global_hydra import GlobalHydra

    from seqforge.cli import main

    out, err = io.StringIO(), io.StringIO()
    returncode = 0
    previous_cwd, previous_stdin = os.getcwd(), sys.stdin
    try:
        os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                returncode = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(previous_cwd)
        sys.stdin = previous_stdin
        GlobalHydra.instance().clear()
    return subprocess.CompletedProcess(["seqforge", *args], returncode, out.getvalue(), err.getvalue())
