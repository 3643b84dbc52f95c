"""llama.cpp's own lines (its context, KV cache and model warnings) reach the terminal with -v only,
on the real embedded model."""

import subprocess
import sys


def _stderr(tmp_path, *flags) -> str:
    argv = [sys.executable, "-m", "ethos.cli", "run", "Should she be told?", "--model", "embedded", "--n-personas", "2",
            "--persona-tokens", "160", "--comment-tokens", "16", "--moderator-tokens", "16", "--runs-dir", str(tmp_path), *flags]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-1000:]
    return done.stderr


def test_llama_cpp_lines_reach_the_terminal_only_with_v(tmp_path):
    assert "llama_" not in _stderr(tmp_path)
    assert "llama_context" in _stderr(tmp_path, "-v")
