"""One run, one directory: the lock a live run holds, the write probe, and the refusal to train over a finished run.

Hydra's run directory is where a run's checkpoints, metrics and ``result.json``
go. Two runs sharing one would lose one run's ``best.ckpt``, mix both runs'
``csv/metrics.csv`` and make ``resume=`` pick up the wrong ``last.ckpt``; a
directory that cannot be written would fail only at the first checkpoint,
minutes into training. :func:`claim` settles all of this before training
starts, in the process that launches the run:

- it creates ``checkpoints/`` and writes and removes a probe file there;
- it takes an exclusive ``flock`` on ``run.lock`` (the file holds the owner's
  PID, for the message a second run gets). The kernel drops the lock when its
  process dies, however it dies, so a stale file never blocks;
- it refuses a directory that already holds a run (a checkpoint, ``result.json``
  or logged metrics) unless the run resumes it, or clears it with ``overwrite=true``.

Only the launching process (global rank 0) claims: Lightning's DDP children
re-run the same command line into the same directory and must not be refused.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import Any, Literal

from seqforge.errors import SeqforgeError

LOCK_FILE = "run.lock"
CHECKPOINT_DIR = "checkpoints"
# : What seqforge writes into a run directory, i.e. what ``overwrite=true`` removes (Hydra's ``.hydra/`` it rewrites
# itself).
RUN_OUTPUTS = ("checkpoints", "csv", "tensorboard", "result.json", "config.yaml")

#: Run directories this process holds, resolved path -> open lock file (closing it releases the lock).
_held: dict[Path, int] = {}


class RunDirError(SeqforgeError):
    """The run directory cannot be used: not writable, used by a live run, or holding a finished run."""


def launching_process() -> bool:
    """True in the process that starts a run (global rank 0), False in the other ranks of a distributed run.

    Lightning's DDP children get ``LOCAL_RANK`` (and ``NODE_RANK`` on other nodes);
    torchrun sets ``RANK``, srun ``SLURM_PROCID``. A plain process has none of them.
    """
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK"):
        value = os.environ.get(name, "").strip()
        if value and value != "0":
            return False
    return True


def claim(run_dir: Path, *, resuming: bool = False, overwrite: bool = False) -> bool:
    """Make ``run_dir`` this run's own: probe, lock, refuse or clear an earlier run. Idempotent within a process.

    Returns whether this process holds the lock (False in non-launching ranks).

    Raises:
        RunDirError: the directory cannot be written, another live run holds it, or
            it holds a finished run and neither ``resuming`` nor ``overwrite`` is set.
    """
    if not launching_process():
        return False
    run_dir = Path(run_dir).absolute()
    if run_dir in _held:
        return True
    probe_writable(run_dir)
    _lock(run_dir)
    try:
        if not resuming:
            earlier = earlier_run(run_dir)
            if earlier and not overwrite:
                raise RunDirError(_occupied_message(run_dir, earlier))
            if earlier:
                clear(run_dir)
    except BaseException:
        release(run_dir)
        raise
    return True


def release(run_dir: Path | None = None) -> None:
    """Give up the lock on ``run_dir`` (every run directory this process holds when None) and remove the lock file."""
    targets = list(_held) if run_dir is None else [Path(run_dir).absolute()]
    for path in targets:
        fd = _held.pop(path, None)
        if fd is None:
            continue
        with contextlib.suppress(OSError):
            (path / LOCK_FILE).unlink(missing_ok=True)  # while still locked: nobody else can be between open and flock
        os.close(fd)


atexit.register(release)


# -- the three checks ------------------------------------------------------------------
def probe_writable(run_dir: Path) -> None:
    """Write, fsync and remove a small file in ``run_dir/checkpoints``; a failure says what and where.

    A ``checkpoints/`` the probe had to create is removed again, so a run refused later
    (a config check) leaves no empty folder that looks like a run's.
    """
    folder = run_dir / CHECKPOINT_DIR
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        created = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
        if created:
            folder.rmdir()
    except OSError as exc:
        raise RunDirError(unwritable_message(run_dir, exc)) from None


def unwritable_message(run_dir: Path, exc: OSError) -> str:
    """One paragraph on why ``run_dir`` cannot hold a run, naming the failing path and what to do."""
    where = exc.filename or run_dir
    blocker = _file_in_the_way(run_dir)
    if blocker is not None:
        reason = f"{blocker} is a file, so no directory can be created under it"
    elif exc.errno == errno.ENOSPC:
        reason = f"the disk is full ({exc.strerror} writing {where})"
    elif exc.errno == errno.EDQUOT:
        reason = f"the disk quota is exceeded ({exc.strerror} writing {where})"
    elif exc.errno == errno.EROFS:
        reason = f"it is on a read-only file system ({exc.strerror}: {where})"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = f"permission is denied ({exc.strerror}: {where})"
    else:
        reason = f"{exc.strerror or exc} ({where})"
    return (
        f"The run directory {run_dir} cannot be written: {reason}. Nothing was trained. seqforge checks this before "
        "training by creating checkpoints/ there and writing a test file. Choose a writable directory with "
        "hydra.run.dir=<path> (for sweeps hydra.sweep.dir=<path>), or free space / fix the permissions and run again."
    )


def _file_in_the_way(path: Path) -> Path | None:
    """The first ancestor of ``path`` (or itself) that exists and is not a directory."""
    for candidate in [*reversed(path.parents), path]:
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def _lock(run_dir: Path) -> None:
    """Take the exclusive lock on ``run_dir/run.lock`` (non-blocking) and write our PID into it."""
    import fcntl

    path = run_dir / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunDirError(unwritable_message(run_dir, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunDirError(unwritable_message(run_dir, exc)) from None
            raise RunDirError(_locked_message(run_dir, _owner(path))) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the owner removed the file between our open and our lock: try again on the new one
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[run_dir] = fd


def _owner(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _locked_message(run_dir: Path, pid: str) -> str:
    return (
        f"The run directory {run_dir} is in use by another seqforge run (PID {pid}, lock file {run_dir / LOCK_FILE}). "
        "Two runs in one directory would overwrite each other's checkpoints and mix their metrics. Wait for that run "
        "to end (or stop it), or give this run its own directory with hydra.run.dir=<path>."
    )


def earlier_run(run_dir: Path) -> list[str]:
    """What in ``run_dir`` shows that a run already trained there (checkpoints, result.json, logged metrics)."""
    found = sorted(str(p.relative_to(run_dir)) for p in (run_dir / CHECKPOINT_DIR).glob("*.ckpt"))
    if (run_dir / "result.json").is_file():
        found.append("result.json")
    found += sorted(str(p.relative_to(run_dir)) for p in (run_dir / "csv").glob("**/metrics.csv"))
    return found


def _occupied_message(run_dir: Path, found: list[str]) -> str:
    shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
    fresh = "train in a fresh directory (leave hydra.run.dir at its default, or give a new path)"
    wipe = f"add overwrite=true to delete its {', '.join(RUN_OUTPUTS)} and train from scratch there"
    if any(name.endswith(".ckpt") for name in found):
        choices = f"continue that run with `seqforge train resume={run_dir}`, {fresh}, or {wipe}"
    else:
        choices = f"{fresh}, or {wipe}"
    return (
        f"The run directory {run_dir} already holds a run ({shown}). Training into it again would overwrite its "
        f"checkpoints and mix both runs' metrics, so nothing was trained. Either {choices}."
    )


def clear(run_dir: Path) -> None:
    """Remove what an earlier run left (``RUN_OUTPUTS``), for ``overwrite=true``."""
    for name in RUN_OUTPUTS:
        path = run_dir / name
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            raise RunDirError(f"overwrite=true: could not remove {path} ({exc.strerror or exc}). Remove it by hand or "
                              "choose another hydra.run.dir.") from None


# -- writes that fail mid-run ---------------------------------------------------------------
#: OS errors that mean "this run directory cannot take more writes" rather than a bug.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.ENOTDIR}


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "the disk is full"
    if code == errno.EDQUOT:
        return "the disk quota is exceeded"
    if code == errno.EROFS:
        return "the file system is read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "permission is denied"
    return "the write failed"


def checkpoint_write_message(target: Path, exc: BaseException, step: int | None = None, existed: bool = True) -> str:
    """One paragraph for a checkpoint that could not be written mid-run (the previous file is untouched)."""
    folder = target.parent
    run_dir = folder.parent if folder.name == CHECKPOINT_DIR else folder
    detail = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    at = f" at step {step}" if step is not None else ""
    kept = (f"The previous {target.name} is intact: checkpoints are written to a temporary file and renamed over the "
            "old one only once complete, so nothing saved earlier was lost." if existed else
            f"No earlier {target.name} existed, so nothing saved earlier was lost.")
    return (
        f"Could not write the checkpoint {target}{at}: {_reason(exc)} ({detail}). Training stopped. {kept} "
        f"Free some space (or fix the file system) and continue with `seqforge train resume={run_dir}`."
    )


class disk_errors:
    """Turn an OS write error inside a run (full disk, read-only file system) into one paragraph naming the run
    directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def __enter__(self) -> disk_errors:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            where = exc.filename or self.run_dir
            last = self.run_dir / CHECKPOINT_DIR / "last.ckpt"
            kept = (
                f"The last checkpoint, {last}, is intact (it is replaced only by a complete write)."
                if last.is_file()
                else "No checkpoint had been written yet."
            )
            raise RunDirError(
                f"Training stopped: writing {where} failed because {_reason(exc)} ({exc.strerror}). {kept} "
                f"Free some space (or fix the file system) and "
                + (f"continue with `seqforge train resume={self.run_dir}`." if last.is_file() else "run again.")
            ) from None
        return False
