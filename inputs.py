"""Files in and out, and the shapes of what they hold. Files given from outside (items, persona files, prices, settings) are read
bounded in size, so `/dev/zero` or a runaway file is refused by name instead of filling the
memory. Files this project writes are written whole or not at all, and never through a link
someone planted at their name."""

from __future__ import annotations

import errno
import math
import os
import secrets
import stat
from pathlib import Path

from ethos.errors import EthosError
from ethos.redaction import json_text, neutral

MAX_INPUT_BYTES = 64 * 2**20  # a VITAL task file is a few MB


def read_text(path: str | Path, limit: int = MAX_INPUT_BYTES, *, follow: bool = True) -> str:
    """The file's text (UTF-8). An `OSError` or `UnicodeDecodeError` is the caller's to name; a file
    larger than `limit`, or one that never ends, is an EthosError naming it. Only a regular file is
    read: a named pipe (which would block forever), a device or a folder is refused by name, and
    with `follow=False` a link too (a results file is read where it is, never through a planted link)."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)  # a pipe with no writer must not block the open
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise EthosError(f"{path}: a link, not read (a results file is read only where it was written)") from None
        raise
    kind = os.fstat(fd).st_mode
    if not stat.S_ISREG(kind):  # before fdopen, which refuses a folder with an error naming only the descriptor
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(kind) else "a named pipe" if stat.S_ISFIFO(kind) else "a device or socket"
        raise EthosError(f"{path}: {what}, not a regular file")
    with os.fdopen(fd, "rb") as f:
        os.set_blocking(fd, True)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise EthosError(f"{path}: larger than {limit // 2**20} MB: not an input file this command reads")
    return data.decode("utf-8")


# Settings that name a file or a folder: in a study or `--config` file, a relative one is read from
# that file's folder, wherever the command is run from.
PATH_SETTINGS = ("data", "out", "prices", "runs_dir", "nli_model", "persona_files", "persona_file", "item")


def beside(file: Path, key: str, value):
    """`value` of setting `key` from a settings file, a relative path resolved against the file's folder."""
    if key not in PATH_SETTINGS:
        return value
    if isinstance(value, list):
        return [beside(file, key, v) for v in value]
    if isinstance(value, str) and value.strip() and not Path(value).expanduser().is_absolute():
        return str(file.parent / value)
    return value


def write_file(path: str | Path, data: str | bytes) -> None:
    """`data` into `path` atomically, text as its writer made it (`_encoded`): a new temporary
    file in the same folder (made, never opened through an existing name) replaces `path`, so a
    link planted at `path` is replaced, not followed. On any failure (a full disk) nothing half-written and no temporary file is left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: a new file, never one planted under this name; mode 0o666 less the umask, as open() makes
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_encoded(data) if isinstance(data, str) else data)
        os.replace(temporary, path)
    except OSError as exc:  # a full disk: the error names the file it was writing
        Path(temporary).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def writable_dir(path: Path, flag: str) -> Path:
    """`path` as a folder EthosAgents can write to (created if missing), or an error naming the flag."""
    if path.exists() and not path.is_dir():
        raise EthosError(f"{flag} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EthosError(f"{flag} {path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise EthosError(f"{flag} {path}: the folder is not writable")
    return path


def own_file(path: Path, what: str) -> Path:
    """`path` if it is a regular file or not there yet: never a link someone planted at its name (a
    database opened through it would be written outside its folder), a pipe, a device or a folder."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise EthosError(f"{path}: the {what} is a link or not a regular file: remove it, or use another folder")
    return path


def _encoded(text: str) -> bytes:
    """Text as UTF-8, with no raw control character (`neutral`: each shown as the escape JSON reads
    back, a lone surrogate too). The writer has already masked secrets value by value and escaped
    for its medium (`json_text`, the renderers): the serialised text is never edited here. Bytes (a
    fetched data file, checked by its hash) are written as they are."""
    return neutral(text).encode("utf-8")


def write_json(path: str | Path, data, *, indent: int | None = 1) -> None:
    """`data` as a JSON file, atomically: secrets masked in its values before it is serialised."""
    write_file(path, json_text(data, indent=indent))


def json_line(data) -> str:
    """One JSONL line of `data`, its values redacted before it is serialised."""
    return json_text(data) + "\n"


def append_text(path: str | Path, text: str, *, sync: bool = False) -> None:
    """`text` appended in one write, never through a link planted at `path` (O_NOFOLLOW). A JSON
    line is made by `json_line`, which masks secrets before it is serialised."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, _encoded(text))
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


# ---- what stored JSON holds -----------------------------------------------------------------

MAX_STORED_TEXT = 64 * 1024  # characters of one text in a trace or record: an endpoint's 5 MB error body is not kept whole


def bounded(data, limit: int = MAX_STORED_TEXT):
    """`data` with every string longer than `limit` cut, and the cut said in the text itself."""
    if isinstance(data, str):
        return data if len(data) <= limit else data[:limit] + f"... [{len(data) - limit} more characters not kept]"
    if isinstance(data, dict):
        return {k: bounded(v, limit) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [bounded(v, limit) for v in data]
    return data


def finite(data):
    """`data` with NaN and infinities as None: JSON has no such numbers (Python would write bare NaN)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def real_number(value, limit: float = 1e15) -> bool:
    """A finite int or float (not a bool) below `limit` in size. A 400-digit integer, which JSON and
    TOML read as an int too large for a float (`math.isfinite` would raise on it), is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) < limit if isinstance(value, int) else math.isfinite(value) and abs(value) < limit


def stored_number(value) -> bool:
    """A count, time or metric a record or metrics file can hold: a finite int or float (not a bool), of sane size."""
    return real_number(value)
