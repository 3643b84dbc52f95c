"""Benchmark: `ethos eval` items per minute on the embedded model at --max-concurrency 1 and N.

    .venv/bin/python bench/bench_eval_concurrency.py --data ../shared/vital [--items 4] [--concurrency 4]
        [--task distributional-globalopinionqa] [-- EXTRA ETHOS EVAL FLAGS]

Both legs run the same items (spread sample, seed 0) with the published budgets and no cache, one
after the other in fresh processes. At concurrency N the items' calls share llama.cpp batches.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_concurrency import timed_eval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--task", default="distributional-globalopinionqa")
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("extra", nargs="*", help="more `ethos eval` flags, after --")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ethos-eval-bench-") as tmp:
        rows = []
        for c in (1, args.concurrency):
            out = Path(tmp) / f"c{c}"
            flags = [
                "--task",
                args.task,
                "--data",
                str(args.data),
                "--limit",
                str(args.items),
                "--runs-dir",
                str(out / "runs"),
                "--no-cache",
                "--no-progress",
                *args.extra,
            ]
            wall, metrics = timed_eval(flags, out, c)
            rows.append((c, wall, metrics))
            print(f"  concurrency {c}: {wall:.1f} s", file=sys.stderr)
    print(f"{args.task}, {args.items} items, embedded model, wall seconds including process start")
    for c, wall, metrics in rows:
        print(
            f"  --max-concurrency {c}: {wall:7.1f} s  {args.items / wall * 60:5.2f} items/min  "
            f"failed {metrics.get('failed', 0)}, fallbacks {json.dumps(metrics.get('fallbacks', {}))}"
        )
    print(f"speed-up at {args.concurrency}: x{rows[0][1] / rows[1][1]:.2f} (goal >= 3)")


if __name__ == "__main__":
    main()
