"""The README's commands, run as written, in order, on the fake model: `--model` defaults to
$ETHOS_MODEL, which is the fake model here, and the places that name this machine (the data folder,
the runs folder, a second model's folder) are replaced as SUBSTITUTIONS says. The set-up and test
commands are the fresh-clone check's. The documentation site builds with strict link checks."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if re.match(r"(\.venv/bin/)?ethos ", line):
                commands.append(line)
    return commands


def test_every_readme_command_runs_as_written(tmp_path, vital_mirror):
    runs, (_, mirror) = tmp_path / "runs", vital_mirror
    substitutions = {
        "~/.local/share/ethosagents": str(runs),  # the runs folder: ETHOS_RUNS_DIR here
        "eval/embedded": "eval/fake-0",  # the "embedded" evaluation: a second fake model (fake:0) stands in
        "--limit 20": "--limit 2",
        "data fetch --into vital": f"data fetch --into vital --source {mirror}",  # the local mirror of the VITAL files
    }
    commands = readme_commands()
    assert len(commands) >= 14 and any("data fetch" in c for c in commands)
    for command in commands:
        for old, new in substitutions.items():
            command = command.replace(old, new)
        argv = shlex.split(command)[1:]
        model = "fake:0" if argv[0] == "eval" and "--model" not in argv else "fake"  # the second model's evaluation
        done = subprocess.run([sys.executable, "-m", "ethos.cli", *argv], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "ETHOS_RUNS_DIR": str(runs), "ETHOS_MODEL": model})
        assert done.returncode == 0, (command, done.stderr[-800:])
        assert "Traceback" not in done.stderr and "warning" not in done.stderr.lower() or "ethos: warning" in done.stderr, command
    assert (tmp_path / "vital" / "SHA256SUMS").is_file() and list((runs / "eval").glob("fake*/*/distributional-moralchoice/vanilla"))


def test_the_documentation_site_builds_with_strict_link_checks(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (setup.sh --dev installs it)")
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "site" / "evaluation" / "index.html").is_file()
