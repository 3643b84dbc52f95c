"""`ethos eval` killed with SIGKILL at ten random moments, a line cut mid-write, and a second writer
on the same folder: afterwards every item is recorded exactly once and the store reads cleanly.

Real processes on the fake model (`fake:SECONDS`, a slow fake), so a kill lands while items are in
flight; the moments are drawn with a fixed seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

N_ITEMS = 60


def _eval(data: Path, out: Path, runs: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ethos.cli",
        "eval",
        "--task",
        "distributional-globalopinionqa",
        "--data",
        str(data),
        "--model",
        "fake:0.3",  # slow enough that ten kills land while items remain, on a quick machine too
        "--n-personas",
        "2",
        "--max-concurrency",
        "2",
        "--out",
        str(out),
        "--runs-dir",
        str(runs),
        "--no-progress",
    ]


def _ok_lines(results: Path, *, cut: bool = False) -> list[dict]:
    """The finished items' lines. `cut`: a line cut short may still stand last (on a loaded machine
    every later run can be killed before its start-up repairs it); it finished nothing."""
    lines = results.read_text().splitlines()
    if cut and lines:
        try:
            json.loads(lines[-1])
        except json.JSONDecodeError:
            lines = lines[:-1]
    return [r for r in map(json.loads, lines) if r["status"] == "ok"]


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kills_a_cut_line_and_a_second_writer_lose_and_duplicate_nothing(tmp_path):
    items = [
        {
            "question": f"Question: Should the clinic open on day {i}?\nOptions: A. Yes B. No\nAnswer:",
            "options": ["Yes", "No"],
            "attribute": "Japan",
            "gold_distribution": [0.6, 0.4],
            "pred_distribution": None,
            "id": i,
        }
        for i in range(N_ITEMS)
    ]
    data = tmp_path / "vital_distributional_globalopinionqa.kill.json"
    data.write_text(json.dumps(items))
    out, runs = tmp_path / "out", tmp_path / "runs"
    results = out / "ethosagents" / "results.jsonl"
    command = _eval(data, out, runs)
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    rng = random.Random(12)

    # A second writer while the first holds the folder is refused, and the first is not disturbed.
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: results.exists() and results.read_text().count("\n") >= 1)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1 and "is in use by another ethos eval" in second.stderr and "Traceback" not in second.stderr
    first.send_signal(signal.SIGKILL)
    first.wait()

    # Ten kills at random moments: during start-up, between items, in the middle of items.
    for _ in range(10):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 4.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        lines = results.read_text()
        with open(results, "a") as f:  # and once, a line cut short in the middle of its write
            if _ == 4:
                f.write(lines.splitlines()[-1][:40])

    done_before = {r["id"] for r in _ok_lines(results, cut=True)}
    assert 0 < len(done_before) < N_ITEMS, "the kills should land while items remain"

    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    print(
        f"\nkill test: {len(done_before)} of {N_ITEMS} items done across the kills; the final run said: "
        + " ".join(line for line in final.stderr.splitlines() if "results.jsonl" in line)
    )
    assert "Traceback" not in final.stderr
    ok = _ok_lines(results)
    assert sorted(r["id"] for r in ok) == list(range(N_ITEMS))  # every item exactly once
    lines = results.read_text().splitlines()
    assert all(json.loads(line) for line in lines) and results.read_text().endswith("\n")  # a readable store
    predictions = json.loads((out / "ethosagents" / "predictions.json").read_text())
    assert all(p["pred_distribution"] for p in predictions)
    statuses = [json.loads(p.read_text())["status"] for p in runs.glob("runs/*/record.json")]
    # (an item killed after its record said ok but before its result line was written ran twice)
    assert "running" not in statuses and statuses.count("ok") >= N_ITEMS
    assert "interrupted" in statuses  # items in flight at a kill say so
    print(f"kill test: run records: {statuses.count('ok')} ok, {statuses.count('interrupted')} interrupted")
