"""Bad input and secrets, before and after: the fuzz suite's cases and the secrets scenario run on
this checkout and, with `--before DIR`, on an earlier one (a `git worktree`), side by side.

Per version it prints: cases run, tracebacks (an exception that escaped, or "Traceback" or
"internal error" printed), cases whose error is not one line naming what the case expects, exit
statuses other than the expected one, and secrets found in files written or lines printed.

    python bench/bench_hardening.py --before /tmp/ethos-before
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def measure_fuzz() -> dict:
    """Runs inside the measured version's process: every hand-written and generated case."""
    import test_fuzz as fuzz

    from ethos.cli import main

    folder = Path(tempfile.mkdtemp())
    for name, content in fuzz.FILES.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else (content if isinstance(content, str) else json.dumps(content)).encode())
    os.environ.pop("OPENAI_API_KEY", None)
    counts = {"cases": 0, "tracebacks": 0, "not_one_named_line": 0, "wrong_exit_status": 0}
    cases = [(c.argv, c.names, c.code) for c in fuzz.CASES]
    for i, (task, field, value) in enumerate(fuzz.MUTATED):  # generated: eval on an item with one field replaced
        source = {"distributional-globalopinionqa": fuzz.GOQA, "distributional-moralchoice": fuzz.MORAL}.get(
            task, fuzz.FIXTURES / f"vital_{task.replace('-', '_').replace('vk', 'valuekaleidoscope')}.sample.json"
        )
        items = json.loads(source.read_text())[:1]
        items[0][field] = value
        path = folder / f"mutated{i}" / source.name
        path.parent.mkdir()
        path.write_text(json.dumps(items))
        cases.append(
            (
                [
                    "eval",
                    "--task",
                    task,
                    "--data",
                    str(path),
                    "--method",
                    "vanilla",
                    "--model",
                    "fake",
                    "--no-progress",
                    "--out",
                    str(path.parent / "out"),
                ],
                (),
                None,
            )
        )
    for argv, names, code in cases:
        os.environ["ETHOS_RUNS_DIR"] = tempfile.mkdtemp()
        argv = [a.replace("{d}", str(folder)) for a in argv]
        err = io.StringIO()
        counts["cases"] += 1
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = main(argv)
        except SystemExit as exc:
            status = exc.code
        except BaseException:
            counts["tracebacks"] += 1
            continue
        text = err.getvalue()
        if "Traceback" in text or "internal error" in text:
            counts["tracebacks"] += 1
            continue
        if code is None:  # generated: success, or a line naming the file and the item
            named = status == 0 or any("item 0" in line for line in text.splitlines() if line.startswith("ethos: error"))
            counts["not_one_named_line"] += not named
            continue
        errors = [line for line in text.splitlines() if line.startswith("ethos: error: ")]
        names = [n.replace("{d}", str(folder)) for n in names]
        counts["not_one_named_line"] += not (len(errors) == 1 and all(n in errors[0] for n in names))
        counts["wrong_exit_status"] += status != code
    return counts


def measure_secrets() -> dict:
    """The secrets scenario of tests/test_secrets.py, counting leaks instead of asserting none."""
    import test_secrets as secrets
    from openai_stub import StubOpenAI

    tmp = Path(tempfile.mkdtemp())
    env = os.environ | {"OPENAI_API_KEY": secrets.ENV_KEY, "HF_TOKEN": secrets.HF_TOKEN, "ETHOS_RUNS_DIR": str(tmp / "runs")}
    printed = []
    with StubOpenAI() as stub:
        url = stub.url.replace("http://", f"http://alice:{secrets.USER_PASSWORD}@") + f"?api-key={secrets.QUERY_KEY}&api-version=1"
        model = ["--model", "openai:stub-model", "--base-url", url, "--n-personas", "2"]
        for argv in (
            ["run", *model, "A patient refuses a blood transfusion.", "--json"],
            [
                "eval",
                "--task",
                "distributional-globalopinionqa",
                "--data",
                str(secrets.FIXTURES),
                *model,
                "--method",
                "vanilla",
                "--out",
                str(tmp / "eval"),
                "--no-progress",
            ],
        ):
            printed.append(subprocess.run([sys.executable, "-m", "ethos.cli", *argv], env=env, capture_output=True, text=True))
        paths = sorted({r["path"] for r in stub.requests})
    written = [p for p in tmp.rglob("*") if p.is_file()]
    leaks = sum(s.encode() in p.read_bytes() for p in written for s in secrets.SECRETS)
    leaks += sum(s in p.stdout + p.stderr for p in printed for s in secrets.SECRETS)
    return {"secret_occurrences": leaks, "files_written": len(written), "request_paths": paths}


def _in(root: Path | None, what: str) -> dict:
    env = dict(os.environ)
    if root is not None:
        link = Path(tempfile.mkdtemp()) / "ethos"
        link.symlink_to(root.resolve())
        env["PYTHONPATH"] = str(link.parent)
    out = subprocess.run([sys.executable, __file__, "--measure", what], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, metavar="DIR", help="an earlier checkout to measure too (git worktree)")
    parser.add_argument("--measure", choices=["fuzz", "secrets"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_fuzz() if args.measure == "fuzz" else measure_secrets()))
        return
    versions = {"before": args.before, "after": None} if args.before else {"after": None}
    rows = {name: _in(root, "fuzz") | _in(root, "secrets") for name, root in versions.items()}
    keys = [k for k in rows["after"] if k != "request_paths"]
    print(f"{'':28}" + "".join(f"{name:>12}" for name in rows))
    for key in keys:
        print(f"{key:28}" + "".join(f"{row[key]:>12}" for row in rows.values()))
    for name, row in rows.items():
        print(f"{name}: request paths seen by the endpoint: {row['request_paths']}")


if __name__ == "__main__":
    main()
