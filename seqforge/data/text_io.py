"""Reading user text files with errors that say which file and where."""

from __future__ import annotations

from pathlib import Path

from seqforge.errors import DataError


def read_text(path: str | Path, *, what: str = "data file", key: str = "data.path") -> str:
    """The whole file as UTF-8 text (``.gz`` files are decompressed).

    Raises:
        DataError: the file is missing, empty (or only whitespace), or not UTF-8
            — naming the file, the config key, and the byte offset of the bad byte.
    """
    path = Path(path)
    if not path.is_file():
        hint = "it is a directory" if path.is_dir() else "no such file"
        raise DataError(f"The {what} '{path}' (config key `{key}`) cannot be read: {hint}. Give the path of an "
                        "existing UTF-8 text file.")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"The {what} '{path}' (config key `{key}`) ends in .gz but is not a readable gzip file "
                            f"({exc}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"The {what} '{path}' (config key `{key}`) is not valid UTF-8: byte 0x{raw[exc.start]:02x} at byte offset "
            f"{exc.start} (line {line}) cannot be decoded ({exc.reason}). Re-encode the file as UTF-8, e.g. "
            f"`iconv -f latin1 -t utf-8`."
        ) from None
    if not text.strip():
        raise DataError(f"The {what} '{path}' (config key `{key}`) is empty; expected text to train or evaluate on.")
    return text
