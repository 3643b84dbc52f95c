"""Benchmark: wall time of `ethos eval` over 24 items at --max-concurrency 1, 4 and 8, against
(a) llama.cpp's OpenAI-compatible server running the embedded model on 127.0.0.1 and
(b) a deliberately slow OpenAI-compatible stub (fixed latency per request, like a remote API).

    .venv/bin/python bench/bench_concurrency.py [--items 24] [--delay 0.25]

Items are synthetic (VITAL GlobalOpinionQA schema), so no dataset is needed. Each item runs the
EthosAgents graph with 2 library personas and small budgets: 2 persona agents in parallel (each an
option choice and a comment), then 2 option-probability calls. The cache is off, so every call
reaches the server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from openai_stub import StubOpenAI  # noqa: E402
from servers import llama_server  # noqa: E402

# --protocol ethos: the figures stay comparable with earlier releases, and every call is a chat call
# (the reference protocol's raw prompts get no logprobs from llama-cpp-python's server when the
# model ends its reply at once, and are then sampled: ten calls where one was measured before).
SETTINGS = [
    "--method",
    "ethosagents",
    "--protocol",
    "ethos",
    "--n-personas",
    "2",
    "--persona-attempts",
    "1",
    "--persona-tokens",
    "40",
    "--comment-tokens",
    "24",
    "--no-cache",
    "--no-progress",
]
# The llama.cpp server leg uses library personas: its grammar sampler runs at about 1 token/s. The
# stub answers two persona lines, so its leg runs the generated method and never loads torch.
PERSONAS = {"llama": ["--personas", "library"], "stub": ["--personas", "generated"]}


def items_file(folder: Path, n: int) -> Path:
    items = [
        {
            "question": f"Question: How important is it that clinic number {i} opens on weekends?\nOptions: A. Very B. Somewhat C. Not at all\nAnswer:",
            "options": ["Very", "Somewhat", "Not at all"],
            "attribute": "Brazil",
            "gold_distribution": [0.5, 0.3, 0.2],
            "pred_distribution": None,
            "id": i,
        }
        for i in range(n)
    ]
    path = folder / "vital_distributional_globalopinionqa.bench.json"
    path.write_text(json.dumps(items))
    return path


def timed_eval(flags: list[str], out: Path, concurrency: int) -> tuple[float, dict]:
    """Wall seconds of one `ethos eval` process, and the metrics it wrote."""
    argv = [sys.executable, "-m", "ethos.cli", "eval", *flags, "--max-concurrency", str(concurrency), "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"bench: eval failed at concurrency {concurrency}: {proc.stderr[-800:]}")
    return wall, json.loads(next(out.rglob("metrics.json")).read_text())  # out/ethosagents+protocol-ethos/


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--delay", type=float, default=0.25, help="seconds the slow stub waits before each answer")
    parser.add_argument("--servers", default="llama,stub", help="which legs to run (default: llama,stub)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ethos-concurrency-"))
    data = items_file(work, args.items)
    legs = args.servers.split(",")
    print(f"{args.items} items, 2 personas each; wall seconds per run, process start included (lower is better)")
    print(f"{'server':<34}{'c=1':>9}{'c=4':>9}{'c=8':>9}  speed-up at 8, failed items")
    with contextlib.ExitStack() as stack:
        servers = []
        if "llama" in legs:
            servers.append(("llama", "llama.cpp server (embedded model)", stack.enter_context(llama_server()), None))
        if "stub" in legs:
            slow = stack.enter_context(StubOpenAI(delay=args.delay))
            servers.append(("stub", f"slow stub ({args.delay:.2f} s per request)", slow.url, slow))
        for key, name, url, stub in servers:
            walls, spans, failed = [], [], 0
            for c in (1, 4, 8):
                flags = [
                    "--task",
                    "distributional-globalopinionqa",
                    "--data",
                    str(data),
                    "--model",
                    "openai:bench",
                    "--base-url",
                    url,
                    "--runs-dir",
                    str(work / "runs"),
                    *SETTINGS,
                    *PERSONAS[key],
                ]
                wall, metrics = timed_eval(flags, work / f"{key}-{c}", c)
                walls.append(wall)
                failed += metrics["failed"] + metrics["missing"]
                if stub:  # the span from the first request to the last: concurrency without the process's fixed costs
                    times = sorted(r["time"] for r in stub.requests)
                    spans.append(times[-1] - times[0])
                    stub.requests.clear()
            print(f"{name:<34}" + "".join(f"{w:>9.1f}" for w in walls) + f"  x{walls[0] / walls[2]:.1f}, {failed}")
            if spans:
                print(f"{'  first to last request':<34}" + "".join(f"{w:>9.1f}" for w in spans) + f"  x{spans[0] / spans[2]:.1f}")


if __name__ == "__main__":
    main()
