"""VITAL without GitHub: a fetch from a local folder or a file:// mirror, files placed by hand
recorded with `data check --init`, a SHA256SUMS that names a file outside its folder refused, and
named pipes refused wherever a file is read, never waited on."""

import json
import os

import pytest
from tests_paths import FIXTURES

from ethos.cli import main
from ethos.evaluation.data import FILES, SUMS


@pytest.fixture
def mirror(tmp_path):
    """The four VITAL files, made from the fixtures (the real ones are not part of the project)."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in FILES:
        stem = name.removesuffix(".json")
        (folder / name).write_text((FIXTURES / f"{stem}.sample.json").read_text())
    return folder


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_fetch_from_a_local_folder_or_file_url(mirror, tmp_path, capsys, form):
    source = str(mirror) if form == "path" else f"file://{mirror}"
    assert main(["data", "fetch", "--into", str(tmp_path / "vital"), "--source", source]) == 0
    assert sorted(p.name for p in (tmp_path / "vital").iterdir()) == sorted([*FILES, SUMS])
    assert main(["data", "check", "--into", str(tmp_path / "vital")]) == 0


def test_files_placed_by_hand_are_recorded_by_check_init(mirror, capsys):
    assert main(["data", "check", "--into", str(mirror)]) == 2
    assert "ethos data check --init" in capsys.readouterr().err
    assert main(["data", "check", "--init", "--into", str(mirror)]) == 0
    assert len((mirror / SUMS).read_text().splitlines()) == 4
    first = next(iter(FILES))
    (mirror / first).write_text((mirror / first).read_text().replace('"id"', '"id" ', 1))  # changed by a byte
    assert main(["data", "check", "--into", str(mirror)]) == 2
    assert "changed" in capsys.readouterr().out


def test_a_file_that_eval_would_refuse_is_never_recorded(mirror, capsys):
    items = json.loads((mirror / "vital_distributional_moralchoice.json").read_text())
    (mirror / "vital_distributional_moralchoice.json").write_text(json.dumps(items + items[:1]))  # a duplicated id
    assert main(["data", "check", "--init", "--into", str(mirror)]) == 2
    assert "duplicate id" in capsys.readouterr().err and not (mirror / SUMS).exists()


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "notes.txt"])
def test_sha256sums_naming_a_file_outside_its_folder_is_refused(mirror, capsys, name):
    (mirror / SUMS).write_text(f"{'0' * 64}  {name}\n")
    assert main(["data", "check", "--into", str(mirror)]) == 2
    assert f"{SUMS}: line 1 names" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--model", "fake", "--item", "{fifo}"],
        ["run", "--model", "fake", "--persona-file", "{fifo}", "q"],
        ["run", "--model", "fake", "--prices", "{fifo}", "q"],
        ["eval", "--config", "{fifo}"],
        ["personas", "validate", "{fifo}"],
    ],
)
def test_a_named_pipe_is_refused_by_name_not_waited_on(tmp_path, capsys, argv):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main([a.replace("{fifo}", str(fifo)) for a in argv]) == 2
    assert f"{fifo}: a named pipe, not a regular file" in capsys.readouterr().err
