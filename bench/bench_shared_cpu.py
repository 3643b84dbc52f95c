"""Benchmark: two embedded processes on one CPU. The README's Overton run alone, then beside a
running `ethos eval` (prompting on OpinionQA items: one short call each, so its rate is easy to
count), under each OpenMP wait policy llama.cpp's threads can use: ACTIVE (spin while waiting),
PASSIVE (sleep), SPIN=N (spin N times, then sleep) or DEFAULT (libgomp's: 300,000 spins). Prints the run's time alone and beside the eval, and the eval's items per
minute alone and while the run shares the CPU.

    .venv/bin/python bench/bench_shared_cpu.py --data ../shared/vital [--policies ACTIVE,PASSIVE,SPIN=10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def _env(policy: str, runs: Path) -> dict:
    """ACTIVE or PASSIVE (OMP_WAIT_POLICY), or SPIN=N: spin N times, then sleep (GOMP_SPINCOUNT)."""
    waits = {"GOMP_SPINCOUNT": policy.partition("=")[2]} if policy.startswith("SPIN=") else {"OMP_WAIT_POLICY": policy}
    if policy == "DEFAULT":  # libgomp's own: spin 300,000 times, then sleep
        waits = {}
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    return base | waits | {"ETHOS_RUNS_DIR": str(runs), "NO_COLOR": "1"}


def overton_run(policy: str, runs: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ethos.cli", "run", "--no-cache", "-q", SITUATION], env=_env(policy, runs), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


def items_done(out: Path) -> int:
    return sum(p.read_text().count("\n") for p in out.rglob("results.jsonl"))


def rate(out: Path, seconds: float) -> float:
    """Items per minute the eval in `out` finishes over the next `seconds`."""
    before, started = items_done(out), time.perf_counter()
    time.sleep(seconds)
    return (items_done(out) - before) * 60 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a folder of VITAL files")
    parser.add_argument("--policies", default="ACTIVE,PASSIVE")
    parser.add_argument("--window", type=float, default=40.0, help="seconds the eval's rate is counted alone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ethos-shared-cpu-"))
    print(f"{'policy':<9}{'run alone s':>12}{'beside eval s':>14}{'ratio':>7}{'eval items/min alone':>22}{'beside run':>12}{'ratio':>7}")
    for policy in args.policies.split(","):
        alone = overton_run(policy, work / policy / "runs")
        out = work / policy / "eval"
        command = [sys.executable, "-m", "ethos.cli", "eval", "--task", "steerable-opinionqa", "--data", args.data, "--method", "prompting",
                   "--no-cache", "--no-progress", "-q", "--out", str(out)]  # fmt: skip
        log = work / policy / "eval.log"
        with log.open("w") as sink:
            evaluation = subprocess.Popen(command, env=_env(policy, work / policy / "runs"), stdout=subprocess.DEVNULL, stderr=sink)
        try:
            while items_done(out) < 2:  # the eval's model is loaded and its items flow
                if evaluation.poll() is not None:
                    raise SystemExit(f"bench: the eval stopped (exit {evaluation.returncode}): {log.read_text()[-600:]}")
                time.sleep(0.5)
            eval_alone = rate(out, args.window)
            before, started = items_done(out), time.perf_counter()
            beside = overton_run(policy, work / policy / "runs")
            eval_beside = (items_done(out) - before) * 60 / (time.perf_counter() - started)
        finally:
            evaluation.kill()
            evaluation.wait()
        print(
            f"{policy:<9}{alone:>12.1f}{beside:>14.1f}{beside / alone:>7.2f}{eval_alone:>22.1f}{eval_beside:>12.1f}{eval_beside / eval_alone:>7.2f}"
        )


if __name__ == "__main__":
    main()
