"""The run pipeline before and after a change, side by side: a fake-model eval (wall time; the
predictions must be byte-identical) and one `ethos run` (its checkpoint files and record).

    git worktree add /tmp/before REV && mkdir /tmp/beforepkg && ln -s /tmp/before /tmp/beforepkg/ethos
    .venv/bin/python bench/bench_pipeline.py --before /tmp/beforepkg --data ../shared/vital/vital_distributional_moralchoice.dev.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("ethosagents", "modplural")


def ethos(package_parent: str, argv: list[str], runs: Path) -> tuple[float, str]:
    env = {**os.environ, "ETHOS_RUNS_DIR": str(runs), "PYTHONPATH": package_parent}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ethos.cli", *argv], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode:
        raise SystemExit(f"bench: ethos {argv[0]} failed: {done.stderr[-600:]}")
    return time.perf_counter() - started, done.stdout


def measure(package_parent: str, data: Path, limit: int) -> dict:
    runs = Path(tempfile.mkdtemp(prefix="ethos-bench-"))
    wall, _ = ethos(
        package_parent,
        [
            "eval",
            "--task",
            "distributional-moralchoice",
            "--data",
            str(data.resolve()),
            "--limit",
            str(limit),
            "--method",
            ",".join(METHODS),
            "--model",
            "fake",
            "--no-cache",
            "--no-progress",
            "--json",
            "--out",
            str(runs / "out"),
        ],
        runs,
    )
    predictions = b"".join((runs / "out" / m / "predictions.json").read_bytes() for m in METHODS)
    run_wall, out = ethos(
        package_parent, ["run", "--json", "--model", "fake", "--n-personas", "6", "A nurse is asked to hide a medication error."], runs
    )
    record = runs / "runs" / json.loads(out)["run_id"] / "record.json"
    return {
        "eval_s": wall,
        "run_s": run_wall,
        "checkpoint_kib": sum(p.stat().st_size for p in runs.glob("checkpoints.sqlite*")) / 1024,
        "record_kib": record.stat().st_size / 1024,
        "predictions": hashlib.sha256(predictions).hexdigest()[:12],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a folder holding the earlier checkout as `ethos`")
    parser.add_argument("--data", type=Path, required=True, help="a distributional-moralchoice VITAL file")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"fake model, {args.limit} items x {len(METHODS)} methods, then one 6-persona run; {args.repeats} rounds, interleaved")
    for _ in range(args.repeats):
        for name, where in (("before", args.before), ("after", "")):  # after: the installed (editable) checkout
            m = measure(where, args.data, args.limit)
            print(
                f"{name:7s} eval {m['eval_s']:5.1f} s  run {m['run_s']:4.2f} s  checkpoints {m['checkpoint_kib']:4.0f} KiB  "
                f"record {m['record_kib']:4.1f} KiB  predictions {m['predictions']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
