"""Dynamic batching: calls that arrive together (the parallel persona agents) run as one batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class MicroBatcher:
    """Groups concurrent `submit` calls with the same key and runs them with one `run_batch` call.

    The first caller for a key waits up to `window` seconds (or until `max_batch` calls are
    queued), then runs the whole group; the other callers wait for their own result. One batch
    runs at a time, so a model is never entered from two threads.
    """

    def __init__(
        self,
        run_batch: Callable[[Hashable, list[Any]], list[Any]],
        *,
        max_batch: int = 8,
        window: float = 0.05,
    ):
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.window = window
        self._pending: dict[Hashable, list[tuple[Any, Future]]] = {}
        self._queue_lock = threading.Lock()
        self.model_lock = threading.Lock()  # held while the model runs; other model uses take it too
        self.batch_sizes: list[int] = []  # observable, for tests and benchmarks

    def submit(self, key: Hashable, item: Any) -> Any:
        future: Future = Future()
        with self._queue_lock:
            group = self._pending.setdefault(key, [])
            group.append((item, future))
            leader = len(group) == 1
        if leader:
            deadline = time.monotonic() + self.window
            while time.monotonic() < deadline and len(group) < self.max_batch:
                time.sleep(0.002)
            with self.model_lock:
                with self._queue_lock:
                    batch = self._pending.pop(key)
                self.batch_sizes.append(len(batch))
                try:
                    results = self._run_batch(key, [it for it, _ in batch])
                    for (_, fut), result in zip(batch, results, strict=True):
                        fut.set_result(result)
                except BaseException as exc:  # every waiting caller sees the failure
                    for _, fut in batch:
                        fut.set_exception(exc)
        return future.result()
