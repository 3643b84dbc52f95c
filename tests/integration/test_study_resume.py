"""A study of the fake model and the embedded one (two tasks, three methods, two seeds, small budgets):
stopped with Ctrl-C partway and resumed, it gives the table of a study that ran straight through."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tests_paths import FIXTURES

STUDY = f"""
models = ["fake:0.05", "embedded"]
methods = ["vanilla", "prompting", "ethosagents"]
tasks = ["distributional-moralchoice", "steerable-vk"]
data = "{FIXTURES}"
limit = 1
seeds = [0, 1]
against = "vanilla"
n_personas = 2
persona_attempts = 1
persona_tokens = 60
comment_tokens = 16
moderator_tokens = 16
"""


def _study(path, runs, **popen):
    argv = [sys.executable, "-m", "ethos.cli", "study", str(path), "--runs-dir", str(runs), "--out", str(runs / "out")]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | {"NO_COLOR": "1"}, **popen)


def test_a_stopped_study_resumes_to_the_table_of_one_that_ran_through(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY)
    straight = _study(path, tmp_path / "straight")
    assert straight.wait(timeout=600) == 0, straight.stderr.read()[-2000:]

    stopped = _study(path, tmp_path / "stopped")
    seen = []
    for line in stopped.stderr:  # stop once a few cells are done, with others in flight
        seen.append(line)
        if line.startswith("[6/24 cells"):
            stopped.send_signal(signal.SIGINT)
            break
    assert stopped.wait(timeout=120) == 130
    said = "".join(seen) + stopped.stderr.read()
    assert "study stopped; every finished item is kept: rerun the same command to resume" in said
    assert not (tmp_path / "stopped" / "out" / "study.json").exists()

    resumed = _study(path, tmp_path / "stopped")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()[-2000:]
    tables = [json.loads((tmp_path / run / "out" / "study.json").read_text())["tables"] for run in ("straight", "stopped")]
    assert tables[0] == tables[1]
    assert [t["models"] for t in tables[0]] == [["fake:0.05", "embedded"]] * 2
    assert all(len(r["cells"]["embedded"]["seeds"]) == 2 for t in tables[0] for r in t["rows"])
