import functools
import http.server
import os
import shutil
import threading
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


@pytest.fixture
def vital_mirror(tmp_path):
    """A local HTTP server on 127.0.0.1 serving copies of the fixtures under the VITAL file names, as
    a mirror of the public repository would: (the folder it serves, its URL)."""
    from ethos.evaluation.data import FILES

    served = tmp_path / "served"
    served.mkdir()
    fixtures = Path(__file__).parents[1] / "fixtures"
    for name in FILES:
        shutil.copy(fixtures / name.replace(".json", ".sample.json"), served / name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
