"""The live view under a real terminal (`script` gives `ethos run` a pseudo-terminal): a model's
escape sequences, in the persona list and the comments printed above the view, are shown as
escapes, never obeyed and never silently dropped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from openai_stub import StubOpenAI

HOSTILE = "\x1b[31mRED\x1b[0m \x1b]0;owned\x07"


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` gives the run a terminal")
def test_the_live_view_shows_a_models_escapes_under_a_terminal(tmp_path):
    personas = (
        f"#Nurse: dignity {HOSTILE}; care ethics; duty to advocate; compassion; nurse\n#Lawyer: law; positivism; duty; caution; lawyer"
    )
    with StubOpenAI(text=f"A. Tell her. {HOSTILE} done", personas=personas) as stub:
        command = (f"{sys.executable} -m ethos.cli run --model openai:m --base-url {stub.url} --n-personas 2 "
                   f"--runs-dir {tmp_path} 'Should she be told?'")  # fmt: skip
        done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, timeout=180,
                              env=os.environ | {"OPENAI_API_KEY": "sk-test-0123456789", "TERM": "xterm", "NO_COLOR": ""})  # fmt: skip
    shown = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, shown[-1500:]
    assert "\x1b[31mRED" not in shown and "\x1b]0;owned" not in shown  # never obeyed
    assert "Tell her. \\u001b[31mRED" in shown and "\\u001b]0;owned" in shown  # printed above the view: shown, not dropped
