"""`--otel`: a run's spans reach a real OpenTelemetry receiver, Arize Phoenix, started on 127.0.0.1
by the test (from `.venv-phoenix`, which `.ci/run` makes; or `$ETHOS_PHOENIX`)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ethos.graph.telemetry import traces_endpoint

PHOENIX = Path(os.environ.get("ETHOS_PHOENIX") or Path(__file__).parents[2] / ".venv-phoenix" / "bin" / "phoenix")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory):
    if not PHOENIX.exists():
        pytest.skip(f"no Phoenix at {PHOENIX} (.ci/run installs it)")
    work, port = tmp_path_factory.mktemp("phoenix"), free_port()
    env = os.environ | {
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    server = subprocess.Popen([str(PHOENIX), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "Phoenix did not start"
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def spans(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/v1/projects/ethosagents/spans?limit=1000", timeout=10) as reply:
        return json.loads(reply.read())["data"]


def test_a_runs_spans_arrive_with_the_persona_comments_inside(phoenix, tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ethos.cli",
            "run",
            "--json",
            "--model",
            "fake",
            "--n-personas",
            "2",
            "--otel",
            phoenix,
            "A nurse is asked to hide a medication error.",
        ],
        env=os.environ | {"ETHOS_RUNS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    deadline = time.monotonic() + 30
    while not [s for s in spans(phoenix) if s["attributes"].get("session.id") == out["run_id"] and s["span_kind"] == "LLM"]:
        assert time.monotonic() < deadline, "no LLM span arrived"
        time.sleep(0.5)
    mine = [
        s
        for s in spans(phoenix)
        if s["context"]["trace_id"]
        in {t["context"]["trace_id"] for t in spans(phoenix) if t["attributes"].get("session.id") == out["run_id"]}
    ]
    names = {s["name"] for s in mine}
    assert {"ethos", "seed_personas", "persona_agent", "overton_moderator"} <= names  # the graph and each node
    llm = [s for s in mine if s["span_kind"] == "LLM"]
    assert len(llm) == out["usage"]["by_role"]["persona_agent"]["calls"] + 2  # every model call: agents, generator, moderator
    text = json.dumps([s["attributes"] for s in llm])
    assert all(c["text"] in text for c in out["comments"])  # the comments, inside the spans
    assert all("llm.token_count.completion" in s["attributes"] for s in llm)


def test_the_endpoint_comes_from_the_flag_or_the_standard_variables(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert traces_endpoint(None) is None
    assert traces_endpoint("http://127.0.0.1:6006") == "http://127.0.0.1:6006/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert traces_endpoint(None) == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom")
    assert traces_endpoint(None) == "http://collector:4318/custom"


def test_an_eval_items_spans_carry_its_run_id(phoenix, tmp_path):
    data = Path(__file__).parents[1] / "fixtures" / "vital_distributional_moralchoice.sample.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ethos.cli",
            "eval",
            "--model",
            "fake",
            "--task",
            "distributional-moralchoice",
            "--data",
            str(data),
            "--method",
            "vanilla",
            "--no-progress",
            "--otel",
            phoenix,
            "--out",
            str(tmp_path / "out"),
        ],
        env=os.environ | {"ETHOS_RUNS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    run_id = json.loads((tmp_path / "out" / "vanilla" / "results.jsonl").read_text().splitlines()[0])["run_id"]
    deadline = time.monotonic() + 30
    while not [s for s in spans(phoenix) if s["attributes"].get("session.id") == run_id and s["span_kind"] == "LLM"]:
        assert time.monotonic() < deadline, "no LLM span of the eval item arrived"
        time.sleep(0.5)
    calls = json.loads((tmp_path / "runs" / run_id / "record.json").read_text())["tokens"]["calls"]
    assert len([s for s in spans(phoenix) if s["attributes"].get("session.id") == run_id and s["span_kind"] == "LLM"]) == calls
