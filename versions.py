"""Versions that identify results: the package's, the prompts' and a data file's content."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

# Every prompt the method and the baselines send is written in these modules.
PROMPT_MODULES = ("agents/prompts.py", "personas/prompts.py", "personas/format.py", "agents/baseline_prompts.py", "agents/reference.py")


@cache
def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ethosagents")
    except PackageNotFoundError:
        return "unknown"


@cache
def prompts_version() -> str:
    """A short hash of the prompt modules' text: any change to a prompt changes it."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for name in PROMPT_MODULES:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()[:12]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
