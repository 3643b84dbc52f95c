"""Start real servers on 127.0.0.1 for tests and benchmarks, and stop them afterwards."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(command: list[str], ready_url: str, *, env: dict | None = None, cwd: Path | None = None, timeout: float = 120, log: Path | None = None):
    """Run `command` until `ready_url` answers; stop it (and its children) on exit."""
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(command, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {proc.returncode} before it was ready" + (f"; see {log}" if log else ""))
            try:
                urllib.request.urlopen(ready_url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{' '.join(command)} not ready after {timeout} s") from None
                time.sleep(0.3)
        yield proc
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        if log:
            out.close()


@contextlib.contextmanager
def llama_server(threads: int = 2):
    """The embedded GGUF behind llama-cpp-python's OpenAI-compatible server."""
    from ethos.agents.models.embedded import embedded_gguf_path

    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf_path()), "--host", "127.0.0.1",
               "--port", str(port), "--n_threads", str(threads), "--n_ctx", "4096"]
    with serving(command, f"http://127.0.0.1:{port}/v1/models"):
        yield f"http://127.0.0.1:{port}/v1"


@contextlib.contextmanager
def langgraph_dev(workdir: Path, env: dict, jobs: int = 4):
    """`langgraph dev` serving this repository's graph, with no outside connection."""
    port = free_port()
    (workdir / "langgraph.json").write_text(
        '{"dependencies": ["%s"], "graphs": {"ethos": "%s/graph/builder.py:graph"}}' % (ROOT, ROOT)
    )
    command = [str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
               "--port", str(port), "--n-jobs-per-worker", str(jobs)]
    env = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "1", **env}
    with serving(command, f"http://127.0.0.1:{port}/ok", env=env, cwd=workdir, log=workdir / "langgraph-dev.log"):
        yield f"http://127.0.0.1:{port}"
