"""docs/testing.md says unit tests start no `ethos` process (those are integration tests): kept true here."""

import re
from pathlib import Path

UNIT = Path(__file__).parent


def test_no_unit_test_starts_an_ethos_process():
    started = re.compile(r"""["']-m["'],\s*["']ethos\.cli["']|-m ethos\.cli""")  # `python -m ethos.cli`, in a list or a shell line
    starting = [p.name for p in sorted(UNIT.glob("test_*.py")) if p.name != Path(__file__).name and started.search(p.read_text())]
    assert starting == [], f"these unit tests start `ethos` as a process; move them to tests/integration: {starting}"
