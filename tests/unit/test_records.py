import json

import pytest
from openai_stub import StubOpenAI

from ethos.agents.models.fake import PERSONA_LINES
from ethos.agents.prompts import comment_messages, overton_messages
from ethos.cli import main
from ethos.graph.context import Context
from ethos.graph.conversation import render_tree
from ethos.graph.nodes import call_seed
from ethos.graph.records import list_runs, load_record
from ethos.personas.schema import Persona
from ethos.personas.seed_prompt import persona_messages
from ethos.redaction import redact

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def run_json(capsys, *argv) -> dict:
    assert main(["run", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_record_holds_every_agents_exact_prompt_and_reply_in_its_place(fake, runs_dir, capsys):
    backend = fake()
    out = run_json(capsys, "--model", backend.spec, "--n-personas", "3", SITUATION)
    record = load_record(runs_dir, out["run_id"]).data
    assert record["status"] == "ok" and record["request"]["situation"] == SITUATION
    assert record["config"]["context"]["comment_tokens"] == 200 and record["config"]["cache"] is True
    conversation = record["conversation"]
    calls = backend.chat.calls
    assert len(conversation) == len(calls) == 1 + 3 + 1
    generator = conversation[0]
    assert generator["node"] == "seed_personas" and generator["role"] == "persona_generator"
    assert generator["messages"] == [list(m) for m in persona_messages(SITUATION, 3)]
    assert generator["reply"] == "\n".join(PERSONA_LINES[:3]) + "\n"  # constrained to exactly three lines
    assert generator["params"]["grammar"].startswith("root ::= line line line\n")
    agents = sorted((e for e in conversation if e["node"] == "persona_agent"), key=lambda e: e["persona_index"])
    for entry, persona, comment in zip(agents, record["personas"], record["comments"]):
        assert entry["messages"] == [list(m) for m in comment_messages(Persona(**persona), SITUATION, [])]
        assert entry["reply"].endswith(comment["text"][1:])  # the stored comment is the reply minus its opener
        seed = call_seed(Context(), record["request"], "persona_agent", entry["persona_index"])
        assert entry["params"] == {"max_tokens": 200, "temperature": 1.0, "seed": seed}
    moderator = conversation[-1]
    assert moderator["node"] == "overton_moderator" and moderator["messages"] == [
        list(m) for m in overton_messages(SITUATION, record["comments"])
    ]
    assert moderator["reply"] == record["result"]["response"]
    assert record["tokens"]["by_role"]["persona_agent"]["calls"] == 3 and record["tokens"]["output_tokens"] > 0
    # The tree puts each persona's exchange under that persona, between generator and moderator.
    tree = render_tree(record, full=True)
    assert (
        tree.index("persona generator")
        < tree.index("persona agent 1: The Truth Teller")
        < tree.index("persona agent 3: The Careful Clinician")
        < tree.index("overton moderator")
    )
    # The trace: each model exchange hangs under the graph step that made it, and is the record's own.
    lines = [json.loads(line) for line in (runs_dir / "runs" / out["run_id"] / "trace.jsonl").read_text().splitlines()]
    by_id = {line["id"]: line for line in lines}
    model_calls = [line for line in lines if line["kind"] == "exchange"]
    assert len(model_calls) == 5
    assert sorted(by_id[c["parent_id"]]["name"] for c in model_calls) == [
        "overton_moderator",
        "persona_agent",
        "persona_agent",
        "persona_agent",
        "seed_personas",
    ]
    assert sorted(
        json.dumps({k: v for k, v in c.items() if k not in ("kind", "id", "parent_id", "start", "end")}, sort_keys=True)
        for c in model_calls
    ) == sorted(json.dumps(e, sort_keys=True) for e in conversation)  # one exchange, written once, read the same everywhere


def test_a_cached_rerun_makes_no_model_calls(fake, capsys):
    backend = fake("fake-cache")
    first = run_json(capsys, "--model", "fake-cache", SITUATION)
    calls = len(backend.chat.calls)
    second = run_json(capsys, "--model", "fake-cache", SITUATION)
    assert len(backend.chat.calls) == calls
    assert second["usage"]["cached_calls"] == calls and second["result"] == first["result"]
    run_json(capsys, "--model", "fake-cache", "--no-cache", SITUATION)
    assert len(backend.chat.calls) == 2 * calls


def test_different_sample_indices_are_never_merged(fake, capsys):
    backend = fake("fake-seeds")
    run_json(capsys, "--model", "fake-seeds", SITUATION)
    calls = len(backend.chat.calls)
    run_json(capsys, "--model", "fake-seeds", "--seed", "1", SITUATION)
    assert len(backend.chat.calls) == 2 * calls  # a new seed is a new sample everywhere


def test_a_run_that_crashed_mid_fan_out_resumes_without_redoing_finished_agents(fake, runs_dir, capsys):
    def crash_on_second(prompt):
        if "Protective Child" in prompt:
            raise RuntimeError("power cut")
        return "We must be honest."

    fake("fake-crash", replies={"persona_agent": crash_on_second})
    assert main(["run", "--model", "fake-crash", "--n-personas", "3", SITUATION]) == 1  # a runtime failure
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "power cut" in error and "ethos run --resume" in error
    run_id = error.split("--resume ")[1].rstrip("`)")
    assert load_record(runs_dir, run_id).data["status"] == "failed"

    healed = fake("fake-crash")
    assert main(["run", "--resume", run_id]) == 0
    roles = [(c["role"], "Protective Child" in c["messages"][0][1]) for c in healed.chat.calls]
    assert roles == [("persona_agent", True), ("overton_moderator", False)]  # only the failed agent ran again
    record = load_record(runs_dir, run_id).data
    assert record["status"] == "ok" and len(record["comments"]) == 3


def test_runs_lists_recent_runs(fake, capsys):
    spec = fake().spec
    run_json(capsys, "--model", spec, SITUATION)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "overton" in out and "ok" in out and "A family asks a doctor" in out
    assert main(["runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "ok"


def test_price_table_gives_a_cost(fake, tmp_path, capsys):
    prices = tmp_path / "prices.json"
    spec = fake().spec
    prices.write_text(json.dumps({spec: {"input": 1000000.0, "output": 0.0}}))
    out = run_json(capsys, "--model", spec, "--prices", str(prices), SITUATION)
    input_tokens = sum(r["input_tokens"] for r in out["usage"]["by_role"].values())
    assert out["usage"]["cost_usd"] == pytest.approx(input_tokens)


def test_an_api_key_never_reaches_any_written_file(runs_dir, monkeypatch, capsys):
    secret = "sk-test-DO-NOT-LEAK-1234567890"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with StubOpenAI() as server:
        out = run_json(
            capsys,
            "--model",
            "openai:stub-model",
            "--base-url",
            server.url,
            "--n-personas",
            "2",
            "--mode",
            "distributional",
            "q?",
            "--option",
            "a",
            "--option",
            "b",
        )
        assert server.requests[0]["headers"]["authorization"] == f"Bearer {secret}"  # the key was really used
    assert out["result"]["per_persona"][0]["source"] == "logprobs"
    written = [p for p in runs_dir.rglob("*") if p.is_file()]
    assert any(p.name == "trace.jsonl" for p in written) and any(p.name == "cache.sqlite" for p in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    assert redact(f"key={secret}; Authorization: Bearer abcdefghijklmnop") == "key=[redacted]; Authorization: Bearer [redacted]"


def test_list_runs_skips_a_damaged_record(runs_dir):
    (runs_dir / "runs" / "x").mkdir(parents=True)
    (runs_dir / "runs" / "x" / "record.json").write_text("{cut")
    assert list_runs(runs_dir) == []


def test_secrets_are_redacted_by_pattern_as_well_as_by_value():
    text = (
        '{"base_url": "http://alice:pw123@host:8080/v1?api-key=abc123&v=2", "k": "sk-proj-0123456789", '
        '"t": "hf_AbCdEfGh1234", "ok": "http://127.0.0.1:9/v1"}'
    )
    assert redact(text) == (
        '{"base_url": "http://[redacted]@host:8080/v1?api-key=[redacted]&v=[redacted]", "k": "[redacted]", '
        '"t": "[redacted]", "ok": "http://127.0.0.1:9/v1"}'
    )


def test_a_run_on_an_endpoint_with_credentials_resumes_only_with_the_url_given_again(fake, runs_dir, capsys):
    def crash(prompt):
        raise RuntimeError("power cut")

    fake("fake-creds", replies={"persona_agent": crash})
    url = "http://user:secretpw@127.0.0.1:9/v1?key=abcdef"
    assert main(["run", "--model", "fake-creds", "--base-url", url, "--n-personas", "2", SITUATION]) == 1
    run_id = capsys.readouterr().err.strip().splitlines()[-1].split("--resume ")[1].rstrip("`)")
    assert "secretpw" not in load_record(runs_dir, run_id).path.read_text()
    fake("fake-creds")
    assert main(["run", "--resume", run_id]) == 2
    assert "used an endpoint with credentials, which are not saved: pass --base-url again" in capsys.readouterr().err
    assert main(["run", "--resume", run_id, "--base-url", url]) == 0


def test_records_go_in_runs_under_the_data_folder(monkeypatch, tmp_path):
    from ethos.cli import default_runs_dir

    monkeypatch.delenv("ETHOS_RUNS_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_runs_dir() == tmp_path / "ethosagents"  # records in ethosagents/runs/<id>, not runs/runs/<id>
    (tmp_path / "ethosagents" / "runs").mkdir(parents=True)
    (tmp_path / "ethosagents" / "runs" / "checkpoints.sqlite").touch()  # a folder of an earlier release
    assert default_runs_dir() == tmp_path / "ethosagents" / "runs"
