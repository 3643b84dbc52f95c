"""`ethos study`: every cell (model × task × method × seed) is an eval in its own configuration
folder, the dry run counts the calls the study then makes, and the table puts methods in rows and
models in columns, with seeds and questions in its intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests_paths import FIXTURES

from ethos.cli import main

STUDY = f"""
models = ["fake", "fake:0.001"]
methods = ["vanilla", "ethosagents"]
tasks = ["distributional-moralchoice", "steerable-vk"]
data = "{FIXTURES}"
limit = 2
seeds = [0, 1]
against = "vanilla"
n_personas = 2
"""


def _study(tmp_path, text=STUDY):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_a_study_fills_evals_folders_and_reuses_a_cell_run_by_hand(tmp_path, runs_dir, capsys):
    # one cell run by hand first, as `ethos eval` with the study's settings: the study reuses it
    assert main(["eval", "--task", "distributional-moralchoice", "--data", str(FIXTURES), "--method", "vanilla", "--model", "fake",
                 "--limit", "2", "--seed", "0", "--n-personas", "2", "--no-progress"]) == 0  # fmt: skip
    (by_hand,) = (runs_dir / "eval" / "fake").glob("*/distributional-moralchoice/vanilla/results.jsonl")
    lines = by_hand.read_text()
    capsys.readouterr()
    assert main(["study", str(_study(tmp_path)), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert by_hand.read_text() == lines  # reused: no item ran again
    assert (
        err.count("/16 cells (") == 16 and "[16/16 cells" in err and "(done before: reused)" in err
    )  # one progress line per cell: 2 models × 2 tasks × 2 methods × 2 seeds
    # vanilla reads MoralChoice's letters greedily under the reference protocol: seed 0's run stands for seed 1, in each model
    assert err.count("(seed-independent: seed 0's run stands for it)") == 2
    study = json.loads((tmp_path / "out" / "study.json").read_text())
    folders = {f for cell in study["cells"] for f in cell["folders"]}
    assert len(folders) == 14 and str(by_hand.parent) in folders  # steerable-vk's vanilla generates its answer: run per seed
    vanilla = {
        c["seed"]: c["folders"]
        for c in study["cells"]
        if c["method"] == "vanilla" and c["model"] == "fake" and c["task"] == "distributional-moralchoice"
    }
    assert (
        vanilla[0] == vanilla[1]
        and "vanilla: one run for every seed" in study["tables"][0]["seed_independent"][0] + ": one run for every seed"
    )
    (table, _) = study["tables"]
    assert table["models"] == ["fake", "fake:0.001"] and [r["label"] for r in table["rows"]] == ["vanilla", "ethosagents"]
    for row in table["rows"]:
        for model in table["models"]:
            cell = row["cells"][model]
            assert len(cell["seeds"]) == 2 and cell["low"] <= cell["mean"] <= cell["high"]
            assert cell["mean"] == pytest.approx(np.mean(cell["seeds"])) and cell["seed_sd"] == pytest.approx(np.std(cell["seeds"], ddof=1))
    ethos_row = table["rows"][1]
    assert set(ethos_row["paired"]) == {"fake", "fake:0.001"}  # paired within each model
    assert ethos_row["paired"]["fake"]["mean"] == pytest.approx(
        ethos_row["cells"]["fake"]["mean"] - table["rows"][0]["cells"]["fake"]["mean"]
    )
    assert "| method | fake | fake:0.001 | Δ vs vanilla · fake |" in (tmp_path / "out" / "report.md").read_text()
    tex = (tmp_path / "out" / "study.tex").read_text()
    assert tex.count("\\begin{tabular}") == 2 and "$\\pm$" in tex and "\\_" not in tex.split("\\caption")[0].split("\\midrule")[1]
    # the same study again: every cell reused, the same table
    assert main(["study", str(_study(tmp_path)), "--out", str(tmp_path / "again"), "-q"]) == 0
    assert json.loads((tmp_path / "again" / "study.json").read_text())["tables"] == study["tables"]
    assert main(["view", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "view.html").read_text()
    assert "<svg" in page and "Δ vs vanilla · fake" in page and page.count("<table>") == 2


def test_the_dry_run_counts_the_calls_and_tokens_the_study_makes(tmp_path, runs_dir, capsys):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"0.001": {"input": 1.0, "output": 2.0}}))  # fake:0.001 by its name
    study = _study(tmp_path, STUDY.replace('"fake:0.001"]', f'{{spec = "fake:0.001", prices = "{prices}"}}]'))
    assert main(["study", str(study), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert not (runs_dir / "eval").exists()  # nothing ran
    planned = {tuple(line.split()[:3]): int(line.split()[4].replace(",", "")) for line in out.splitlines() if line.startswith("fake")}
    assert len(planned) == 8 and "at most $" in out
    assert main(["study", str(study), "-q"]) == 0
    made = {}
    for metrics in (runs_dir / "eval").glob("*/*/*/*/metrics.json"):
        m = json.loads(metrics.read_text())
        model = "fake" if metrics.parts[-5] == "fake" else "fake:0.001"
        key = (model, metrics.parts[-3], m["method"])
        made[key] = made.get(key, 0) + m["usage"]["calls"]
    assert made == planned  # the call plan is the calls made


@pytest.mark.parametrize(
    "text, says",
    [
        ('methods = ["vanilla"]\ntasks = ["distributional-moralchoice"]', "needs `models`"),
        (
            'models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\nseed = 3',
            "`seed` is set per cell by the study: use `seeds`",
        ),
        ('models = [{name = "fake"}]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]', "a model table needs `spec`"),
        ('models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\nseeds = ["a"]', "`seeds` must be a list"),
        (
            'models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\nagainst = "moe"',
            "against = 'moe' is not one of",
        ),
        ('models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\nn_persona = 2', "unknown setting 'n_persona'"),
        ('models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\nn_personas = 0', "--n-personas"),
        ('models = ["fake"', "cannot read it"),
    ],
)
def test_a_bad_study_file_is_one_line_naming_the_key(tmp_path, capsys, text, says):
    path = _study(tmp_path, text + f'\ndata = "{FIXTURES}"\n' if "[" in text and text.count("[") == text.count("]") else text)
    assert main(["study", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and str(path) in err


def test_the_command_line_wins_over_the_file(tmp_path, capsys):
    assert main(["study", str(_study(tmp_path)), "--models", "fake", "--tasks", "distributional-moralchoice", "--seeds", "0",
                 "--set", "n_personas=3", "--dry-run"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith("2 cells.") and "fake:0.001" not in out
    assert main(["study", "--models", "fake", "--dry-run"]) == 2 and "needs `methods`" in capsys.readouterr().err
