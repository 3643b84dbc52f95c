"""Follows docs/add-a-role.md step by step: its persona file and its shell commands, as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "add-a-role.md").read_text()


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC, re.DOTALL)


def test_the_add_a_role_guide_works_as_written(tmp_path):
    persona_dir, site = tmp_path / "personas", tmp_path / "site"
    persona_dir.mkdir()
    (persona_dir / "hospice.toml").write_text(blocks("toml")[0])  # step 1: the persona file
    env = {
        **os.environ,
        "ETHOS_PERSONA_DIR": str(persona_dir),
        "ETHOS_RUNS_DIR": str(tmp_path / "runs"),
        "PYTHONPATH": str(site),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    outputs = []
    for block in blocks("bash"):
        for command in block.strip().splitlines():
            # The one change: the plugin goes into a private folder, not into the test environment.
            command = command.replace(
                ".venv/bin/pip install ", f"{sys.executable} -m pip install -q --no-deps --no-build-isolation --target {site} "
            )
            proc = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
            outputs.append(proc.stdout)
    validate, show, library_run, _install, roles, majority_run = outputs
    assert "1 valid persona(s)" in validate
    assert '"name": "The Hospice Volunteer"' in show and '"weight": 0.5' in show
    assert "chosen from the library" in library_run
    assert "majority" in roles and "brief" in roles
    listing = subprocess.run([sys.executable, "-m", "ethos.cli", "personas", "list"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "The Ethics Board Chair" in listing.stdout  # the plugin's personas are in the library
    assert '"winner"' in majority_run and '"votes"' in majority_run


def test_the_contracts_example_runs_as_written(tmp_path):
    """The plugin contracts' Python block, as written, on the fake model."""
    (snippet,) = blocks("python")
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ETHOS_RUNS_DIR": str(tmp_path / "runs")})  # fmt: skip
    assert done.returncode == 0, done.stderr[-1500:]
    lines = done.stdout.splitlines()
    assert " | " in lines[0] and lines[1].startswith("1.0 ")
    assert lines[2].startswith("['choice', 'choice_source', 'persona', 'text']")
