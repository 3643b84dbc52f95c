"""Reading files given from outside (items, persona files, prices, settings): bounded in size, so
`/dev/zero` or a runaway file is refused by name instead of filling the memory."""

from __future__ import annotations

from pathlib import Path

from ethos.errors import EthosError

MAX_INPUT_BYTES = 64 * 2**20  # a VITAL task file is a few MB


def read_text(path: str | Path, limit: int = MAX_INPUT_BYTES) -> str:
    """The file's text (UTF-8). An `OSError` or `UnicodeDecodeError` is the caller's to name; a file
    larger than `limit`, or one that never ends, is an EthosError naming it."""
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise EthosError(f"{path}: larger than {limit // 2**20} MB: not an input file this command reads")
    return data.decode("utf-8")
