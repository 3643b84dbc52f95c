"""`ethos data fetch` against a local HTTP server on 127.0.0.1 that serves copies of the fixtures
under the VITAL file names, as a mirror would (`--source`)."""

from pathlib import Path

from ethos.cli import main
from ethos.evaluation.data import FILES

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_fetch_writes_checked_files_and_their_checksums_then_refuses_a_changed_file(vital_mirror, tmp_path, capsys):
    served, url = vital_mirror
    into = tmp_path / "vital"
    assert main(["data", "fetch", "--source", url, "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert out.count("recorded") == 4 and sorted(p.name for p in into.iterdir()) == sorted([*FILES, "SHA256SUMS"])
    assert (into / "vital_distributional_moralchoice.json").read_bytes() == (served / "vital_distributional_moralchoice.json").read_bytes()
    assert main(["data", "check", "--into", str(into)]) == 0 and capsys.readouterr().out.count("ok") == 4
    # the fetched folder is what eval reads
    assert (
        main(
            [
                "eval",
                "--model",
                "fake",
                "--task",
                "distributional-moralchoice",
                "--method",
                "vanilla",
                "--data",
                str(into),
                "--out",
                str(tmp_path / "eval"),
                "--no-progress",
                "--json",
                "--runs-dir",
                str(tmp_path / "runs"),
            ]
        )
        == 0
    )
    capsys.readouterr()

    # the mirror now serves another file: the fetch stops before writing it, and names it
    before = (into / "vital_steerable_opinionqa.json").read_bytes()
    (served / "vital_steerable_opinionqa.json").write_text(
        (FIXTURES / "vital_steerable_opinionqa.sample.json").read_text().replace("0.", "0.0", 1)
    )
    assert main(["data", "fetch", "--source", url, "--into", str(into)]) == 2
    err = capsys.readouterr().err
    assert "vital_steerable_opinionqa.json: SHA-256" in err and "differs from" in err and "Traceback" not in err
    assert (into / "vital_steerable_opinionqa.json").read_bytes() == before
    # a file changed on disk is found by `check`
    (into / "vital_distributional_moralchoice.json").write_text("[]")
    assert main(["data", "check", "--into", str(into)]) == 2
    assert "changed  vital_distributional_moralchoice.json" in capsys.readouterr().out


def test_a_file_that_is_not_vital_is_refused_by_item_and_field(vital_mirror, tmp_path, capsys):
    served, url = vital_mirror
    (served / "vital_distributional_moralchoice.json").write_text('[{"id": "C_1", "question": "q?", "options": ["a", "b"]}]')
    assert main(["data", "fetch", "--source", url, "--into", str(tmp_path / "vital")]) == 2
    err = capsys.readouterr().err
    assert "vital_distributional_moralchoice.json: item 0" in err and "gold_distribution" in err


def test_offline_gives_one_clear_line(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["data", "fetch", "--source", f"http://127.0.0.1:{port}", "--into", str(tmp_path / "vital"), "--timeout", "5"]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ethos: error")]
    assert len(errors) == 1 and "are you offline?" in errors[0] and "ConnectError" in errors[0]
    from ethos.evaluation.data import FILES

    assert all(name in errors[0] for name in FILES) and "[redacted]" not in errors[0] and "data check --init" in errors[0]
