"""Help that tells the truth: each default shown is the one the command uses (both come from one
declaration), a mistyped flag gets the one meant, and a command lists only the flags it has."""

import json

import pytest
from tests_paths import FIXTURES

from ethos.cli import main


def eval_argv(spec: str, out, *flags: str) -> list[str]:
    return ["eval", "--task", "distributional-moralchoice", "--data", str(FIXTURES), "--method", "vanilla", "--model", spec,
            "--no-progress", "--out", str(out), *flags]  # fmt: skip


def help_of(capsys, *command) -> str:
    assert main([*command, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_each_command_shows_the_protocol_it_uses(fake, tmp_path, capsys):
    assert "(default reference)" in help_of(capsys, "eval") and "(default ethos)" in help_of(capsys, "run")
    assert main(eval_argv(fake().spec, tmp_path / "o", "--json")) == 0
    assert json.loads(capsys.readouterr().out)[0]["protocol"] == "reference"
    assert main(["run", "--model", fake().spec, "--json", "--method", "vanilla", "q?"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"]
    from ethos.graph.records import load_record
    from ethos.settings import runs_dir

    record = load_record(runs_dir(), "last")
    assert record.data["config"]["context"]["protocol"] == "ethos"


def test_help_names_no_internal_constant_and_shows_a_default_once(capsys):
    text = help_of(capsys, "eval")
    assert "ETHOS_CHOICES" not in text and text.count("embedded, or $ETHOS_MODEL") == 4  # --model and the three roles, once each
    assert "(default embedded)" not in text
    assert "eval's config.json beside the file" in help_of(capsys, "score")
    report = help_of(capsys, "report")
    assert "every metrics.json under them is a row" in report and "one folder per set of folders compared" in report
    assert "--verbose" not in help_of(capsys, "data", "fetch") and "--verbose" in help_of(capsys, "run")


@pytest.mark.parametrize(("typed", "meant"), [("--modle", "--model"), ("--tsk", "--task"), ("--limt", "--limit")])
def test_a_mistyped_flag_gets_the_one_meant(capsys, typed, meant):
    command = ["run", typed, "fake", "q?"] if typed == "--modle" else ["eval", typed, "3"]
    assert main(command) == 2
    assert f"did you mean {meant}?" in capsys.readouterr().err


def test_a_report_over_several_folders_has_a_folder_of_its_own_per_comparison(fake, tmp_path, capsys):
    for name in ("a", "b", "c"):
        assert main(eval_argv(fake().spec, tmp_path / name)) == 0
    capsys.readouterr()
    paths = []
    for folders in (["a"], ["a", "b"], ["a", "c"], ["b", "a"]):
        assert main(["report", *(str(tmp_path / f) for f in folders)]) == 0
        paths.append(capsys.readouterr().out.strip())
    folder = [p.split("/")[-2] for p in paths]
    assert paths[0].endswith("a/report/report.md") and len({folder[1], folder[2]}) == 2 and folder[1] == folder[3]


def test_roles_are_listed_alone(capsys):
    assert main(["personas", "list", "--roles"]) == 0
    out = capsys.readouterr().out
    assert "moderators (--mode): " in out and "tasks (ethos eval --task): " in out and "stakeholder" not in out


def test_a_bad_file_in_the_persona_folder_is_skipped_and_said_not_fatal(fake, tmp_path, monkeypatch, capsys):
    from ethos.personas.library import user_folder

    folder = tmp_path / "personas"
    folder.mkdir()
    (folder / "broken.toml").write_text("[[persona]\nname =")
    monkeypatch.setenv("ETHOS_PERSONA_DIR", str(folder))
    user_folder.cache_clear()
    assert main(["personas", "show", "ward nurse"]) == 0
    assert main(["run", "--model", fake().spec, "--method", "vanilla", "q?"]) == 0
    assert capsys.readouterr().err.count("warning: skipped broken.toml in the persona folder") == 2
    assert main(["personas", "validate", str(folder)]) == 2  # validate names the mistake
    assert main(["personas", "validate", ""]) == 2
    assert "an empty path (is the variable you gave unset?)" in capsys.readouterr().err


def test_a_base_model_is_said_to_get_raw_prompts(fake, capsys):
    assert main(["run", "--model", fake(chat_template=False).spec, "--method", "vanilla", "q?"]) == 0
    assert "has no chat template (a base model): every prompt goes to it as raw text" in capsys.readouterr().err


def test_tracing_a_run_still_going_shows_its_exchanges_so_far(fake, runs_dir, capsys):
    import json as _json

    from ethos.graph.records import RunRecord, load_record
    from ethos.inputs import write_json

    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--json", "Should she be told?"]) == 0
    done = load_record(runs_dir, _json.loads(capsys.readouterr().out)["run_id"])
    running = RunRecord(runs_dir)  # as a run in flight has it: started, its trace growing, no conversation yet
    running.start("eval", done.data["request"], done.data["config"])
    running.trace_path.write_text(done.trace_path.read_text() + '{"kind": "exchange", "cut sh')
    write_json(running.path, running.data | {"status": "running"})
    assert main(["trace", running.run_id]) == 0
    captured = capsys.readouterr()
    assert "is still running: its exchanges so far" in captured.err
    assert (
        "├── persona generator (1 attempt(s))" in captured.out and "persona agent 1" in captured.out and "persona agent 2" in captured.out
    )


def test_llama_cpp_logs_stay_off_the_terminal_unless_v(capfd):
    import logging

    from ethos.agents.models import embedded

    embedded._llama_logs()
    logger, before = logging.getLogger("ethos"), logging.getLogger("ethos").level
    try:
        logger.setLevel(logging.WARNING)  # setLevel, not the attribute: it clears isEnabledFor's cache
        for level in range(6):  # NONE, INFO, WARN, ERROR, DEBUG, CONT: llama-cpp-python's own check lets NONE through
            embedded._LOG_CALLBACK(level, b"llama_kv_cache_iswa: using full-size SWA cache\n", None)
        assert capfd.readouterr().err == ""
        logger.setLevel(logging.INFO)  # -v
        embedded._LOG_CALLBACK(2, b"llama_kv_cache_iswa: using full-size SWA cache\n", None)
        assert capfd.readouterr().err == "llama_kv_cache_iswa: using full-size SWA cache\n"
    finally:
        logger.setLevel(before)
