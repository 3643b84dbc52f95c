import json

import pytest
from tests_paths import FIXTURES

from ethos.cli import main


@pytest.mark.parametrize(
    "task",
    ["overton-vk", "steerable-vk", "steerable-opinionqa", "distributional-moralchoice", "distributional-globalopinionqa"],
)
def test_eval_all_methods_writes_vital_predictions_then_score_and_report_read_them(fake, tmp_path, capsys, task):
    spec = fake().spec
    out = tmp_path / "runs"
    assert (
        main(
            [
                "eval",
                "--task",
                task,
                "--method",
                "all",
                "--data",
                str(FIXTURES),
                "--model",
                spec,
                "--n-personas",
                "2",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    for method in ("vanilla", "prompting", "moe", "modplural", "ethosagents"):
        assert f"  {method} " in printed
        predictions = json.loads((out / method / "predictions.json").read_text())
        field = "output" if task in ("overton-vk", "steerable-vk") else "pred_distribution"
        assert predictions and all(p[field] is not None for p in predictions)
        metrics = json.loads((out / method / "metrics.json").read_text())
        assert metrics["failed"] == 0 and metrics["missing"] == 0
        # `ethos score` on the written file reproduces the run's metrics.
        assert main(["score", str(out / method / "predictions.json"), "--task", task, "--json"]) == 0
        scored = json.loads(capsys.readouterr().out)
        for key, value in scored.items():
            if key not in ("groups",) and isinstance(value, float | None):
                assert value == metrics[key] or value == pytest.approx(metrics[key]), key  # NaN is stored as null
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert f"## {task}" in report and "| ethosagents |" in report and "stand-in" in report
    chart = (tmp_path / "report" / f"{task}.svg").read_text()
    assert chart.startswith("<svg") and f"]({task}.svg)" in report and chart.count("<rect") >= 5  # a bar for every method


def test_eval_resumes_with_the_same_command(fake, tmp_path, capsys):
    backend = fake("fake-resume")
    argv = [
        "eval",
        "--task",
        "distributional-moralchoice",
        "--data",
        str(FIXTURES),
        "--model",
        "fake-resume",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--method",
        "vanilla",
    ]
    assert main(argv) == 0
    calls = len(backend.chat.calls)
    assert main(argv) == 0
    assert len(backend.chat.calls) == calls  # nothing left to do: no model call


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--task", "overton-vk", "--data", "/no/where"], "--data /no/where does not exist"),
        (["eval", "--task", "overton-vk", "--data", str(FIXTURES), "--limit", "0"], "argument --limit: must be at least 1, got 0"),
        (["score", str(FIXTURES / "broken_item.sample.json")], "cannot tell the task of"),
        (
            ["score", str(FIXTURES / "broken_item.sample.json"), "--task", "distributional-globalopinionqa"],
            "item 0 (id 7): field 'options' must be a list of strings",
        ),
        (["report", "/no/runs"], "run directory not found: /no/runs"),
    ],
)
def test_eval_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ethos: error: ") and message in err[-1]


def test_tasks_and_methods_take_comma_lists_and_score_reads_evals_own_config(fake, tmp_path, capsys):
    spec, out = fake().spec, tmp_path / "runs"
    assert (
        main(
            [
                "eval",
                "--task",
                "steerable-opinionqa,distributional-moralchoice",
                "--method",
                "vanilla,prompting",
                "--data",
                str(FIXTURES),
                "--model",
                spec,
                "--n-personas",
                "2",
                "--out",
                str(out),
                "--no-progress",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [(r["task"], r["method"]) for r in rows] == [
        ("steerable-opinionqa", "vanilla"),
        ("steerable-opinionqa", "prompting"),
        ("distributional-moralchoice", "vanilla"),
        ("distributional-moralchoice", "prompting"),
    ]
    predictions = out / "distributional-moralchoice" / "prompting" / "predictions.json"
    assert main(["score", str(predictions)]) == 0  # no --task: eval's config.json beside the file says it
    printed = capsys.readouterr().out
    assert "distributional-moralchoice: JS distance" in printed and "  prompting " in printed


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ethos 0.")


def test_a_toml_config_holds_the_settings_and_flags_win(fake, tmp_path, capsys):
    config = tmp_path / "eval.toml"
    config.write_text(
        f'task = ["distributional-moralchoice"]\nmethod = ["vanilla", "prompting"]\ndata = "{FIXTURES}"\n'
        f'model = "{fake().spec}"\nn_personas = 2\nno_progress = true\njson = true\n'
    )
    assert main(["eval", "--config", str(config), "--method", "vanilla", "--out", str(tmp_path / "out")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["task"], r["method"]) for r in rows] == [("distributional-moralchoice", "vanilla")]  # the flag won over the file
    saved = json.loads((tmp_path / "out" / "vanilla" / "config.json").read_text())
    assert saved["context"]["n_personas"] == 2


@pytest.mark.parametrize(
    "line, message",
    [
        ("n_personas = 0", "'n_personas' must be between 1 and 24, got 0"),  # checked by Context's own field
        ("seed = 1.5", "'seed' must be an integer"),
        ("colour = 3", "unknown setting 'colour'"),
        ("no_progress = 1", "'no_progress' must be true or false"),
    ],
)
def test_a_bad_toml_config_is_one_line_naming_the_file_and_the_key(tmp_path, capsys, line, message):
    config = tmp_path / "eval.toml"
    config.write_text(f'task = ["distributional-moralchoice"]\ndata = "{FIXTURES}"\n{line}\n')
    assert main(["eval", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ethos: error: --config {config}: ") and message in err and "\n" not in err


def test_eval_without_a_task_says_where_it_can_come_from(capsys):
    assert main(["eval", "--data", str(FIXTURES)]) == 2
    assert "ethos eval needs --task (or `task` in the --config file)" in capsys.readouterr().err
