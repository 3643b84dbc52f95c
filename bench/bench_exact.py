"""Benchmark: what exact decoding costs, and what fast decoding gives up (embedded model, no cache).

    .venv/bin/python bench/bench_exact.py --data ../shared/vital [--items 4] [--repeats 2]
        [--task distributional-globalopinionqa] [-- EXTRA ETHOS EVAL FLAGS]

Runs the same `ethos eval --no-cache` with `--decoding exact` and `--decoding fast`, alternating,
each in a fresh process, `--repeats` times. Prints the wall time of each mode and their ratio,
whether each mode repeated its predictions byte for byte, and how far the fast runs' predictions
moved from one run to the next and from the exact ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench_concurrency import timed_eval


def _distributions(path: Path) -> list[list[float]]:
    return [item.get("pred_distribution") or [] for item in json.loads(path.read_text())]


def _largest_move(a: list[list[float]], b: list[list[float]]) -> float:
    return max((abs(x - y) for p, q in zip(a, b) for x, y in zip(p, q)), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--task", default="distributional-globalopinionqa")
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="more `ethos eval` flags, after --")
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"exact": [], "fast": []}
    outputs: dict[str, list[Path]] = {"exact": [], "fast": []}
    with tempfile.TemporaryDirectory(prefix="ethos-exact-bench-") as tmp:
        for repeat in range(args.repeats):
            for mode in ("fast", "exact") if repeat % 2 else ("exact", "fast"):
                out = Path(tmp) / f"{mode}{repeat}"
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
                    "--decoding",
                    mode,
                    *args.extra,
                ]
                wall, _ = timed_eval(flags, out, args.concurrency)
                walls[mode].append(wall)
                outputs[mode].append(out / "ethosagents" / "predictions.json")
                print(f"  {mode} run {repeat + 1}: {wall:.1f} s", file=sys.stderr)
        print(
            f"{args.task}, {args.items} items, embedded model, --max-concurrency {args.concurrency}, no cache; "
            f"wall seconds per eval, process start included"
        )
        for mode in ("exact", "fast"):
            same = len({p.read_bytes() for p in outputs[mode]}) == 1
            print(
                f"  --decoding {mode:5}: {statistics.mean(walls[mode]):7.1f} s (runs: {', '.join(f'{w:.1f}' for w in walls[mode])}); "
                f"predictions {'identical' if same else 'DIFFER'} over {args.repeats} runs"
            )
        print(f"  exact / fast wall time: x{statistics.mean(walls['exact']) / statistics.mean(walls['fast']):.2f}")
        fast = [_distributions(p) for p in outputs["fast"]]
        exact = _distributions(outputs["exact"][0])
        if any(fast[0]):
            between = max((_largest_move(fast[0], f) for f in fast[1:]), default=0.0)
            print(
                f"  largest change of a predicted probability: fast run to fast run {between:.4f}, "
                f"fast to exact {max(_largest_move(f, exact) for f in fast):.4f}"
            )


if __name__ == "__main__":
    main()
