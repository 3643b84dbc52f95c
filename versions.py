"""Versions that identify results: the package's, the prompts' and a data file's content."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

# Every prompt the method and the baselines send is written in these modules (their text constants
# are the prompts' definitions; see prompts_version).
PROMPT_MODULES = ("agents/prompts.py", "personas/seed_prompt.py", "personas/format.py", "agents/baseline_prompts.py", "agents/reference.py")


@cache
def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ethosagents")
    except PackageNotFoundError:
        return "unknown"


def prompts_version(root: Path | None = None) -> str:
    """A short hash of the prompt definitions: every text constant and f-string piece in the prompt
    modules, docstrings left out. A changed prompt changes it; moving code, renaming a module or
    editing a comment or a docstring does not, so such a change never orphans earlier results."""
    import ast

    root = root or Path(__file__).parent
    texts: set[str] = set()
    for name in PROMPT_MODULES:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        texts |= {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        }
    return hashlib.sha256("\0".join(sorted(texts)).encode()).hexdigest()[:12]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
