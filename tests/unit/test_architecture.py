"""docs/architecture.md stays true: every module of the project's folders, every benchmark and every
documentation page is named there, and nothing it names is gone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "architecture.md").read_text()
FOLDERS = ("personas", "agents", "graph", "evaluation", "cli")


def _named(name: str) -> bool:
    return f"`{name}" in PAGE or f"{name}`" in PAGE or f"({name})" in PAGE


def test_every_module_benchmark_and_page_is_on_the_architecture_page():
    modules = [p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if p.name != "__init__.py" and "templates" not in p.parts]
    missing = [str(p.relative_to(ROOT)) for p in modules if not _named(p.name)]
    missing += [f"bench/{p.name}" for p in sorted((ROOT / "bench").iterdir()) if p.suffix in (".py", ".sh") and not _named(p.name)]
    missing += [f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "architecture.md" and not _named(p.name)]
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


def test_what_the_architecture_page_names_exists():
    files = {p.name for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts}
    named = set(re.findall(r"`([A-Za-z0-9_]+\.(?:py|sh|md))`", PAGE))
    assert not named - files, f"docs/architecture.md names files that are gone: {sorted(named - files)}"
