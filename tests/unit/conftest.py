"""Unit tests are offline: a socket may connect to this machine only (the stub servers some tests
start on 127.0.0.1), never to another host (pytest-socket)."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:  # the hook sees the whole session: only this folder's tests are marked
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1", "::1"]))
