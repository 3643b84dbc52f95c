"""Calls in flight together: `in_parallel` runs a step's calls from threads that carry the caller's
context (callbacks, recording, labels), and `parallel_limit` bounds them (`--max-concurrency`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from langchain_core.runnables.config import ContextThreadPoolExecutor

_limit: ContextVar[int | None] = ContextVar("ethos_parallel_limit", default=None)


@contextmanager
def parallel_limit(limit: int | None) -> Iterator[None]:
    """At most `limit` threads per `in_parallel` step started in this context (`--max-concurrency`)."""
    token = _limit.set(limit)
    try:
        yield
    finally:
        _limit.reset(token)


def in_parallel(fn: Callable, items: Iterable, max_workers: int = 8) -> list:
    """`[fn(x) for x in items]`, run from threads that carry this context (callbacks, recording):
    calls in flight together are batched by llama.cpp and overlap on an endpoint. The results come
    in the order of `items`, whichever call ends first."""
    items = list(items)
    workers = min(len(items), max_workers, _limit.get() or max_workers)
    if workers < 2:
        return [fn(x) for x in items]
    with ContextThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
