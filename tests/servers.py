"""Start real servers on 127.0.0.1 for tests and benchmarks, and stop them afterwards."""

from __future__ import annotations

import contextlib
import json
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
def serving(
    command: list[str], ready_url: str, *, env: dict | None = None, cwd: Path | None = None, timeout: float = 120, log: Path | None = None
):
    """Run `command` until `ready_url` answers; stop it (and its children) on exit."""
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        command, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
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
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(embedded_gguf_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_ctx",
        "4096",
    ]
    with serving(command, f"http://127.0.0.1:{port}/v1/models"):
        yield f"http://127.0.0.1:{port}/v1"


@contextlib.contextmanager
def langgraph_dev(workdir: Path, env: dict, jobs: int = 4):
    """`langgraph dev` serving this repository's graph, with no outside connection."""
    port = free_port()
    (workdir / "langgraph.json").write_text(
        json.dumps(
            {
                "dependencies": [str(ROOT)],
                "graphs": {"ethos": f"{ROOT}/graph/served.py:graph"},
                "http": {"app": f"{ROOT}/graph/served_http.py:app"},
            }
        )
    )
    command = [
        str(Path(sys.executable).parent / "langgraph"),
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n-jobs-per-worker",
        str(jobs),
    ]
    env = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "1", **env}
    with serving(command, f"http://127.0.0.1:{port}/ok", env=env, cwd=workdir, log=workdir / "langgraph-dev.log"):
        yield f"http://127.0.0.1:{port}"


POSTGRES_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def can_run_postgres() -> bool:
    """Debian's server, run as the `postgres` user (which needs root to switch to)."""
    import shutil

    return POSTGRES_BIN is not None and os.geteuid() == 0 and shutil.which("runuser") is not None


@contextlib.contextmanager
def postgres_server():
    """A throw-away PostgreSQL server on 127.0.0.1; yields its URI."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="ethos-pg-"))  # not under pytest's folders, which only root may enter
    shutil.chown(tmp, "postgres")
    port, as_postgres = free_port(), ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run(
            [*as_postgres, str(POSTGRES_BIN / "initdb"), "-D", str(tmp / "data"), "-U", "postgres", "--auth=trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *as_postgres,
                str(POSTGRES_BIN / "pg_ctl"),
                "-D",
                str(tmp / "data"),
                "-l",
                str(tmp / "log"),
                "-w",
                "start",
                "-o",
                f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(POSTGRES_BIN / "pg_ctl"), "-D", str(tmp / "data"), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def ray_cluster(workers: int = 2, cpus_per_worker: int = 1):
    """A Ray head (no CPUs of its own, so actors go to the workers) and `workers` worker nodes, joined
    over 127.0.0.1 with token authentication; yields {"address", "env"} for the processes that join it."""
    import secrets
    import shutil
    import signal
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="ethos-ray-"))
    (tmp / "token").write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(tmp / "token"), "RAY_USAGE_STATS_ENABLED": "0"}
    ray, port = str(Path(sys.executable).with_name("ray")), free_port()
    common = ["--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    try:
        subprocess.run(
            [
                ray,
                "start",
                "--head",
                "--port",
                str(port),
                "--num-cpus",
                "0",
                "--include-dashboard",
                "false",
                "--temp-dir",
                str(tmp / "r"),
                *common,
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        for _ in range(workers):
            subprocess.run(
                [ray, "start", "--address", f"127.0.0.1:{port}", "--num-cpus", str(cpus_per_worker), *common],
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        yield {"address": f"127.0.0.1:{port}", "env": env}
    finally:
        # `ray stop` would stop every Ray process on the machine: stop only this cluster's. They carry
        # its token path in their environment, hold files in its folder, or (the worker nodes'
        # agents) name their raylet's pid.
        environ, files = {}, {}
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if proc.name.isdigit():
                    environ[int(proc.name)] = set((proc / "environ").read_bytes().split(b"\0"))
                    files[int(proc.name)] = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        ours = {pid for pid, env in environ.items() if f"RAY_AUTH_TOKEN_PATH={tmp / 'token'}".encode() in env}
        ours |= {pid for pid, paths in files.items() if any(path.startswith(str(tmp)) for path in paths)}
        ours |= {pid for pid, env in environ.items() if any(f"RAY_RAYLET_PID={raylet}".encode() in env for raylet in ours)}
        for pid in ours - {os.getpid()}:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
