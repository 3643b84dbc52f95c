"""How many cores the other processes leave free: the llama.cpp engine's threads follow it.

Two embedded processes on one CPU, each with a thread per core, slow each other far more than
twofold: llama.cpp's threads meet at a barrier after every operation, and a thread whose partner
lost its core waits there. So the engine measures, every `INTERVAL` seconds, the CPU time the
machine spent outside this process (`/proc/stat` less `os.times()`), and decodes with the cores
that are left, at least one. A thread count changes no logits: each output of an operation is
computed by one thread, whatever the count (`tests/integration/test_llama_batch.py`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

INTERVAL = 1.0  # seconds between two readings
STAT = Path("/proc/stat")


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot, or None where /proc/stat is missing."""
    try:
        fields = STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


class CpuShare:
    """`threads()`: the thread count to decode with now, between 1 and `most`."""

    def __init__(self, most: int):
        self.most = max(1, most)
        self.current = self.most
        self._last = (time.monotonic(), _busy_seconds(), _own_seconds())

    def threads(self) -> int:
        now = time.monotonic()
        if now - self._last[0] < INTERVAL:
            return self.current
        busy, own = _busy_seconds(), _own_seconds()
        then, busy_then, own_then = self._last
        self._last = (now, busy, own)
        if busy is None or busy_then is None:
            return self.current
        others = max(0.0, (busy - busy_then) - (own - own_then)) / (now - then)
        free = (os.cpu_count() or 1) - others
        self.current = max(1, min(self.most, round(free)))
        return self.current
