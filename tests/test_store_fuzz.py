"""Fuzzed store files: every command that reads run records, results lines, metrics files or
SQLite files survives any single bad one: it skips or names it, and never fails with an internal
error or a traceback. The odd values are drawn from a fixed list, so every run tries the same."""

from __future__ import annotations

import json
import shutil

import pytest
from tests_paths import FIXTURES

from ethos.cli import main

DEEP = "[" * 5000 + "]" * 5000
ODD = {  # JSON text of values no writer of this project produces
    "huge_int": "1" * 5000,
    "deep": DEEP,
    "infinity": "Infinity",
    "nan": "NaN",
    "negative": "-1",
    "huge_float": "1e308",
    "null": "null",
    "empty_list": "[]",
    "empty_object": "{}",
    "text": '"not a date"',
    "bool": "true",
    "escape": json.dumps("\x1b]0;owned\x07\x1b[2J"),
    "list_of_text": '["a", "b"]',
}
RECORD_FIELDS = [
    "run_id",
    "kind",
    "status",
    "started",
    "finished",
    "seconds",
    "request",
    "config",
    "tokens",
    "result",
    "personas",
    "comments",
    "conversation",
    "fallbacks",
    "error",
    "eval",
    "host",
    "pid",
]
METRIC_FIELDS = [
    "task",
    "method",
    "n",
    "n_questions",
    "jsd",
    "jsd_ci",
    "most_likely_correct",
    "fallbacks",
    "failed",
    "seconds_per_item",
    "model",
    "ablations",
    "protocol",
    "categories",
    "groups",
]


def _no_internal_error(code: int, err: str, what: str) -> None:
    assert code in (0, 1, 2) and "internal error" not in err and "Traceback" not in err, (what, code, err[-400:])
    assert "\x1b" not in err, what


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """One real run and one real evaluation on the fake model, to spoil a field at a time."""
    root = tmp_path_factory.mktemp("good")
    runs = root / "runs"
    assert main(["run", "--model", "fake", "--n-personas", "2", "--runs-dir", str(runs), "--json", "Should she be told?"]) == 0
    assert (
        main(
            [
                "eval",
                "--model",
                "fake",
                "--task",
                "distributional-globalopinionqa",
                "--data",
                str(FIXTURES),
                "--method",
                "vanilla",
                "--n-personas",
                "2",
                "--out",
                str(root / "eval"),
                "--runs-dir",
                str(runs),
                "--no-progress",
                "--json",
            ]
        )
        == 0
    )
    record = next(p for p in runs.glob("runs/*/record.json") if json.loads(p.read_text())["kind"] == "run")
    return root, record


def test_a_bad_field_in_a_run_record_never_breaks_a_command(good, tmp_path, capsys):
    root, record = good
    text = record.read_text()
    data = json.loads(text)
    cases = 0
    for field in RECORD_FIELDS:
        for name, odd in ODD.items():
            runs = tmp_path / f"{field}-{name}"
            shutil.copytree(record.parent.parent.parent, runs, ignore=shutil.ignore_patterns("*.sqlite"))
            spoilt = runs / "runs" / record.parent.name / "record.json"
            spoilt.write_text(json.dumps({**data, field: "ODD"}, indent=1).replace('"ODD"', odd, 1))
            for argv in (
                ["runs"],
                ["runs", "--json"],
                ["runs", "--status", "ok"],
                ["trace", record.parent.name],
                ["trace", record.parent.name, "--json"],
                ["view", record.parent.name],
                ["trace", "last"],
            ):
                code = main([*argv, "--runs-dir", str(runs)])
                _no_internal_error(code, capsys.readouterr().err, f"{argv} with {field} = {name}")
                cases += 1
    assert cases == len(RECORD_FIELDS) * len(ODD) * 7


def test_a_bad_field_in_a_metrics_file_never_breaks_report_or_view(good, tmp_path, capsys):
    root, _ = good
    metrics = next((root / "eval").rglob("metrics.json"))
    data = json.loads(metrics.read_text())
    for field in METRIC_FIELDS:
        for name, odd in ODD.items():
            folder = tmp_path / f"{field}-{name}"
            shutil.copytree(root / "eval", folder)
            (folder / metrics.relative_to(root / "eval")).write_text(json.dumps({**data, field: "ODD"}).replace('"ODD"', odd, 1))
            for argv in (
                ["report", str(folder), "--out", str(tmp_path / "report")],
                ["view", str(folder), "--out", str(tmp_path / "v.html")],
            ):
                code = main(argv)
                _no_internal_error(code, capsys.readouterr().err, f"{argv[0]} with {field} = {name}")


def test_a_bad_results_line_is_skipped_named_and_its_item_run_again(good, tmp_path, capsys):
    root, _ = good
    results = next((root / "eval").rglob("results.jsonl"))
    line = json.loads(results.read_text().splitlines()[0])
    for field in ("id", "status", "distribution", "fallbacks", "seconds", "run_id", "output"):
        for name, odd in ODD.items():
            folder = tmp_path / f"{field}-{name}"
            shutil.copytree(root / "eval", folder)
            (folder / results.relative_to(root / "eval")).write_text(json.dumps({**line, field: "ODD"}).replace('"ODD"', odd, 1) + "\n")
            code = main(
                [
                    "eval",
                    "--model",
                    "fake",
                    "--task",
                    "distributional-globalopinionqa",
                    "--data",
                    str(FIXTURES),
                    "--method",
                    "vanilla",
                    "--n-personas",
                    "2",
                    "--out",
                    str(folder),
                    "--runs-dir",
                    str(tmp_path / "runs"),
                    "--no-progress",
                    "--json",
                ]
            )
            out, err = capsys.readouterr()
            _no_internal_error(code, err, f"eval with results {field} = {name}")
            assert code == 0 and json.loads(out)[0]["n"] == 1, (field, name, err)  # the fixture's one item, predicted


@pytest.mark.parametrize("name", ["cache.sqlite", "checkpoints.sqlite"])
def test_a_corrupt_sqlite_file_is_named_or_set_aside(tmp_path, capsys, name):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / name).write_bytes(b"this is not a database" * 100)
    code = main(["run", "--model", "fake", "--n-personas", "2", "--runs-dir", str(runs), "Should she be told?"])
    err = capsys.readouterr().err
    _no_internal_error(code, err, name)
    if name == "cache.sqlite":  # set aside and rebuilt: the run goes on
        assert code == 0 and "was not a readable database: moved to" in err
    else:
        assert code == 2 and str(runs / name) in err
