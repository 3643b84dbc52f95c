"""Benchmark: CPU per model call of the harness, beside the floor its stack sets. Each row is the
CPU this process spends per call against an OpenAI-compatible stub in another process (so the
stub's CPU is not counted), warm, one call at a time:

- the stack under a model call: stdlib `http.client`, `httpx`, the `openai` SDK (`post`, then
  `chat.completions.create`), and langchain-openai's `ChatOpenAI.invoke` with no callback;
- LangGraph: a graph of the EthosAgents shape (personas, two agents in parallel, a moderator)
  with nodes that do nothing, per item and per call at the harness's calls per item;
- the harness: `ethos eval` on synthetic items (as bench_server_throughput.py: 2 library personas,
  6 calls per item) at --max-concurrency 1 and 8.

    .venv/bin/python bench/bench_orchestration_floor.py [--calls 300] [--items 128]

A harness at N ms per call cannot go below the ChatOpenAI row plus the LangGraph row.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import operator
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from bench_concurrency import items_file  # noqa: E402
from bench_server_throughput import harness  # noqa: E402

# The tests' stub, kept alive between requests and without Nagle's delay (each reply is two writes).
SERVE = """
import sys, time, http.server
sys.path.insert(0, sys.argv[1])
http.server.BaseHTTPRequestHandler.protocol_version = "HTTP/1.1"
http.server.BaseHTTPRequestHandler.disable_nagle_algorithm = True
from openai_stub import StubOpenAI
with StubOpenAI() as stub:
    print(stub.url, flush=True)
    time.sleep(86400)
"""
BODY = {"model": "m", "messages": [{"role": "user", "content": "Say one thing about weekend clinics."}], "max_tokens": 8}


@contextlib.contextmanager
def stub_process():
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(ROOT / "tests")], stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def per_call(fn, calls: int) -> float:
    """Milliseconds of this process's CPU per call of `fn`, after a warm-up."""
    for _ in range(max(calls // 10, 5)):
        fn()
    started = time.process_time()
    for _ in range(calls):
        fn()
    return 1000 * (time.process_time() - started) / calls


def stack_rows(url: str, calls: int) -> list[tuple[str, float]]:
    import http.client
    import urllib.parse

    import httpx
    import openai
    from langchain_openai import ChatOpenAI

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)

    def stdlib():
        connection.request("POST", parts.path + "/chat/completions", json.dumps(BODY), {"content-type": "application/json"})
        return json.loads(connection.getresponse().read())

    client = httpx.Client()
    sdk = openai.OpenAI(base_url=url, api_key="unused", http_client=httpx.Client())
    chat = ChatOpenAI(base_url=url, api_key="unused", model="m", max_tokens=8)
    prompt = BODY["messages"][0]["content"]
    return [
        ("http.client POST", per_call(stdlib, calls)),
        ("httpx POST", per_call(lambda: client.post(url + "/chat/completions", json=BODY).json(), calls)),
        ("openai SDK post", per_call(lambda: sdk.post("/chat/completions", body=BODY, cast_to=httpx.Response).json(), calls)),
        ("openai SDK chat.completions.create", per_call(lambda: sdk.chat.completions.create(**BODY), calls)),
        ("ChatOpenAI.invoke, no callback", per_call(lambda: chat.invoke(prompt), calls)),
    ]


def graph_per_item(calls: int) -> float:
    """An empty graph of the EthosAgents shape: personas, a Send per agent, a moderator."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    class State(TypedDict, total=False):
        question: str
        personas: list
        comments: Annotated[list, operator.add]
        answer: str

    graph = StateGraph(State)
    graph.add_node("seed_personas", lambda state: {"personas": ["a", "b"]})
    graph.add_node("persona_agent", lambda state: {"comments": [state["persona"]]})
    graph.add_node("moderator", lambda state: {"answer": " ".join(state["comments"])})
    graph.add_edge(START, "seed_personas")
    graph.add_conditional_edges("seed_personas", lambda state: [Send("persona_agent", {"persona": p}) for p in state["personas"]])
    graph.add_edge("persona_agent", "moderator")
    graph.add_edge("moderator", END)
    app = graph.compile()
    return per_call(lambda: app.invoke({"question": "q", "comments": []}), calls)


def harness_per_call(url: str, data: Path, work: Path, concurrency: int) -> float:
    """CPU per model call of `ethos eval` in this process, warm (a first run loads what it needs);
    each run in a folder of its own, as a folder's finished items are not run again."""
    harness(data, url, concurrency, work / f"warm-{concurrency}")
    timed = harness(data, url, concurrency, work / f"timed-{concurrency}")
    return 1000 * timed["cpu"] / timed["calls"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per stack row")
    parser.add_argument("--items", type=int, default=128, help="items per harness row")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ethos-floor-"))
    data = items_file(work, args.items)
    calls_per_item = 6
    with stub_process() as url:
        rows = stack_rows(url, args.calls)
        item = graph_per_item(args.calls)
        rows.append((f"LangGraph, empty graph of the same shape (per call at {calls_per_item} per item)", item / calls_per_item))
        for concurrency in (1, 8):
            rows.append((f"ethos eval, --max-concurrency {concurrency}", harness_per_call(url, data, work, concurrency)))
    print(
        f"CPU of this process per model call (stub in another process; {args.calls} calls per stack row, {args.items} items per eval row)"
    )
    for name, ms in rows:
        print(f"  {name:<72} {ms:7.2f} ms")
    print(f"  LangGraph per item: {item:.2f} ms")


if __name__ == "__main__":
    main()
