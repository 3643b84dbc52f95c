import itertools

import pytest

from ethos.agents.models import register_backend
from ethos.agents.models.fake import fake_backend
from ethos.graph.builder import graph
from ethos.graph.context import Context

_names = itertools.count()


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    """Every test writes its records, checkpoints and cache under its own folder."""
    path = tmp_path / "ethos-runs"
    monkeypatch.setenv("ETHOS_RUNS_DIR", str(path))
    return path


@pytest.fixture
def fake():
    """A fresh fake backend, registered under a unique name so no cache is shared between tests."""

    def make(name: str | None = None, **options):
        name = name or f"fake-test-{next(_names)}"
        backend = fake_backend(name, **options)
        register_backend(name, backend)
        return backend

    return make


@pytest.fixture
def run_graph():
    def run(request: dict, backend, **settings) -> dict:
        context = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec, **settings)
        return graph.invoke(request, context=context)

    return run
