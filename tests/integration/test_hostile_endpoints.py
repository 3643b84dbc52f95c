"""An endpoint that is slow on purpose, sends too much, redirects, or writes escape sequences: every
case ends within its bound, with one line that names the endpoint, and nothing raw on the terminal."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai_stub import StubOpenAI

from ethos.cli import main

RUN = ["run", "--n-personas", "2", "--persona-attempts", "1", "--no-cache", "--max-retries", "0"]


def run_against(stub, capsys, *extra):
    started = time.monotonic()
    code = main([*RUN, "--model", "openai:stub", "--base-url", stub.url, *extra, "Should she be told?"])
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - started


@pytest.mark.parametrize(
    ("kind", "says", "bound"),
    [
        ("drip", "did not finish a reply within --timeout 2 s", 12),
        ("endless", "did not finish a reply within --timeout 2 s", 12),
        ("huge", "sent a reply larger than 8 MB", 30),
        ("redirect", "(a redirect, not followed)", 12),
    ],
)
def test_a_hostile_reply_ends_in_time_with_one_line(capsys, kind, says, bound):
    with StubOpenAI(hostile=kind) as stub:
        code, out, err, seconds = run_against(stub, capsys, "--timeout", "2")
    errors = [line for line in err.splitlines() if line.startswith("ethos: error")]
    assert code == 1 and len(errors) == 1 and says in errors[0] and seconds < bound, (err, seconds)
    assert all(r["path"] != "/v1/chat/completions" or "127.0.0.2" not in r["headers"].get("host", "") for r in stub.requests)


def test_a_huge_error_body_becomes_a_bounded_line(capsys, runs_dir):
    with StubOpenAI(hostile="error_body") as stub:
        code, out, err, seconds = run_against(stub, capsys, "--timeout", "10")
    assert code == 1 and "answered 500" in err and len(err) < 2500 and seconds < 10
    written = [p for p in (runs_dir / "runs").rglob("*") if p.is_file()]
    assert written and all(p.stat().st_size < 1_000_000 for p in written)  # the 5 MB body is not stored whole


def test_escape_sequences_from_a_model_never_reach_the_terminal(capsys):
    evil = "B. \x1b]0;owned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07 clear \u202eevil\x9b31m"
    with StubOpenAI(text=evil) as stub:
        code, out, err, _ = run_against(stub, capsys, "--timeout", "10")
        assert code == 0
        assert "\x1b" not in out + err and "\x07" not in out + err and "\u202e" not in out + err and "\x9b" not in out + err
        assert "\\u001b]0;owned" in out  # shown, as a visible escape
        assert main([*RUN, "--model", "openai:stub", "--base-url", stub.url, "--json", "Should she be told?"]) == 0
        printed = capsys.readouterr().out
        assert "\x9b" not in printed and json.loads(printed)["comments"][0]["text"].startswith("B.")  # --json stays valid JSON


@pytest.mark.parametrize("kind", ["bad_request", "unauthorized", "rate_limited"])
def test_a_4xx_with_a_big_body_is_one_bounded_line_without_the_key(capsys, runs_dir, monkeypatch, kind):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789abcdef")
    with StubOpenAI(hostile=kind) as stub:
        code, out, err, seconds = run_against(stub, capsys, "--timeout", "10")
    errors = [line for line in err.splitlines() if line.startswith("ethos: error")]
    says = {"bad_request": "answered 400", "unauthorized": "rejected the API key in OPENAI_API_KEY", "rate_limited": "answered 429"}[kind]
    assert code == 1 and len(errors) == 1 and says in errors[0] and len(err) < 2500 and seconds < 60
    assert "sk-test-secret" not in out + err and "\x1b" not in out + err
    stored = "".join(p.read_text(errors="replace") for p in (runs_dir / "runs").rglob("*") if p.is_file())
    assert "sk-test-secret" not in stored and len(stored) < 1_000_000


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_an_eval_within_seconds_with_items_in_flight_interrupted(tmp_path, presses):
    """Items wait on a hung endpoint (--timeout 60): Ctrl-C (once, or twice in a row) ends the
    process in seconds, with every item in flight recorded as interrupted, none as failed."""
    data = Path(__file__).parents[1] / "fixtures" / "vital_distributional_globalopinionqa.sample.json"
    runs, out = tmp_path / "runs", tmp_path / "out"
    with StubOpenAI(delay=60) as stub:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ethos.cli",
                "eval",
                "--task",
                "distributional-globalopinionqa",
                "--data",
                str(data),
                "--method",
                "vanilla",
                "--model",
                "openai:stub",
                "--base-url",
                stub.url,
                "--timeout",
                "60",
                "--runs-dir",
                str(runs),
                "--out",
                str(out),
                "--no-progress",
                "--no-cache",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OPENAI_API_KEY": "x"},
        )
        deadline = time.monotonic() + 60
        while not stub.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stub.requests, "no request reached the stub"
        started = time.monotonic()
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
        _, err = proc.communicate(timeout=30)
        seconds = time.monotonic() - started
    assert proc.returncode == 130 and seconds < 8, (err, seconds)
    assert "Traceback" not in err and "cannot schedule new futures" not in err
    statuses = [json.loads(p.read_text())["status"] for p in runs.glob("runs/*/record.json")]
    assert statuses and set(statuses) == {"interrupted"}, statuses
    assert not (out / "results.jsonl").exists() or (out / "results.jsonl").read_text() == ""  # they run again next time
