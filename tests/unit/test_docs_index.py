"""The documentation site's home page is the README (scripts/docs_index.py writes it): the two never drift."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_index_is_the_readme():
    spec = importlib.util.spec_from_file_location("docs_index", ROOT / "scripts" / "docs_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.index_page((ROOT / "README.md").read_text())
    assert (ROOT / "docs" / "index.md").read_text() == expected, "docs/index.md drifted from README.md: run python scripts/docs_index.py"
    assert module.index_page("see [docs/models.md](docs/models.md) and [the licence](LICENSE)") == (
        "see [docs/models.md](models.md) and [the licence](../LICENSE)"
    )
