"""A task is one module and a registration: a task defined outside the package, registered under
the `ethosagents.tasks` entry point group, runs through eval, score, report and view, its own
metric ranking the table and pairing the rows."""

import json
import os
import subprocess
import sys

from tests_paths import FIXTURES

PLUGIN = FIXTURES / "toy_task_plugin"
ITEMS = [
    {
        "id": i,
        "question": f"Question: Should clinics open on Sundays ({i})?\nOptions: A. Yes B. No\nAnswer:",
        "options": ["Yes", "No"],
        "attribute": country,
        "gold_distribution": [0.2 + 0.1 * i, 0.8 - 0.1 * i],
    }
    for i, country in enumerate(["Japan", "Kenya", "Peru"])
]


def ethos(tmp_path, *argv):
    env = {**os.environ, "PYTHONPATH": str(PLUGIN), "ETHOS_RUNS_DIR": str(tmp_path / "runs")}
    done = subprocess.run([sys.executable, "-m", "ethos.cli", *argv], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_task_from_outside_the_package_runs_through_eval_score_report_and_view(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy_yesno.json").write_text(json.dumps(ITEMS))
    out = ethos(
        tmp_path,
        "eval",
        "--task",
        "toy-yesno",
        "--data",
        str(data),
        "--method",
        "vanilla,prompting",
        "--model",
        "fake",
        "--out",
        str(tmp_path / "o"),
        "--no-progress",
    )
    assert "toy-yesno: Brier score (lower is better)" in out
    scores = json.loads((tmp_path / "o" / "vanilla" / "scores.json").read_text())["metrics"]
    metrics = json.loads((tmp_path / "o" / "vanilla" / "metrics.json").read_text())
    assert sorted(scores["brier"]) == ["0", "1", "2"] and metrics["brier"] == sum(scores["brier"].values()) / 3
    assert set(metrics["groups"]) == {"Japan", "Kenya", "Peru"}
    scored = json.loads(ethos(tmp_path, "score", str(tmp_path / "o" / "vanilla" / "predictions.json"), "--json"))
    assert scored["brier"] == metrics["brier"]
    ethos(tmp_path, "report", str(tmp_path / "o"), "--out", str(tmp_path / "r"))
    report = (tmp_path / "r" / "report.md").read_text()
    assert "Brier score ↓" in report and "Paired against vanilla" in report
    ethos(tmp_path, "view", str(tmp_path / "o"), "--out", str(tmp_path / "page.html"))
    assert "Brier score" in (tmp_path / "page.html").read_text()
