"""Scale-out measurements for docs/scaling.md: Ray against in-process evaluation, and PostgreSQL
against SQLite checkpoints. Prints its figures; nothing here is a pass/fail test.

    python bench/bench_scale.py --data ../shared/vital            # all three parts (about 35 minutes)
    python bench/bench_scale.py --part overhead --part checkpoints  # the quick parts (about 2 minutes)

1. throughput: items per minute on distributional GlobalOpinionQA with the embedded model (`--items`
   items, the budgets below), in-process at --max-concurrency 2, then on a local Ray cluster with 1
   and with 2 actors (one CPU each). Each configuration is a fresh `ethos eval` process; the time is
   the whole command, model loading and cluster start included, and also the items alone (from the
   first item's start to the last one's end, out of the run records).
2. overhead: the per-item cost of Ray on the fake model (`--overhead-items` vanilla items, no delay):
   `evaluate()` in-process with one thread, against one Ray actor, in one process.
3. checkpoints: the latency PostgreSQL adds per super-step against SQLite: `--invokes` runs of the
   ethosagents graph (fake model, six persona agents: four super-steps) on each checkpointer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from servers import can_run_postgres, postgres_server  # noqa: E402

BUDGETS = ["--n-personas", "3", "--persona-tokens", "240", "--comment-tokens", "64"]


def _eval(data: Path, out: Path, items: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ethos.cli",
        "eval",
        "--task",
        "distributional-globalopinionqa",
        "--data",
        str(data),
        "--limit",
        str(items),
        "--model",
        "embedded",
        *BUDGETS,
        "--out",
        str(out),
        "--no-progress",
        "--no-cache",
        *extra,
    ]


def _items_span(out: Path, runs: Path) -> float:
    """Seconds from the first item's start to the last item's end, from the run records."""
    starts, ends = [], []
    for line in (out / "ethosagents" / "results.jsonl").read_text().splitlines():
        record = json.loads((runs / "runs" / json.loads(line)["run_id"] / "record.json").read_text())
        starts.append(record["started"])
        ends.append(record["finished"])
    return max(ends) - min(starts)


def throughput(data: Path, items: int, only: list[str] | None = None) -> None:
    print(f"\n## throughput: distributional GlobalOpinionQA, embedded model, {items} items, ethosagents with {' '.join(BUDGETS)}")
    print(f"{'configuration':<34}{'command s':>10}{'items s':>10}{'items/min':>11}{'items/min (items alone)':>25}  jsd")
    configurations = (
        ("in-process, --max-concurrency 2", ["--max-concurrency", "2"]),
        ("Ray local, 1 actor of 2 CPUs", ["--ray", "local", "--ray-actors", "1", "--ray-cpus", "2"]),
        ("Ray local, 2 actors of 1 CPU", ["--ray", "local", "--ray-actors", "2"]),
    )
    for name, extra in configurations:
        if only and not any(word in name for word in only):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out, runs = Path(tmp) / "out", Path(tmp) / "runs"
            started = time.perf_counter()
            done = subprocess.run([*_eval(data, out, items, *extra), "--runs-dir", str(runs)], capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if done.returncode:
                print(f"{name}: failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            span = _items_span(out, runs)
            jsd = json.loads((out / "ethosagents" / "metrics.json").read_text())["jsd"]
            print(f"{name:<34}{seconds:>10.1f}{span:>10.1f}{items / seconds * 60:>11.2f}{items / span * 60:>25.2f}  {jsd:.4f}", flush=True)


def overhead(items: int) -> None:
    from ethos.evaluation.ray_pool import RayPool
    from ethos.evaluation.runner import evaluate
    from ethos.evaluation.tasks import get_task
    from ethos.graph.context import Context

    task = get_task("distributional-globalopinionqa")
    loaded = [
        (
            {"question": f"Q{i}?", "options": ["Yes", "No"], "gold_distribution": [0.5, 0.5], "attribute": "Japan", "id": i},
            {
                "situation": f"Should the clinic open on day {i}?",
                "mode": "distributional",
                "options": ["Yes", "No"],
                "target": None,
                "attribute": "Japan",
            },
        )
        for i in range(items)
    ]
    ctx = Context(generator_model="fake", agent_model="fake", moderator_model="fake")
    print(f"\n## overhead: {items} vanilla items on the fake model (no delay), records and results written as in a real run")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "vital_distributional_globalopinionqa.json"
        data.write_text("[]")

        def timed(name: str, **options) -> float:
            best = []
            for repeat in range(3):
                out = Path(tmp) / f"{name}-{repeat}"
                started = time.perf_counter()
                evaluate(task, "vanilla", loaded, ctx, data=data, out_dir=out, progress=False, runs_dir=Path(tmp) / "runs", **options)
                best.append((time.perf_counter() - started) / items * 1000)
            print(f"  {name:<28} {statistics.median(best):7.2f} ms per item (median of 3: {', '.join(f'{b:.2f}' for b in best)})")
            return statistics.median(best)

        here = timed("in-process, 1 thread", max_concurrency=1)
        with RayPool("local", ctx, actors=1) as pool:
            there = timed("Ray local, 1 actor", ray_pool=pool)
    print(f"  Ray adds {there - here:.2f} ms per item (goal: under 20 ms)")


def checkpoints(invokes: int) -> None:
    from ethos.graph.builder import build_graph
    from ethos.graph.checkpoints import open_checkpointer
    from ethos.graph.context import Context

    ctx = Context(generator_model="fake", agent_model="fake", moderator_model="fake")
    request = {"situation": "A family asks the doctor to keep a diagnosis from their mother.", "mode": "overton"}
    steps = 4  # the input, seed_personas, the persona agents (one super-step), the moderator

    def timed(graph) -> list[float]:
        times = []
        for i in range(invokes):
            config = {"configurable": {"thread_id": f"bench-{time.time_ns()}-{i}"}}
            started = time.perf_counter()
            graph.invoke(request, context=ctx, config=config, **({"durability": "sync"} if graph.checkpointer else {}))
            times.append(time.perf_counter() - started)
        return times

    print(
        f"\n## checkpoints: {invokes} runs of the ethosagents graph on the fake model (six persona agents, {steps} super-steps), "
        "durability sync"
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "none": timed(build_graph().compile()),
            "SQLite": timed(build_graph().compile(checkpointer=open_checkpointer(None, Path(tmp)))),
        }
        if can_run_postgres():
            with postgres_server() as uri:
                results["PostgreSQL"] = timed(build_graph().compile(checkpointer=open_checkpointer(uri, Path(tmp))))
        else:
            print("  (PostgreSQL skipped: needs Debian's postgresql package and root)")
    median = {name: statistics.median(times) * 1000 for name, times in results.items()}
    for name, ms in median.items():
        print(f"  {name:<12} {ms:8.1f} ms per run (median), {(ms - median['none']) / steps:6.2f} ms per super-step over no checkpointer")
    if "PostgreSQL" in median:
        print(f"  PostgreSQL adds {(median['PostgreSQL'] - median['SQLite']) / steps:.2f} ms per super-step over SQLite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/vital"), help="a VITAL folder or GlobalOpinionQA file")
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--overhead-items", type=int, default=200)
    parser.add_argument("--invokes", type=int, default=30)
    parser.add_argument("--part", action="append", choices=["throughput", "overhead", "checkpoints"])
    parser.add_argument("--only", action="append", metavar="WORDS", help="throughput: only the configurations whose name holds these words")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    print(f"machine: {os.cpu_count()} CPUs")
    for part in args.part or ["overhead", "checkpoints", "throughput"]:
        {
            "throughput": lambda: throughput(args.data, args.items, args.only),
            "overhead": lambda: overhead(args.overhead_items),
            "checkpoints": lambda: checkpoints(args.invokes),
        }[part]()


if __name__ == "__main__":
    main()
