"""An endpoint that is slow on purpose, sends too much, redirects, or writes escape sequences: every
case ends within its bound, with one line that names the endpoint, and nothing raw on the terminal."""

import json
import time

import pytest

from ethos.cli import main
from openai_stub import StubOpenAI

RUN = ["run", "--n-personas", "2", "--persona-attempts", "1", "--no-cache", "--max-retries", "0"]


def run_against(stub, capsys, *extra):
    started = time.monotonic()
    code = main([*RUN, "--model", "openai:stub", "--base-url", stub.url, *extra, "Should she be told?"])
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - started


@pytest.mark.parametrize(("kind", "says", "bound"), [
    ("drip", "did not finish a reply within --timeout 2 s", 12),
    ("endless", "did not finish a reply within --timeout 2 s", 12),
    ("huge", "sent a reply larger than 8 MB", 30),
    ("redirect", "(a redirect, not followed)", 12),
])
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
