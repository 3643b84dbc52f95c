"""Durable runs in a real PostgreSQL server, started by the test on 127.0.0.1 (Debian's
`postgresql`, as the `postgres` user, its data in a temporary folder).

- A run checkpointed there, killed mid-run, is resumed by a second process with another runs folder
  (another machine, as far as the run knows): only the unfinished persona agents run again.
- Runs on separate threads stay separate, and a second run on one thread starts afresh.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from servers import can_run_postgres, free_port, postgres_server

pytest.importorskip("langgraph.checkpoint.postgres")
pytestmark = pytest.mark.skipif(
    not can_run_postgres(), reason="needs Debian's postgresql package and root (to run it as the postgres user)"
)


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as uri:
        yield uri


def _run(*args: str) -> list[str]:
    return [sys.executable, "-m", "ethos.cli", "run", *args]


def test_a_run_killed_on_one_machine_resumes_on_another_from_the_database(postgres, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        _run(
            "A family asks the doctor to keep a diagnosis from their mother.",
            "--model",
            "fake:0.3",
            "--max-concurrency",
            "1",
            "--checkpointer",
            postgres,
            "--runs-dir",
            str(tmp_path / "a"),
        ),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed = ""
    deadline = time.monotonic() + 120
    # two persona agents done (in any order), four to go: a comment's heading line is "  N. Name:"
    while len(re.findall(r"^  \d\. [^:\n]+:$", printed, re.MULTILINE)) < 2:
        assert time.monotonic() < deadline and first.poll() is None, first.stderr.read() if first.poll() is not None else "timed out"
        printed += first.stdout.readline()
    # A finished agent's writes are saved by LangGraph's background writer, a few milliseconds after
    # its comment is streamed; the next agent needs two 0.3 s calls. Kill in between.
    time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    run_id = re.search(r"run (\S+) \.\.\.", first.stderr.read())[1]
    assert not (tmp_path / "b").exists()

    second = subprocess.run(
        _run("--resume", run_id, "--checkpointer", postgres, "--runs-dir", str(tmp_path / "b")),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr
    # What ran in the second process is in its trace: no persona generator, and only the agents unfinished at the kill.
    trace = [json.loads(line) for line in (tmp_path / "b" / "runs" / run_id / "trace.jsonl").read_text().splitlines()]
    models = [t for t in trace if t["kind"] == "exchange"]
    assert not [t for t in models if t["node"] == "seed_personas"]
    rerun = {t["persona_index"] for t in models if "persona_index" in t}
    done_before = {int(i) - 1 for i in re.findall(r"^  \[(\d)/6\]", printed, re.MULTILINE)}
    assert 1 <= len(rerun) <= 4 and not rerun & done_before, (rerun, done_before)
    record = json.loads((tmp_path / "b" / "runs" / run_id / "record.json").read_text())
    assert record["status"] == "ok" and record["resumed_from"] == "checkpointer"
    assert len(record["comments"]) == 6 and record["result"]["mode"] == "overton"
    assert record["request"]["situation"].startswith("A family asks")


def test_runs_on_separate_threads_stay_separate_and_a_thread_reused_starts_afresh(postgres, tmp_path):
    from ethos.graph.builder import build_graph
    from ethos.graph.checkpoints import open_checkpointer
    from ethos.graph.context import Context

    graph = build_graph().compile(checkpointer=open_checkpointer(postgres, tmp_path))
    settings = dict(generator_model="fake", agent_model="fake", moderator_model="fake")
    request = {"situation": "Should the family be told first?", "mode": "distributional", "options": ["Yes", "No"]}
    one, two = ({"configurable": {"thread_id": f"{name}-{time.time_ns()}"}} for name in ("one", "two"))
    graph.invoke(request, context=Context(**settings, method="modplural"), config=one)
    graph.invoke({**request, "situation": "Should the nurse decide?"}, context=Context(**settings, method="ethosagents"), config=two)
    first, second = graph.get_state(one).values, graph.get_state(two).values
    assert first["situation"] == "Should the family be told first?" and len(first["comments"]) == 6
    assert {p["source"] for p in first["personas"]} == {"community"}
    assert second["situation"] == "Should the nurse decide?" and "community" not in {p.get("source") for p in second["personas"]}
    again = graph.invoke(request, context=Context(**settings, method="vanilla", conversation_in_state=True), config=one)
    assert again["comments"] == [] and again["personas"] == [] and {e["node"] for e in again["conversation"]} == {"answer"}
    assert graph.get_state(two).values["comments"] == second["comments"]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    port = free_port()
    out = subprocess.run(
        _run(
            "A question.",
            "--model",
            "fake",
            "--checkpointer",
            f"postgresql://postgres:hunter2@127.0.0.1:{port}/x",
            "--runs-dir",
            str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.startswith(f"ethos: error: --checkpointer postgresql://127.0.0.1:{port}/x: cannot use the database")
    assert out.stderr.count("\n") == 1 and "hunter2" not in out.stderr + out.stdout
