"""Evaluating from Python: the command line's defaults, every setting checked when a context is
made, and settings that do not change results never refusing a folder."""

import json

import pytest
from tests_paths import FIXTURES

import ethos
from ethos.cli import main
from ethos.errors import EthosError
from ethos.graph.context import Context


def test_evaluate_from_python_is_eval_with_its_defaults(fake, runs_dir):
    backend = fake()
    rows = ethos.evaluate("distributional-moralchoice", "vanilla", data=FIXTURES, model=backend.spec, limit=2)
    (row,) = rows
    assert row["method"] == "vanilla" and row["protocol"] == "reference" and row["n"] >= 1 and 0 <= row["jsd"] <= 0.833
    folder = next(runs_dir.rglob("metrics.json")).parent
    assert json.loads((folder / "metrics.json").read_text())["jsd"] == row["jsd"]  # the row the CLI writes and prints
    with pytest.raises(EthosError, match="--seed"):
        ethos.evaluate("distributional-moralchoice", "vanilla", data=FIXTURES, model=backend.spec, seed=-1)


def test_run_from_python_returns_the_final_state(fake):
    state = ethos.run("Should the nurse tell?", model=fake().spec, n_personas=2, mode="distributional", option=["Yes", "No"])
    assert len(state["comments"]) == 2 and len(state["result"]["distribution"]) == 2


def test_a_context_takes_one_model_for_every_role_and_checks_the_agent_variant_when_made():
    ctx = Context(model="fake", moderator_model="fake:0.001")
    assert (ctx.generator_model, ctx.agent_model, ctx.moderator_model) == ("fake", "fake", "fake:0.001")
    with pytest.raises(EthosError, match="unknown --agent-variant 'nope': choose one of default"):
        Context(agent_variant="nope")


def eval_argv(spec: str, out) -> list[str]:
    return ["eval", "--task", "distributional-moralchoice", "--method", "vanilla", "--model", spec, "--data", str(FIXTURES), "--limit", "2",
            "--no-progress", "--out", str(out)]  # fmt: skip


def test_settings_that_do_not_change_results_never_refuse_a_folder(fake, tmp_path, capsys):
    argv = eval_argv(fake().spec, tmp_path / "o")
    assert main(argv) == 0
    for flags in (["--timeout", "30"], ["--max-retries", "9"], ["--rps", "50"], ["--max-concurrency", "2"]):
        assert main([*argv, *flags]) == 0, flags
    assert main([*argv, "--seed", "7"]) == 2
    assert "differs in context.seed" in capsys.readouterr().err
    assert set(Context.declared("results")).isdisjoint({"timeout", "max_retries", "requests_per_second", "base_url"})


def test_a_results_line_of_the_wrong_shape_is_skipped_and_counted_not_fatal(fake, tmp_path, capsys):
    argv = eval_argv(fake().spec, tmp_path / "o")
    assert main(argv) == 0
    results = tmp_path / "o" / "vanilla" / "results.jsonl"
    line = json.loads(results.read_text().splitlines()[0])
    results.write_text(json.dumps(line | {"fallbacks": {"uniform_distributions": "many"}}) + "\n" + results.read_text())
    assert main(argv) == 0 and main(argv) == 0
    assert "unreadable line(s) skipped" in capsys.readouterr().err
