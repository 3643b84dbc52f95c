"""The study's dry run with the real models named (issue 39): with `embedded` first and with an
`openai:` model at a local endpoint first, the requests that endpoint receives, the dry run's time
and its peak memory (RSS of the process), and whether the two orders give the same estimate. Run it
on this tree, or on another checkout with `--tree DIR` (a folder holding an `ethos` checkout).

    .venv/bin/python bench/bench_dry_run.py --data ../shared/vital
    .venv/bin/python bench/bench_dry_run.py --data ../shared/vital --tree /tmp/before
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from openai_stub import StubOpenAI  # noqa: E402  (the tests' local endpoint: it counts what it receives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the VITAL folder")
    parser.add_argument("--tree", type=Path, help="a folder whose `ethos` checkout runs instead of the installed one")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    env = os.environ | ({"PYTHONPATH": str(args.tree)} if args.tree else {})
    work = Path(tempfile.mkdtemp(prefix="dry-run-"))
    print(f"{'first model':<12}{'requests':>10}{'seconds':>9}{'peak MB':>9}  exit  estimate lines")
    estimates = []
    with StubOpenAI() as endpoint:
        endpoint_model = f'{{spec = "openai:m", base_url = "{endpoint.url}"}}'
        for first, models in (("embedded", f'["embedded", {endpoint_model}]'), ("endpoint", f'[{endpoint_model}, "embedded"]')):
            study = work / f"{first}.toml"
            study.write_text(
                f'models = {models}\nmethods = ["vanilla", "modplural", "ethosagents"]\ntasks = ["distributional-moralchoice"]\n'
                f'seeds = [0, 1]\nlimit = 4\ndata = "{args.data.resolve()}"\n'
            )
            before = len(endpoint.requests)
            started = time.perf_counter()
            peak_file = work / f"{first}.rss"
            # GNU time's %M: this command's own peak resident memory, in KB
            argv = ["/usr/bin/time", "-o", str(peak_file), "-f", "%M", sys.executable, "-m", "ethos.cli", "study", str(study), "--dry-run"]
            try:
                done = subprocess.run(
                    [*argv, "--out", str(work / first)], env=env, cwd=work, capture_output=True, text=True, timeout=args.timeout
                )
                code, out = done.returncode, done.stdout
            except subprocess.TimeoutExpired:
                code, out = "timeout", ""
            seconds = time.perf_counter() - started
            peak = int(peak_file.read_text().split()[-1]) / 1024 if peak_file.exists() else float("nan")
            lines = sorted(line.split() for line in out.splitlines() if line.startswith(("m ", "embedded ")))
            estimates.append(lines)
            print(f"{first:<12}{len(endpoint.requests) - before:>10}{seconds:>9.1f}{peak:>9.0f}  {code!s:>4}  {len(lines)}")
    print(f"the same estimate in either order: {estimates[0] == estimates[1] and bool(estimates[0])}")


if __name__ == "__main__":
    main()
