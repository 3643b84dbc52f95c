"""SIGTERM (what Slurm, systemd and `docker stop` send) stops a study or an eval as Ctrl-C does: the
items in flight are recorded as interrupted at once, the way to resume is said, and the exit is 143.
Progress written to a file is there line by line, as `nohup ethos study ... > log` reads it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _data(tmp_path: Path) -> Path:
    items = [
        {"question": f"Question {i}: tell the patient now?", "options": ["Yes", "No"], "attribute": "low_ambiguity",
         "gold_distribution": [0.6, 0.4], "pred_distribution": None, "id": f"L_{i}"}
        for i in range(12)
    ]  # fmt: skip
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "vital_distributional_moralchoice.json").write_text(json.dumps(items))
    return folder


def _statuses(runs: Path) -> list[str]:
    return [json.loads(p.read_text())["status"] for p in runs.glob("runs/*/record.json")]


@pytest.mark.parametrize("command", ["study", "eval"])
def test_sigterm_stops_as_ctrl_c_does_and_the_log_holds_every_line(tmp_path, command):
    # A second per call: an item in flight takes longer than the stop's grace (GRACE_SECONDS), so it is interrupted.
    data, runs, log = _data(tmp_path), tmp_path / "runs", tmp_path / "log"
    if command == "study":
        study = tmp_path / "study.toml"
        study.write_text(f'models = ["fake:1.0"]\nmethods = ["vanilla", "ethosagents"]\ntasks = ["distributional-moralchoice"]\n'
                         f'data = "{data}"\nseeds = [0, 1]\nn_personas = 2\nmax_concurrency = 2\n')  # fmt: skip
        argv = ["study", str(study), "--out", str(tmp_path / "out")]
        started = "[1/4 cells"
    else:
        argv = ["eval", "--task", "distributional-moralchoice", "--data", str(data), "--model", "fake:1.0", "--method", "ethosagents",
                "--n-personas", "2", "--max-concurrency", "2", "--no-progress", "--out", str(tmp_path / "out")]  # fmt: skip
        started = None
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "ethos.cli", *argv, "--runs-dir", str(runs)], stdout=sink, stderr=sink,
                                env=os.environ | {"NO_COLOR": "1"})  # fmt: skip
        deadline = time.monotonic() + 120
        while not (started in log.read_text() if started else "running" in _statuses(runs)):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        if started:  # the next cell's items are in flight
            while "running" not in _statuses(runs):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
    said = log.read_text()
    assert "rerun the same command" in said and "Traceback" not in said
    statuses = _statuses(runs)
    assert "interrupted" in statuses and "running" not in statuses  # marked at once, not when the next run starts
