"""Odd places to write and odd bytes to read: links planted where this project writes, a full disk,
and arguments that are not UTF-8. Each ends in one line and a non-zero exit, or does the work,
and never writes through a link or leaves a half-written file."""

import json
import os
import subprocess
import sys

import pytest
from tests_paths import FIXTURES


def ethos(*argv, env=None, runs=None):
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
    extra = {"ETHOS_RUNS_DIR": str(runs)} if runs else {}
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"ethos.cli", *argv], capture_output=True, timeout=300, env={**os.environ, **extra, **(env or {})}
    )


def one_error(done) -> str:
    err = done.stderr.decode("utf-8", "replace")
    lines = [line for line in err.splitlines() if line.startswith("ethos: error")]
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err[-600:]
    return lines[0]


def test_pages_and_reports_replace_a_planted_link_instead_of_writing_through_it(tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "outside.txt"
    outside.write_text("keep me")
    assert ethos("run", "--model", "fake", "--n-personas", "2", "--json", "Should she be told?", runs=runs).returncode == 0
    (run,) = (runs / "runs").iterdir()
    (run / "view.html").symlink_to(outside)
    assert ethos("view", run.name, runs=runs).returncode == 0
    assert outside.read_text() == "keep me" and not (run / "view.html").is_symlink()
    out = tmp_path / "eval"
    assert (
        ethos(
            "eval",
            "--model",
            "fake",
            "--task",
            "distributional-moralchoice",
            "--data",
            FIXTURES,
            "--method",
            "vanilla",
            "--out",
            out,
            "--no-progress",
            runs=runs,
        ).returncode
        == 0
    )
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.md").symlink_to(outside)
    assert ethos("report", out, "--out", tmp_path / "report", runs=runs).returncode == 0
    assert outside.read_text() == "keep me" and "| vanilla |" in (tmp_path / "report" / "report.md").read_text()
    # the results file itself a link: refused by name, nothing written through it
    (out / "vanilla" / "results.jsonl").unlink()
    (out / "vanilla" / "results.jsonl").symlink_to(outside)
    done = ethos(
        "eval",
        "--model",
        "fake",
        "--task",
        "distributional-moralchoice",
        "--data",
        FIXTURES,
        "--method",
        "vanilla",
        "--out",
        out,
        "--no-progress",
        runs=runs,
    )
    assert done.returncode == 2 and "results.jsonl: a link" in one_error(done) and outside.read_text() == "keep me"


def test_arguments_that_are_not_utf8_are_named(tmp_path):
    done = ethos("run", "--model", "fake", b"Should \xff the nurse tell?", runs=tmp_path / "runs")
    assert done.returncode == 2 and "the situation text: not valid UTF-8" in one_error(done)
    done = ethos("run", "--model", "fake", "--target", b"duty\xfe", "Should she be told?", runs=tmp_path / "runs")
    assert done.returncode == 2 and "--target: not valid UTF-8" in one_error(done)
    # a folder name that is not UTF-8 is a path like any other
    out = os.fsencode(tmp_path) + b"/out\xff"
    done = ethos(
        "eval",
        "--model",
        "fake",
        "--task",
        "distributional-moralchoice",
        "--data",
        FIXTURES,
        "--method",
        "vanilla",
        "--out",
        out,
        "--no-progress",
        "--json",
        runs=tmp_path / "runs",
    )
    assert done.returncode == 0 and json.loads(done.stdout)[0]["n"] == 1 and os.path.isdir(out)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system (tmpfs; needs root, as in CI and on this machine's container)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (not root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("room", [12_000, 60_000, 200_000])
def test_a_full_disk_fails_cleanly_and_leaves_nothing_running_or_half_written(small_disk, room):
    runs = small_disk / "runs"
    assert ethos("run", "--model", "fake", "--n-personas", "2", "--no-cache", "Warm up?", runs=runs).returncode == 0
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # fill the disk
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError:
            pass
    os.truncate(filler, filler.stat().st_size - room)  # room for the run to start, not to finish
    done = ethos("run", "--model", "fake", "--n-personas", "6", "--no-cache", "A long situation? " * 200, runs=runs)
    error = one_error(done)
    assert done.returncode in (1, 2) and (
        "No space left on device" in error or "disk I/O error" in error or "database or disk is full" in error
    ), error
    # one line, naming the file or the runs folder's database; no callback noise before it
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Error in " not in stderr and (str(small_disk) in error or "database of the runs folder" in error), stderr
    leftovers = [p.name for p in small_disk.rglob("*.tmp")]
    assert leftovers == []
    listed = ethos("runs", "--json", runs=runs)
    assert listed.returncode == 0 and "running" not in {r["status"] for r in json.loads(listed.stdout)}
