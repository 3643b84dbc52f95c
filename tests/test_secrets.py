"""A key in the environment, in a URL's user-info and in its query string: none of them appears in
any file a run or an evaluation writes (records, traces, results, checkpoints, cache) or in any
line printed, error paths and `--debug` tracebacks included."""

from __future__ import annotations

import os
import subprocess
import sys

from openai_stub import StubOpenAI
from tests_paths import FIXTURES

ENV_KEY = "sk-env-secret-0123456789abcdef"
HF_TOKEN = "hf_envtokenABCDEFGH12345"
USER_PASSWORD = "hunter2-in-the-url"
QUERY_KEY = "query-secret-987654321"
PASTED = "sk-pasted-into-the-situation-4242"  # masked in records and, as records are, in checkpoints
SECRETS = (ENV_KEY, HF_TOKEN, USER_PASSWORD, QUERY_KEY, PASTED)


def _ethos(*argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ethos.cli", *argv], env=env, capture_output=True, text=True, timeout=300)


def test_no_secret_reaches_a_file_or_a_printed_line(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "eval"
    env = os.environ | {"OPENAI_API_KEY": ENV_KEY, "HF_TOKEN": HF_TOKEN, "ETHOS_RUNS_DIR": str(runs)}
    # the endpoint reflects the key it was sent into its replies, as a misconfigured proxy would
    with StubOpenAI(text=f"B. A reply that echoes the header: Authorization: Bearer {ENV_KEY}") as stub:
        url = stub.url.replace("http://", f"http://alice:{USER_PASSWORD}@") + f"?api-key={QUERY_KEY}&api-version=1"
        model = ["--model", "openai:stub-model", "--base-url", url, "--n-personas", "2"]
        printed = [
            _ethos("run", *model, f"A patient refuses a blood transfusion; my key is {PASTED}.", "--trace", env=env),
            _ethos("run", *model, "A patient refuses a blood transfusion.", "--json", env=env),
            _ethos(
                "eval",
                "--task",
                "distributional-globalopinionqa",
                "--data",
                str(FIXTURES),
                *model,
                "--method",
                "all",
                "--out",
                str(out),
                "--no-progress",
                env=env,
            ),
            _ethos("runs", env=env),
        ]
        # the request reached the endpoint with its query, after the path (not mangled into it)
        # (the reference protocol's completion prompts go to /v1/completions, the same way)
        assert {r["path"] for r in stub.requests} == {
            f"/v1/{kind}?api-key={QUERY_KEY}&api-version=1" for kind in ("chat/completions", "completions")
        }
    # error paths: the endpoint is gone now; with and without the traceback
    printed += [
        _ethos("run", *model, "--max-retries", "0", "A patient refuses.", env=env),
        _ethos("--debug", "run", *model, "--max-retries", "0", "A patient refuses.", env=env),
    ]
    assert [p.returncode for p in printed] == [0, 0, 0, 0, 1, 1], [p.stderr[-500:] for p in printed]
    assert "cannot reach the model endpoint at http://127.0.0.1:" in printed[-2].stderr
    assert "Traceback" in printed[-1].stderr  # --debug shows it, redacted

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "checkpoints.sqlite" for p in written) and any(p.name == "trace.jsonl" for p in written)
    leaks = [(str(p.relative_to(tmp_path)), s) for p in written for s in SECRETS if s.encode() in p.read_bytes()]
    leaks += [(f"output of command {i}", s) for i, p in enumerate(printed) for s in SECRETS if s in p.stdout + p.stderr]
    assert leaks == []
    assert any(b"[redacted]" in p.read_bytes() for p in written if p.name == "record.json")  # the URL was there, masked
