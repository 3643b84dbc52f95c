"""Benchmark: can the harness keep a continuous-batching inference server busy? Model calls and
tokens per second of `ethos eval` against llama.cpp's own C++ `llama-server` (`--parallel` slots,
continuous batching, on 127.0.0.1: the stand-in for vLLM or SGLang), at --max-concurrency 1, 8 and
32, against the server's ceiling: a plain async client sending the same requests (recorded from
the harness's own run, bodies as sent) with as many in flight as the harness had at most.

    bash bench/build_llama_server.sh            # once: builds llama-server from llama-cpp-python's sdist
    .venv/bin/python bench/bench_server_throughput.py --server-bin /tmp/llama-server/build/bin/llama-server

Items are synthetic (VITAL GlobalOpinionQA schema), as in bench_concurrency.py: each runs the
EthosAgents graph with 2 library personas (2 agents in parallel, then 2 option-probability calls).
Orchestration CPU is the harness process's CPU time over its items, per model call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from bench_concurrency import SETTINGS, items_file  # noqa: E402
from servers import free_port, serving  # noqa: E402


@contextlib.contextmanager
def llama_cpp_server(binary: str, slots: int, threads: int, ctx_per_slot: int = 1024):
    from ethos.agents.models.embedded import embedded_gguf_path

    port = free_port()
    command = [binary, "-m", str(embedded_gguf_path()), "--host", "127.0.0.1", "--port", str(port), "--parallel", str(slots),
               "-c", str(slots * ctx_per_slot), "-t", str(threads), "--log-disable"]  # fmt: skip
    with serving(command, f"http://127.0.0.1:{port}/v1/models"):
        yield f"http://127.0.0.1:{port}/v1"


class Recorder:
    """Every request body the harness sends (httpx's transport, patched in this process), and the peak in flight."""

    def __init__(self):
        import httpx

        self.bodies, self.in_flight, self.peak, self._lock = [], 0, 0, threading.Lock()
        original = httpx.HTTPTransport.handle_request
        recorder = self

        def handle_request(transport, request):
            with recorder._lock:
                recorder.bodies.append((request.url.path, request.content))
                recorder.in_flight += 1
                recorder.peak = max(recorder.peak, recorder.in_flight)
            try:
                return original(transport, request)
            finally:
                with recorder._lock:
                    recorder.in_flight -= 1

        httpx.HTTPTransport.handle_request = handle_request


def harness(data: Path, url: str, concurrency: int, work: Path) -> dict:
    """`ethos eval` in this process: wall and CPU seconds, calls and completion tokens."""
    from ethos.cli import main

    out = work / f"harness-{concurrency}"
    argv = ["eval", "--task", "distributional-globalopinionqa", "--data", str(data), "--model", "openai:bench", "--base-url", url,
            "--runs-dir", str(work / "runs"), *SETTINGS, "--personas", "library", "--max-concurrency", str(concurrency),
            "--out", str(out), "-q"]  # fmt: skip
    cpu, wall = time.process_time(), time.perf_counter()
    code = main(argv)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if code:
        raise SystemExit(f"bench: eval failed at concurrency {concurrency}")
    metrics = json.loads(next(out.rglob("metrics.json")).read_text())
    return {"wall": wall, "cpu": cpu, "calls": metrics["usage"]["calls"], "tokens": metrics["usage"]["output_tokens"]}


def ceiling(url: str, bodies: list[tuple[str, bytes]], concurrency: int) -> dict:
    """The same requests from a plain async client, `concurrency` in flight."""
    import httpx

    base = url.removesuffix("/v1")

    async def run() -> dict:
        gate, tokens = asyncio.Semaphore(concurrency), 0
        async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=concurrency)) as client:

            async def send(path: str, body: bytes) -> None:
                nonlocal tokens
                async with gate:
                    reply = await client.post(base + path, content=body, headers={"content-type": "application/json"})
                    reply.raise_for_status()
                    tokens += (reply.json().get("usage") or {}).get("completion_tokens", 0)

            started = time.perf_counter()
            await asyncio.gather(*(send(path, body) for path, body in bodies))
            return {"wall": time.perf_counter() - started, "calls": len(bodies), "tokens": tokens}

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True, help="llama.cpp's llama-server binary")
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--slots", type=int, default=32, help="the server's --parallel slots")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ethos-throughput-"))
    data = items_file(work, args.items)
    recorder = Recorder()
    print(
        f"{args.items} items (EthosAgents, 2 library personas, --protocol ethos); llama-server, {args.slots} slots, {args.threads} threads"
    )
    print(f"{'c':>3} {'harness calls/s':>16} {'ceiling calls/s':>16} {'ratio':>6} {'harness tok/s':>14} {'ceiling tok/s':>14} "
          f"{'peak in flight':>15} {'CPU ms/call':>12}")  # fmt: skip
    with llama_cpp_server(args.server_bin, args.slots, args.threads) as url:
        ceiling(url, [("/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}).encode())], 1)
        for c in (int(v) for v in args.concurrency.split(",")):
            recorder.bodies.clear()
            recorder.peak = 0
            ours = harness(data, url, c, work)
            bodies = [b for b in recorder.bodies if b[0].endswith("completions")]
            top = ceiling(url, bodies, max(recorder.peak, c))
            print(f"{c:>3} {ours['calls'] / ours['wall']:>16.1f} {top['calls'] / top['wall']:>16.1f} "
                  f"{(ours['calls'] / ours['wall']) / (top['calls'] / top['wall']):>6.2f} {ours['tokens'] / ours['wall']:>14.1f} "
                  f"{top['tokens'] / top['wall']:>14.1f} {recorder.peak:>15} {1000 * ours['cpu'] / max(ours['calls'], 1):>12.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
