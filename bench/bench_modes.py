"""Benchmark: one `ethos run` per mode at the published method's budgets, each in its own process.

Prints, per mode: the run's wall time (graph only), the process's wall time (imports and model
load included), new tokens, tokens/s and the process's peak resident memory.

    .venv/bin/python bench/bench_modes.py [--model SPEC] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."
QUESTION = "Should the doctor tell the mother about her terminal diagnosis?"
MODES = {
    "overton": [SITUATION],
    "steerable": [
        "--mode",
        "steerable",
        "--target",
        "Right to know",
        QUESTION,
        "--option",
        "Tell her",
        "--option",
        "Withhold it",
        "--option",
        "Let the family decide",
    ],
    "distributional": ["--mode", "distributional", "--attribute", "Japan", QUESTION, "--option", "Tell her", "--option", "Withhold it"],
}


def run_once(mode: str, model: str, seed: int, runs_dir: str) -> dict:
    # No cache: every token is generated, so tokens/s is the model's real speed.
    argv = [
        sys.executable,
        "-m",
        "ethos.cli",
        "run",
        "--json",
        "--no-cache",
        "--runs-dir",
        runs_dir,
        "--model",
        model,
        "--seed",
        str(seed),
        *MODES[mode],
    ]
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"bench: `{' '.join(argv)}` failed: {proc.stderr.read().decode()[-500:]}")
        out.seek(0)
        result = json.loads(out.read())
    tokens = result["usage"]["new_tokens"]
    return {
        "mode": mode,
        "run_s": result["seconds"],
        "process_s": round(wall, 2),
        "new_tokens": tokens,
        "tokens_per_s": round(tokens / result["seconds"], 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # Linux reports KiB
        "fallbacks": {k: v for k, v in result["fallbacks"].items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    args = parser.parse_args()
    print(
        f"model {args.model}, {os.cpu_count()} CPU cores, budgets: personas 480, comments 6 x 200, moderator 200 new tokens",
        file=sys.stderr,
    )
    header = f"{'mode':<15}{'run s':>8}{'process s':>11}{'new tok':>9}{'tok/s':>8}{'peak MB':>9}  fallbacks"
    if not args.json:
        print(header)
    runs_dir = tempfile.mkdtemp(prefix="ethos-bench-")
    for mode in MODES:
        for seed in range(args.repeat):
            row = run_once(mode, args.model, seed, runs_dir)
            if args.json:
                print(json.dumps(row))
            else:
                print(
                    f"{mode:<15}{row['run_s']:>8.1f}{row['process_s']:>11.1f}{row['new_tokens']:>9}{row['tokens_per_s']:>8.1f}{row['peak_rss_mb']:>9}  {row['fallbacks'] or 'none'}"
                )


if __name__ == "__main__":
    main()
