"""Fingerprints (size + BLAKE2b hash) of the files a data module reads, so a resume notices edited data.

A resumed run keeps the vocabularies saved in its checkpoint (every embedding row keeps
its word), so it must also train on the data those vocabularies were learned from. The
checkpoint stores one fingerprint per file, keyed by the config key that named it
(``data.path``, ``data.train``, ...); on resume a file whose size or hash differs is
refused, naming it, unless ``accept_data_change=true`` says the change is intended.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from seqforge.errors import DataError
from seqforge.interfaces import ListsDataFiles

#: Data-config fields that name input files (or folders) in seqforge's data modules and the word2vec plugin.
PATH_KEYS = (
    "path", "train", "valid", "test", "source", "target", "tsv",
    "valid_source", "valid_target", "valid_tsv", "test_source", "test_target", "test_tsv",
)
ACCEPT_KEY = "accept_data_change"
_CHUNK = 1 << 20


def file_fingerprint(path: Path) -> dict[str, Any]:
    """``{"path", "size", "blake2b"}`` of one file, hashed in 1 MiB chunks (a corpus need not fit in memory twice)."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return {"path": str(path), "size": path.stat().st_size, "blake2b": digest.hexdigest()}


def data_files(data: Any) -> dict[str, Path]:
    """The files ``data`` reads, by config key: the module's own ``data_files()`` if it has one, else the path fields of
    its config.

    A folder counts as every regular file directly inside it (``data.path/<name>``).
    Embedded or generated data (no path set) has no files.
    """
    if isinstance(data, ListsDataFiles):
        return {key: Path(path) for key, path in data.data_files().items()}
    cfg = getattr(data, "cfg", None)
    fields = [f.name for f in dataclasses.fields(cfg)] if dataclasses.is_dataclass(cfg) else []
    files: dict[str, Path] = {}
    for name in fields:
        value = getattr(cfg, name)
        if name not in PATH_KEYS or not isinstance(value, str):
            continue
        path = Path(value).expanduser()
        if path.is_file():
            files[f"data.{name}"] = path
        elif path.is_dir():
            files.update({f"data.{name}/{child.name}": child for child in sorted(path.iterdir()) if child.is_file()})
    return files


def fingerprint(data: Any) -> dict[str, dict[str, Any]]:
    """Fingerprints of every file ``data`` reads, by config key (see :func:`data_files`)."""
    # a missing file: reading names it
    return {key: file_fingerprint(path) for key, path in data_files(data).items() if path.is_file()}


def check_unchanged(
    saved: dict[str, dict[str, Any]] | None, current: dict[str, dict[str, Any]], *, accept: bool
) -> list[str]:
    """Refuse a resume whose data files differ from the checkpoint's; returns what changed (accepted) as messages.

    ``saved`` None (a checkpoint written before fingerprints existed) checks nothing.
    """
    if saved is None:
        return []
    changes = []
    for key in sorted(set(saved) | set(current)):
        before, now = saved.get(key), current.get(key)
        if (
            before is not None
            and now is not None
            and (before["size"], before["blake2b"]) == (now["size"], now["blake2b"])
        ):
            continue
        if before is None:
            changes.append(f"`{key}` now reads '{current[key]['path']}', which the checkpoint's run did not read")
        elif now is None:
            changes.append(f"`{key}` named '{before['path']}' when the checkpoint was written and names no readable "
                           "file now")
        elif before["path"] != now["path"]:
            changes.append(
                f"`{key}` is now '{now['path']}' ({now['size']:,} bytes), not the '{before['path']}' "
                f"({before['size']:,} bytes) the checkpoint was trained on"
            )
        else:
            changes.append(
                f"the file '{now['path']}' (`{key}`) changed since the checkpoint was written: {before['size']:,} -> "
                f"{now['size']:,} bytes, BLAKE2b {before['blake2b'][:12]}… -> {now['blake2b'][:12]}…"
            )
    if changes and not accept:
        raise DataError(
            "Cannot resume: the data differ from the data the checkpoint was trained on — "
            + "; ".join(changes)
            + ". The resumed "
            "run keeps the checkpoint's vocabularies, so every token id would mean what it meant before. Restore the "
            f"original file(s), or add `{ACCEPT_KEY}=true` to continue on the changed data with the saved vocabularies."
        )
    return changes
