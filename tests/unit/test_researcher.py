"""The researcher's workflow: results kept by model and settings, and methods compared paired."""

import json

import pytest

from ethos.cli import main
from tests_paths import FIXTURES

EVAL = ["eval", "--task", "distributional-globalopinionqa", "--data", str(FIXTURES), "--method", "vanilla", "--no-progress"]


def test_two_models_and_two_settings_keep_their_results_apart_by_default(fake, runs_dir, capsys):
    first, second = fake(), fake()
    assert main([*EVAL, "--model", first.spec]) == 0
    assert main([*EVAL, "--model", second.spec]) == 0  # before: "holds results of another configuration"
    assert main([*EVAL, "--model", second.spec, "--seed", "3"]) == 0
    folders = sorted(p.parent.relative_to(runs_dir / "eval") for p in (runs_dir / "eval").rglob("metrics.json"))
    assert len(folders) == 3 and {f.parts[0] for f in folders} == {first.spec, second.spec}
    assert main([*EVAL, "--model", first.spec]) == 0  # the same settings again: resumed, nothing new
    assert len(list((runs_dir / "eval").rglob("metrics.json"))) == 3
    assert "predictions in" in capsys.readouterr().err


def test_the_report_compares_rows_paired_and_tells_models_apart(fake, tmp_path, capsys):
    good = fake()
    out = tmp_path / "out"
    assert main([*EVAL, "--model", good.spec, "--method", "vanilla,moe", "--out", str(out / "a")]) == 0
    other = fake()
    assert main([*EVAL, "--model", other.spec, "--out", str(out / "b")]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert f"| vanilla · {good.spec} |" in report and f"| vanilla · {other.spec} |" in report  # same method, two models: two rows
    assert "Paired against vanilla" in report and "| moe · " in report and "better / worse items" in report


def test_a_paired_difference_on_a_known_answer():
    from ethos.evaluation.compare import paired

    reference = {str(i): (0.5, f"q{i // 2}") for i in range(20)}
    better = {str(i): (0.4 if i < 18 else 0.6, f"q{i // 2}") for i in range(20)}  # 18 items better by 0.1, 2 worse by 0.1
    d = paired(reference, better, higher=False)
    assert d["n"] == 20 and d["mean"] == pytest.approx(-0.08) and (d["better"], d["worse"]) == (18, 2)
    assert d["ci"][1] < 0 and d["holds"]
    assert not paired(reference, reference, higher=False)["holds"]
