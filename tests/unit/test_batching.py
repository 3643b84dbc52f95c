import threading

import pytest

from ethos.agents.models.batching import MicroBatcher


def test_concurrent_calls_with_the_same_key_run_as_one_batch():
    seen = []

    def run(key, items):
        seen.append((key, list(items)))
        return [f"{key}:{item}" for item in items]

    batcher = MicroBatcher(run, max_batch=6, window=0.5)
    results = {}
    barrier = threading.Barrier(6)

    def call(i):
        barrier.wait()
        results[i] = batcher.submit("k", i)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"k:{i}" for i in range(6)}
    assert batcher.batch_sizes == [6] and sorted(seen[0][1]) == list(range(6))


def test_a_failing_batch_fails_every_caller():
    def run(key, items):
        raise RuntimeError("model crashed")

    batcher = MicroBatcher(run, window=0.0)
    with pytest.raises(RuntimeError, match="model crashed"):
        batcher.submit("k", 1)
