import os
from pathlib import Path

import pytest

from ethos.agents.models.hf import export_embedded_to_transformers

def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def embedded_hf_dir() -> Path:
    """The embedded GGUF converted to a transformers directory, once per machine (not committed)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ethosagents" / "smollm2-135m-instruct-hf"
    cache.parent.mkdir(parents=True, exist_ok=True)
    return export_embedded_to_transformers(cache)
