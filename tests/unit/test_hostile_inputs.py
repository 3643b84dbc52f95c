"""Outside values checked at the edge: persona weights, gold values, logprobs, names in any script,
input files without end, and output that shows escape sequences instead of obeying them."""

import json
import math
import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from ethos.agents.models.options import distribution_from_top_logprobs
from ethos.cli import main
from ethos.errors import EthosError
from ethos.evaluation.tasks import get_task
from ethos.graph.conversation import node_lines
from ethos.inputs import read_text
from ethos.personas.generation import is_duplicate
from ethos.personas.schema import Persona
from ethos.redaction import neutral, redact

SLOTS = {"core_value": "v", "framework": "f", "right_or_duty": "r", "emotion": "e", "stakeholder": "s"}


@pytest.mark.parametrize("weight", [math.inf, math.nan, 1e300, 0, -1])
def test_a_persona_weight_must_be_a_finite_positive_number(weight):
    with pytest.raises(ValidationError):
        Persona(name="P", weight=weight, **SLOTS)


def test_gold_values_whose_sum_overflows_are_refused():
    item = {"id": 1, "question": "q", "options": ["a", "b"], "attribute": "Japan", "gold_distribution": [1e308, 1e308]}
    with pytest.raises(EthosError, match="gold_distribution.*finite sum"):
        get_task("distributional-globalopinionqa").check_item(item, "f.json: item 0")


def test_nonsense_logprobs_count_as_absent_and_the_trace_still_prints():
    top = [
        {"token": "A", "logprob": 1000.0},
        {"token": "B", "logprob": float("nan")},
        {"token": "A", "logprob": math.log(0.2)},
        {"token": "B", "logprob": "x"},
        {"token": "B", "logprob": math.log(0.6)},
    ]
    assert distribution_from_top_logprobs(top, ["A", "B"]) == pytest.approx([0.25, 0.75])
    lines = node_lines(
        "moderator", [{"role": "m", "model": "x", "messages": [["human", "q"]], "reply": "A", "top_logprobs": top}], last=True
    )
    assert any("nan" in line for line in lines)


def test_names_in_any_script_are_told_apart():
    nurse, doctor = Persona(name="看護師", **SLOTS), Persona(name="医師", **{**SLOTS, "core_value": "w"})
    bangs, questions = Persona(name="!!!", **{**SLOTS, "core_value": "x"}), Persona(name="???", **{**SLOTS, "core_value": "y"})
    assert not is_duplicate(doctor, [nurse]) and not is_duplicate(questions, [bangs])
    assert is_duplicate(Persona(name="the truth-teller", **{**SLOTS, "core_value": "z"}), [Persona(name="The Truth Teller", **SLOTS)])


def test_an_input_file_without_end_is_refused_by_name(tmp_path):
    with pytest.raises(EthosError, match="/dev/zero: a device or socket, not a regular file"):
        read_text("/dev/zero", limit=1024)
    (tmp_path / "big.json").write_text("x" * 1025)
    with pytest.raises(EthosError, match="big.json: larger than"):
        read_text(tmp_path / "big.json", limit=1024)
    assert main(["run", "--model", "fake", "--persona-file", "/dev/zero", "x"]) == 2


@pytest.mark.parametrize("text", ["\x1b]0;title\x07", "\x1b[2J", "\x1b]52;c;ZXZpbA==\x07", "\x9b31m", "a\u202eb", "x\ry"])
def test_escape_sequences_are_shown_not_obeyed(text):
    shown = neutral(text)
    assert not any(c in shown for c in "\x1b\x07\x9b\u202e\r") and "\\u" in shown
    assert neutral("line\n\ttab") == "line\n\ttab"
    assert json.loads(json.dumps(shown))  # stays JSON-safe


def test_ethos_run_and_trace_show_a_models_escape_sequences(fake, capsys):
    backend = fake(replies={"overton_moderator": lambda prompt: "fine\x1b]0;owned\x07\x1b[2J"})
    assert main(["run", "--model", backend.spec, "--n-personas", "2", "Hide the error?"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\\u001b]0;owned" in out
    run_id = re.search(r"ethos trace ([\w-]+)", out + err)[1]
    assert main(["trace", run_id]) == 0
    assert "\x1b" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "url", ["postgresql://user:p#a/s?s@db:5432/x", "http://u:pa/ss@127.0.0.1:8080/v1", "https://k:secret@h/v1?api-key=abc"]
)
def test_passwords_with_url_characters_are_masked(url):
    assert "p#a" not in redact(url) and "pa/ss" not in redact(url) and "secret" not in redact(url) and "abc" not in redact(url)


@pytest.mark.parametrize(
    "line",
    [
        '{"id": 1, "status": "ok", "output": null, "distribution": "abc", "seconds": 1, "fallbacks": {}}',
        '{"id": 1, "status": "ok", "output": null, "distribution": [0.5, NaN], "seconds": 1, "fallbacks": {}}',
        '{"id": ' + "9" * 5000 + ', "status": "ok"}',
        "[" * 100000 + "]" * 100000,
    ],
)
def test_a_bad_results_line_is_skipped_counted_and_its_item_run_again(tmp_path, line):
    from ethos.evaluation.store import ResultStore

    (tmp_path / "results.jsonl").write_text(line + "\n")
    store = ResultStore(tmp_path)
    try:
        assert store.succeeded() == set() and store.repairs["unreadable_lines"] == 1
    finally:
        store.close()


def test_a_corrupt_cache_is_set_aside_and_rebuilt(tmp_path, capsys):
    from ethos.agents.models.cache import SqliteCallCache

    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = SqliteCallCache(path, "ns")
    cache.update("p", "l", [])
    assert cache.lookup("p", "l") == [] and len(list(tmp_path.glob("cache.sqlite.corrupt-*"))) == 1
    assert "was not a readable database" in capsys.readouterr().err


def test_a_corrupt_checkpoint_file_is_named(tmp_path, capsys):
    bad = tmp_path / "checkpoints.sqlite"
    bad.write_bytes(b"garbage" * 1000)
    assert main(["run", "--model", "fake", "--checkpointer", str(bad), "x"]) == 2
    assert f"--checkpointer {bad}: cannot open the SQLite file (file is not a database)" in capsys.readouterr().err


def test_the_report_quotes_data_text_as_text(fake, tmp_path, capsys):
    item = {
        "question": "Question: q?\nOptions: A. Yes B. No\nAnswer:",
        "options": ["Yes", "No"],
        "attribute": "Ja<img src=x onerror=alert(1)>|pan\n![x](http://beacon)",
        "gold_distribution": [0.5, 0.5],
        "id": 1,
    }
    data = tmp_path / "vital_distributional_globalopinionqa.x.json"
    data.write_text(json.dumps([item]))
    out = tmp_path / "out"
    assert (
        main(
            [
                "eval",
                "--task",
                "distributional-globalopinionqa",
                "--data",
                str(data),
                "--model",
                fake().spec,
                "--method",
                "vanilla",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "<img" not in report and "&lt;img" in report and "\\|pan" in report and "![x](http" not in report


@pytest.mark.parametrize(
    "odd",
    [
        '{"run_id": "x", "started": "yesterday", "tokens": [], "seconds": "slow", "request": "q"}',
        '{"run_id": "x", "started": Infinity, "seconds": NaN}',
        '{"run_id": "x", "started": ' + "9" * 5000 + "}",
        '{"run_id": "x", "request": ' + "[" * 100000 + "]" * 100000 + "}",
        "[1, 2]",
    ],
)
def test_one_odd_record_does_not_break_the_runs_listing(fake, runs_dir, capsys, odd):
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "A sound run."]) == 0
    folder = runs_dir / "runs" / "20200101-000000-odd000"
    folder.mkdir(parents=True)
    (folder / "record.json").write_text(odd)
    capsys.readouterr()
    assert main(["runs"]) == 0 and "A sound run." in capsys.readouterr().out
    assert main(["runs", "--json"]) == 0 and json.loads(capsys.readouterr().out)  # valid JSON: no bare NaN


def test_resume_refuses_a_finished_run_and_one_still_running(fake, runs_dir, capsys):
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "Done once."]) == 0
    run_id = re.search(r"ethos trace ([\w-]+)", "".join(capsys.readouterr()))[1]
    assert main(["run", "--resume", run_id]) == 2
    assert "finished: nothing to resume" in capsys.readouterr().err
    path = runs_dir / "runs" / run_id / "record.json"
    record = json.loads(path.read_text())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # another live process
    path.write_text(json.dumps(record | {"status": "running", "pid": sleeper.pid}))
    try:
        assert main(["run", "--resume", run_id]) == 2
        assert "is still running" in capsys.readouterr().err
    finally:
        sleeper.kill()


def test_otel_credentials_travel_as_headers_never_in_the_url():
    from ethos.graph.telemetry import _credentials_apart

    url, headers = _credentials_apart("http://user:p%2Fss@127.0.0.1:6006/v1/traces?api-key=abc")
    assert url == "http://127.0.0.1:6006/v1/traces" and headers["api-key"] == "abc" and headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("http://h/v1/keys/a1b2c3d4e5f6g7h8i9j0k1l2m3/x", "a1b2c3d4e5f6g7h8i9j0k1l2m3"),
        ("http://h/v1#token=zz9secret", "zz9secret"),
        ("http://h/v1;key=zz9secret/x", "zz9secret"),
        ("see ?api-key=zz9secret now", "zz9secret"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ],
)
def test_secrets_in_every_part_of_a_url_are_masked(text, secret):
    assert secret not in redact(text) and "[redacted]" in redact(text)
    assert redact("http://127.0.0.1:8080/v1/chat/completions") == "http://127.0.0.1:8080/v1/chat/completions"


def test_written_files_have_the_usual_permissions(tmp_path):
    import os

    from ethos.inputs import write_file

    write_file(tmp_path / "report.md", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o666 & ~mask  # as open() would make it, not 0600
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left
