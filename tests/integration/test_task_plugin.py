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


TRIAGE = FIXTURES / "triage_task_plugin"
CASES = [  # not VITAL's shape: no question, options or gold distribution
    {
        "id": f"c{c}-{k}",
        "case": f"case {c}",
        "ward": ["ER", "ICU"][k],
        "vignette": f"Case {c}, variant {k}: a patient arrives with chest pain and two beds are left.",
        "choices": ["Admit now", "Wait for tests", "Transfer"],
        "votes": [3 + c, 2 + k, 1],
    }
    for c in range(3)
    for k in range(2)
]


def test_a_task_whose_items_are_not_vital_shaped_runs_through_eval_score_report_view_and_a_study(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(TRIAGE), "ETHOS_RUNS_DIR": str(tmp_path / "runs")}

    def ethos(*argv):
        done = subprocess.run([sys.executable, "-m", "ethos.cli", *argv], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    data = tmp_path / "data"
    data.mkdir()
    (data / "toy_triage.json").write_text(json.dumps(CASES))
    out = ethos("eval", "--task", "toy-triage", "--data", str(data), "--method", "vanilla,prompting", "--model", "fake")
    assert "toy-triage: TV distance (lower is better)" in out
    folder = next((tmp_path / "runs" / "eval").glob("*/*/toy-triage"))  # the default folder: model/identity/task
    metrics = json.loads((folder / "vanilla" / "metrics.json").read_text())
    assert metrics["n_items"] == 6 and metrics["n_questions"] == 3  # the task's own key: two vignettes per case
    assert 0 <= metrics["tv_distance"] <= 1 and set(metrics["groups"]) == {"ER", "ICU"}
    predictions = json.loads((folder / "vanilla" / "predictions.json").read_text())
    assert all(len(p["predicted"]) == 3 and "pred_distribution" not in p for p in predictions)  # its own field
    assert json.loads(ethos("score", str(folder / "vanilla" / "predictions.json"), "--json"))["tv_distance"] == metrics["tv_distance"]
    ethos("report", str(folder), "--out", str(tmp_path / "r"))
    assert "TV distance ↓" in (tmp_path / "r" / "report.md").read_text()
    ethos("view", str(folder), "--out", str(tmp_path / "eval.html"))
    page = (tmp_path / "eval.html").read_text()
    assert "Case 0, variant 0" in page and "Admit now" in page and ">panel<" in page  # the item as the task shows it
    study = tmp_path / "study.toml"
    study.write_text('models = ["fake"]\nmethods = ["vanilla", "prompting"]\ntasks = ["toy-triage"]\nseeds = [0, 1]\ndata = "data"\n')
    assert "toy-triage: TV distance (lower is better)" in ethos("study", str(study), "--out", str(tmp_path / "st"))
    ethos("view", str(tmp_path / "st"), "--out", str(tmp_path / "study.html"))
    assert "TV distance" in (tmp_path / "study.html").read_text()
