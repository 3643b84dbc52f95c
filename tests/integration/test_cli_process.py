"""`ethos` as a process: its exit status and its one error line, with nothing else on stderr."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["run", "--mode", "vote", "x"], ["run", "--n-personas", "many", "x"]])
def test_bad_flags_exit_2_with_one_line(argv):
    proc = subprocess.run([sys.executable, "-m", "ethos.cli", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("ethos: error:") and "Traceback" not in proc.stderr


def test_unreachable_endpoint_gives_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "ethos.cli", "run", "--model", "openai:m", "--base-url", "http://127.0.0.1:9", "x"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr  # a runtime failure
    assert proc.stderr.strip().splitlines()[-1].startswith("ethos: error: cannot reach the model endpoint")


def test_a_run_piped_into_head_runs_to_its_end_and_is_recorded_ok(runs_dir):
    command = f"{sys.executable} -m ethos.cli run --model fake:0.02 --n-personas 6 'Should she be told?' | head -2"
    subprocess.run(command, shell=True, capture_output=True, timeout=120, env={**os.environ, "ETHOS_RUNS_DIR": str(runs_dir)})
    (record,) = [json.loads(p.read_text()) for p in runs_dir.glob("runs/*/record.json")]
    assert record["status"] == "ok" and len(record["comments"]) == 6
