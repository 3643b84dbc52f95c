"""The fourth attack's cases, each a clear one-line refusal (or the right reading) and never an
internal error: numbers of any size in flags and files, folders where files go, messages that name
what exists, redaction that masks secrets and nothing else, and a study's own inputs."""

from __future__ import annotations

import json
import time

import pytest
from tests_paths import FIXTURES

from ethos.cli import main
from ethos.redaction import redact

HUGE = "9" * 400


def _one_line(capsys, code: int, *argv: str) -> str:
    assert main(list(argv)) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err and len(err) < 600, err[:800]
    return err


def test_a_huge_integer_price_is_one_line(tmp_path, capsys):
    prices = tmp_path / "prices.json"
    prices.write_text(f'{{"fake": {{"input": {HUGE}, "output": 1}}}}')
    _one_line(capsys, 2, "run", "--model", "fake", "--n-personas", "2", "--prices", str(prices), "x")
    _one_line(capsys, 2, "eval", "--task", "steerable-vk", "--data", str(FIXTURES), "--model", "fake", "--prices", str(prices))


@pytest.mark.parametrize("flag", ["--seeds", "--limit", "--seed", "--n-personas"])
def test_a_5000_digit_number_in_a_flag_is_a_short_line(capsys, flag):
    command = ["study", "--models", "fake", "--methods", "vanilla", "--tasks", "steerable-vk", "--dry-run"] if flag == "--seeds" else (
        ["eval", "--task", "steerable-vk", "--data", str(FIXTURES), "--model", "fake"])  # fmt: skip
    err = _one_line(capsys, 2, *command, flag, "9" * 5000)
    assert flag in err


def _two_rows(tmp_path):  # a folder of two evaluated rows
    out = tmp_path / "o"
    assert main(["eval", "--task", "steerable-vk", "--data", str(FIXTURES), "--method", "vanilla,prompting", "--model", "fake",
                 "--no-progress", "-q", "--out", str(out)]) == 0  # fmt: skip
    return out


def test_huge_numbers_in_results_files_are_refused_or_skipped_by_name(tmp_path, capsys):
    out = _two_rows(tmp_path)
    metrics = out / "vanilla" / "metrics.json"
    metrics.write_text(metrics.read_text().replace('"n": 3', f'"n": {HUGE}', 1))
    _one_line(capsys, 2, "report", str(out), "--out", str(tmp_path / "r"))
    metrics.write_text(metrics.read_text().replace(f'"n": {HUGE}', '"n": 3', 1))
    scores = out / "vanilla" / "scores.json"
    stored = json.loads(scores.read_text())
    first = next(iter(stored["metrics"]["accuracy"]))
    scores.write_text(scores.read_text().replace(f'"{first}": {stored["metrics"]["accuracy"][first]}', f'"{first}": {HUGE}', 1))
    assert f"metrics.accuracy.{first}" in _one_line(capsys, 2, "report", str(out), "--out", str(tmp_path / "r"))
    results = out / "prompting" / "results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text("\n".join([lines[0].replace('"seconds": ', f'"seconds": {HUGE}, "was": ', 1), *lines[1:]]) + "\n")
    assert main(["eval", "--task", "steerable-vk", "--data", str(FIXTURES), "--method", "prompting", "--model", "fake",
                 "--no-progress", "-q", "--out", str(out)]) == 0  # fmt: skip
    assert "unreadable line(s) skipped" in capsys.readouterr().err  # the line is read as unreadable, and its item runs again


@pytest.mark.parametrize("flag", ["--item", "--prices", "--config", "study", "init"])
def test_a_folder_where_a_file_goes_is_named_as_a_folder(tmp_path, capsys, flag):
    folder = tmp_path / "adir"
    folder.mkdir()
    argv = {
        "--item": ["run", "--item", str(folder)],
        "--prices": ["run", "--model", "fake", "--prices", str(folder), "x"],
        "--config": ["eval", "--config", str(folder)],
        "study": ["study", str(folder), "--dry-run"],
        "init": ["data", "check", "--init", "--into", str(tmp_path)],
    }[flag]
    if flag == "init":  # a folder named as a task file
        (tmp_path / "vital_steerable_opinionqa.json").mkdir()
    err = _one_line(capsys, 2, *argv)
    assert "a folder" in err and ": 3" not in err


def test_suggestions_name_only_flags_the_command_has(capsys):
    assert "did you mean --out?" in _one_line(capsys, 2, "eval", "--outs", "x")
    assert "did you mean --json?" in _one_line(capsys, 2, "run", "--jsons", "x")
    err = _one_line(capsys, 2, "report", ".", "--runs-dir", "x")  # another command's flag: said so, not suggested as itself
    assert "`ethos report` has no --runs-dir" in err and "did you mean" not in err


def test_redaction_masks_secrets_not_metavariables_or_plain_fragments():
    assert redact("--set KEY=VALUE e.g.") == "--set KEY=VALUE e.g."
    assert redact("see https://github.com/ggml-org/llama.cpp/pull/13194#issuecomment-1").endswith("#issuecomment-1")
    assert redact("http://h/v1#token=zz9secret") == "http://h/v1#token=[redacted]"
    assert redact("?api_key=abc123&x=1").startswith("?api_key=[redacted]")


def test_the_study_help_shows_its_metavariables(capsys):
    assert main(["study", "--help"]) == 0
    assert "KEY=VALUE" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--set", "n_personas=[1,2]"], "--n-personas must be an integer, got [1, 2]"),
        (["--out", ""], "--out: an empty path"),
    ],
)
def test_a_studys_inputs_are_refused_by_name(tmp_path, capsys, extra, says):
    study = tmp_path / "s.toml"
    study.write_text(f'models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["steerable-vk"]\ndata = "{FIXTURES}"\n')
    assert says in _one_line(capsys, 2, "study", str(study), "--dry-run", *extra)


def test_an_empty_seed_list_is_named_as_empty(tmp_path, capsys):
    study = tmp_path / "s.toml"
    study.write_text(f'models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["steerable-vk"]\ndata = "{FIXTURES}"\nseeds = []\n')
    assert "`seeds` is empty" in _one_line(capsys, 2, "study", str(study), "--dry-run")


def test_two_files_of_one_task_in_a_data_folder_are_both_named(tmp_path, capsys):
    for name in ("vital_steerable_valuekaleidoscope.json", "vital_steerable_valuekaleidoscope.dev.json"):
        (tmp_path / name).write_text((FIXTURES / "vital_steerable_valuekaleidoscope.sample.json").read_text())
    err = _one_line(capsys, 2, "eval", "--task", "steerable-vk", "--data", str(tmp_path), "--model", "fake")
    assert "vital_steerable_valuekaleidoscope.dev.json and vital_steerable_valuekaleidoscope.json" in err


def test_a_huge_study_file_is_refused_before_the_page_is_drawn(tmp_path, capsys):
    table = {
        "task": "t",
        "metric": "jsd",
        "higher": False,
        "models": [f"m{i}" for i in range(20000)],
        "against": None,
        "seeds": 1,
        "rows": [],
    }
    (tmp_path / "study.json").write_text(json.dumps({"cells": [], "tables": [table]}))
    started = time.perf_counter()
    assert "at most 1,000" in _one_line(capsys, 2, "view", str(tmp_path))
    assert time.perf_counter() - started < 10
