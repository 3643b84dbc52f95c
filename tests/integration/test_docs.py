"""The documented commands, run as written, in order, on the fake model: `--model` defaults to
$ETHOS_MODEL, which is the fake model here, and the places that name this machine (the data folder,
the runs folder, a second model's folder, a run id) are replaced as the substitutions say. A line
that is a synopsis (`[--limit N]`, `"..."`, a model or a cluster this machine does not have) is
checked instead: each flag it names is one the command has. The set-up and test commands are the
fresh-clone check's. The documentation site builds with strict link checks."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def readme_commands(page: Path = ROOT / "README.md") -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if re.match(r"(\.venv/bin/)?ethos ", line):
                commands.append(line)
    return commands


def ethos(argv: list[str], cwd: Path, runs: Path, model: str = "fake") -> subprocess.CompletedProcess:
    """`ethos ARGV` in a process of its own, with its runs in `runs` and `model` as $ETHOS_MODEL."""
    return subprocess.run(
        [sys.executable, "-m", "ethos.cli", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ETHOS_RUNS_DIR": str(runs), "ETHOS_MODEL": model},
    )


def test_every_readme_command_runs_as_written(tmp_path, vital_mirror):
    runs, (_, mirror) = tmp_path / "runs", vital_mirror
    substitutions = {
        "--limit 20": "--limit 2",
        "data fetch --into vital": f"data fetch --into vital --source {mirror}",  # the local mirror of the VITAL files
    }
    commands = readme_commands()
    assert len(commands) >= 14 and any("data fetch" in c for c in commands)
    (study,) = re.findall(r"```toml\n(# study.toml.*?)```", (ROOT / "README.md").read_text(), re.S)  # the study the README runs
    (tmp_path / "study.toml").write_text(study.replace('"embedded"', '"fake:0"').replace("limit = 10", "limit = 2"))
    for command in commands:
        for old, new in substitutions.items():
            command = command.replace(old, new)
        argv = shlex.split(command)[1:]
        model = "fake:0" if argv[0] == "eval" and "--model" not in argv else "fake"  # the second model's evaluation
        done = ethos(argv, tmp_path, runs, model)
        assert done.returncode == 0, (command, done.stderr[-800:])
        assert "Traceback" not in done.stderr and "warning" not in done.stderr.lower() or "ethos: warning" in done.stderr, command
    assert (tmp_path / "vital" / "SHA256SUMS").is_file() and (tmp_path / "results" / "fake" / "vanilla" / "metrics.json").is_file()


def test_the_readme_python_snippet_runs_as_written(tmp_path):
    import shutil

    (snippet,) = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    shutil.copytree(FIXTURES, tmp_path / "vital")  # `data="vital"`: a folder of VITAL files
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ETHOS_RUNS_DIR": str(tmp_path / "runs")},
    )
    assert done.returncode == 0, done.stderr[-1500:]
    first, response = done.stdout.splitlines()[:2]
    jsd, interval = first.split(" ", 1)
    assert 0 <= float(jsd) <= 0.833 and interval.startswith("[") and response.strip()
    assert list((tmp_path / "runs" / "eval" / "fake").rglob("distributional-moralchoice/vanilla/metrics.json"))


# A line that cannot run as written here: a synopsis, a model or cluster this machine lacks, a pipe.
SYNOPSIS = re.compile(r"\[|\.\.\.|RUN_DIR|HEAD:|openai:|hf:|postgresql://|\|")


def test_every_command_in_the_docs_runs_or_names_real_flags(tmp_path, vital_mirror):
    runs, (_, mirror) = tmp_path / "runs", vital_mirror
    assert ethos(["data", "fetch", "--into", "vital", "--source", mirror], tmp_path, runs).returncode == 0
    (tmp_path / "eval.toml").write_text('task = ["distributional-moralchoice"]\nmethod = ["vanilla"]\ndata = "vital"\n')
    (tmp_path / "board.toml").write_text(
        '[[persona]]\nname = "The Board Chair"\ncore_value = "stewardship"\nframework = "utilitarianism"\n'
        'right_or_duty = "duty to the institution"\nemotion = "caution"\nstakeholder = "hospital board"\n'
    )
    substitutions = {
        "--limit 40": "--limit 2",
        "--limit 20": "--limit 2",
        "path/to/": "vital/",
        "20261127-154421": "last",
        "--index 3": "--index 0",
    }  # the fixtures hold one item per task
    # index.md is the README; add-a-role.md is followed step by step, plugin install and all, by test_add_a_role.py
    pages = [p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in ("index.md", "add-a-role.md")]
    commands = [(page.name, c) for page in pages for c in readme_commands(page)]
    assert len(commands) >= 25
    helps: dict[str, str] = {}
    ran = 0
    for page, command in commands:
        for old, new in substitutions.items():
            command = command.replace(old, new)
        if "runs/eval/my-eval" in command:  # an evaluation's folder: the one the commands above wrote
            command = command.replace("runs/eval/my-eval", str(next(runs.glob("eval/*/*/distributional-moralchoice"))))
        argv = shlex.split(command.split(" | ")[0])[1:]
        if SYNOPSIS.search(command):
            head = argv[:2] if argv[0] == "personas" else argv[:1]
            key = " ".join(head)
            helps.setdefault(key, ethos([*head, "--help"], tmp_path, runs).stdout)
            missing = [flag for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command) if flag not in helps[key]]
            assert not missing, f"{page}: `{command}` names flags that `ethos {key}` does not have: {missing}"
            continue
        done = ethos(argv, tmp_path, runs)
        assert done.returncode == 0, (page, command, done.stderr[-800:])
        assert "Traceback" not in done.stderr, (page, command)
        ran += 1
    assert ran >= 12


def test_the_documentation_site_builds_with_strict_link_checks(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (setup.sh --dev installs it)")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "site" / "evaluation" / "index.html").is_file()
