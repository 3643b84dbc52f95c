"""docs/index.md is the README, its links made relative to docs/ (the documentation site's home
page): `python scripts/docs_index.py` writes it; tests/unit/test_docs_index.py keeps it in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def index_page(readme: str) -> str:
    """The README as a page of docs/: `](docs/x.md)` links become `](x.md)`, others go up a folder."""
    text = readme.replace("](docs/", "](")
    return re.sub(r"\]\((?!https?:|#|[\w-]+\.md)([^)]+)\)", r"](../\1)", text)


if __name__ == "__main__":
    (ROOT / "docs" / "index.md").write_text(index_page((ROOT / "README.md").read_text()))
    print("docs/index.md written from README.md")
