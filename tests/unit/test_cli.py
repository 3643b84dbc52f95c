import json

import pytest
from tests_paths import FIXTURES

from ethos.cli import main

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def run_json(capsys, *argv):
    assert main(["run", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_result_of_each_mode(fake, capsys):
    spec = fake().spec
    out = run_json(capsys, "--model", spec, SITUATION)
    assert out["mode"] == "overton" and len(out["comments"]) == 6 and out["result"]["response"]
    assert out["usage"]["new_tokens"] > 0 and out["fallbacks"]["library_personas"] == 0
    out = run_json(capsys, "--model", spec, "--mode", "steerable", "--target", "Right to know", "Should she be told?")
    assert out["result"]["selected_persona"] == "The Truth Teller"
    out = run_json(capsys, "--model", spec, "--mode", "distributional", "q?", "--option", "yes", "--option", "no", "--n-personas", "4")
    assert len(out["result"]["per_persona"]) == 4 and sum(out["result"]["distribution"]) == pytest.approx(1)


def test_human_output_streams_personas_comments_and_result(fake, capsys):
    assert main(["run", "--model", fake().spec, SITUATION]) == 0
    out = capsys.readouterr().out
    comments = out.index("Comments, in the order the persona agents finish (numbered as the personas above; an opening")
    assert out.index("Personas: 6") < comments < out.index("  1. The Truth Teller:\n", comments) < out.index("Overton response:")
    assert "Fallbacks: none" in out


@pytest.mark.parametrize(
    ("name", "mode", "key"),
    [
        ("vital_overton_valuekaleidoscope.sample.json", "overton", "response"),
        ("vital_steerable_valuekaleidoscope.sample.json", "steerable", "distribution"),
        ("vital_steerable_opinionqa.sample.json", "steerable", "distribution"),
        ("vital_distributional_moralchoice.sample.json", "distributional", "per_persona"),
        ("vital_distributional_globalopinionqa.sample.json", "distributional", "per_persona"),
    ],
)
def test_items_in_every_vital_schema_run(fake, capsys, name, mode, key):
    out = run_json(capsys, "--model", fake().spec, "--n-personas", "2", "--item", str(FIXTURES / name))
    assert out["mode"] == mode and key in out["result"]


def test_single_option_item_runs(fake, capsys):
    out = run_json(capsys, "--model", fake().spec, "--item", str(FIXTURES / "vital_steerable_opinionqa.sample.json"), "--index", "1")
    assert out["options"] == ["A great deal"] and out["result"]["distribution"]["probs"] == [1.0]


def test_a_single_option_is_a_distribution_of_one(fake, capsys):
    out = run_json(capsys, "--model", fake().spec, "--mode", "distributional", "Do you agree?", "--option", "Yes")
    assert out["result"]["distribution"] == [1.0]


def test_trace_shows_each_agents_conversation_live(fake, capsys):
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--trace", "A patient refuses a transfusion."]) == 0
    out = capsys.readouterr().out
    assert "persona generator (1 attempt(s))" in out and "overton moderator" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", ""], "the situation or question text is empty"),
        (["run", "--mode", "steerable", "x"], "steerable mode needs a target"),
        (["run", "--mode", "distributional", "x"], "distributional mode needs the answer options"),
        (["run", "--model", "hf:/no/such/dir", "x"], "model directory not found: /no/such/dir"),
        (["run", "--model", "gguf:/no/such.gguf", "x"], "model file not found: /no/such.gguf"),
        (
            ["run", "--model", "fake", "--base-url", "http://127.0.0.1:9", "--model", "openai:m", "--max-retries", "0", "x"],
            "cannot reach the model endpoint at http://127.0.0.1:9",
        ),
        (["run", "--item", "/no/such.json"], "item file not found: /no/such.json"),
        (["run", "--item", str(FIXTURES / "broken_item.sample.json")], "broken_item.sample.json: item 0 (id 7): missing field 'options'"),
        (["run", "--item", str(FIXTURES / "vital_overton_valuekaleidoscope.sample.json"), "--index", "9"], "--index 9 is out of range"),
        (["run", "--n-personas", "0", "x"], "argument --n-personas: must be between 1 and 24, got 0"),
        (["run", "--model", "llama", "x"], "unknown model 'llama'"),
    ],
)
def test_errors_are_one_line_with_non_zero_exit(capsys, argv, message):
    assert main(argv) == (1 if "cannot reach" in message else 2)  # a runtime failure, not a usage error
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ethos: error: ") and message in err[-1]


def test_the_counters_agree_with_the_listing_and_mostly_fallback_results_are_flagged(fake, capsys):
    spec = fake(constraints=(), replies={"persona_generator": lambda prompt: "nothing useful"}).spec
    out = run_json(capsys, "--model", spec, "--n-personas", "6", "--mode", "steerable", "--target", "Right to privacy", SITUATION)
    sources = [p["source"] for p in out["personas"]]
    report = out["persona_report"]
    assert sources.count("library") == report["topped_up"] == out["fallbacks"]["library_personas"] == 5
    assert sources.count("target") == report["target_added"] == 1
    assert main(["run", "--model", spec, "--n-personas", "6", SITUATION]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ethos: warning:")]
    assert warning == [
        "ethos: warning: 6 of 6 personas are library top-ups, not generated: the result says little about the model's own "
        "perspectives (a larger --model or --generator-model, more --persona-tokens, or --personas hybrid help)"
    ]
    assert main(["run", "--model", fake().spec, "--n-personas", "6", SITUATION]) == 0
    assert "warning" not in capsys.readouterr().err  # a run of generated personas is not flagged


def test_personas_list_shows_a_table_with_a_header_and_roles_shows_the_roles(capsys):
    assert main(["personas", "list", "--roles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("moderators (--mode): ") and "overton" in lines[0]
    assert lines[1].startswith("persona agents (--agent-variant): ") and len(lines) == 3
    assert main(["personas", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "source", "stakeholder"] and len(lines) > 20


@pytest.mark.parametrize("no_color", [False, True])
def test_tables_are_coloured_on_a_terminal_and_plain_with_no_color(fake, capsys, monkeypatch, no_color):
    import sys

    run_json(capsys, "--model", fake().spec, "--n-personas", "2", SITUATION)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert ("\x1b[" in out and "━" in out) != no_color  # ANSI colour and box rules, or neither
    assert "A family asks a doctor" in out


def test_quiet_and_verbose(fake, capsys):
    spec = fake().spec
    assert main(["run", "-q", "--model", spec, "--n-personas", "2", SITUATION]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and "Overton response:" in quiet.out  # results only
    assert main(["run", "-v", "--model", spec, "--n-personas", "2", SITUATION]) == 0
    calls = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ethos: persona agent on ")]
    assert len(calls) == 2 and all("new tokens in" in line for line in calls)
