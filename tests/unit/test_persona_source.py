"""`Context.persona_source` (once `personas`, the name the state's list of personas also has): the
old name is still read wherever a saved or outside context can carry it, and folders stay where they were."""

import json

from tests_paths import FIXTURES

from ethos.cli import main
from ethos.evaluation.identity import check_config, config_folder, run_config
from ethos.evaluation.spec import EvalSpec
from ethos.evaluation.tasks import get_task
from ethos.graph.context import Context
from ethos.graph.served import ServedContext


def test_the_old_name_is_read_and_the_new_one_wins_where_both_are_given():
    assert Context(personas="library").persona_source == "library"
    assert Context(personas="library", persona_source="hybrid").persona_source == "hybrid"
    assert "personas" not in Context().model_dump()  # what is saved from now on has the new name


def test_an_evaluation_folder_keeps_its_name_and_accepts_its_old_config(tmp_path):
    # These digests were computed before the rename: results made then are found and resumed.
    assert config_folder(Context(model="fake")) == "fake/5c1ef65a"
    assert config_folder(Context(model="fake", persona_source="hybrid", seed=3)) == "fake/d432cdf0"
    task, ctx = get_task("distributional-moralchoice"), Context(model="fake", persona_source="hybrid")
    data = FIXTURES / "vital_distributional_moralchoice.sample.json"
    old = run_config(task, "vanilla", data, ctx)
    old["context"] = {("personas" if k == "persona_source" else k): v for k, v in old["context"].items()}
    (tmp_path / "config.json").write_text(json.dumps(old))
    check_config(tmp_path, run_config(task, "vanilla", data, ctx))  # the same configuration: no refusal


def test_config_files_the_api_spec_and_served_requests_read_the_old_name(fake, tmp_path, capsys):
    assert EvalSpec.build(task="distributional-moralchoice", data=FIXTURES, personas="library").context.persona_source == "library"
    assert ServedContext(personas="library").context().persona_source == "library"
    config = tmp_path / "eval.toml"
    config.write_text(
        f'task = ["distributional-moralchoice"]\nmethod = ["ethosagents"]\ndata = "{FIXTURES}"\nlimit = 1\n'
        f'model = "{fake().spec}"\npersonas = "library"\nno_progress = true\njson = true\n'
    )
    assert main(["eval", "--config", str(config), "--out", str(tmp_path / "out")]) == 0
    saved = json.loads((tmp_path / "out" / "ethosagents" / "config.json").read_text())
    assert saved["context"]["persona_source"] == "library"


def test_a_choice_in_a_config_file_is_checked_and_named_as_written(tmp_path, capsys):
    config = tmp_path / "eval.toml"
    config.write_text(f'task = ["distributional-moralchoice"]\ndata = "{FIXTURES}"\npersonas = "bogus"\n')
    assert main(["eval", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ethos: error: --config {config}: 'personas' unknown value 'bogus': choose one of generated, library, hybrid"
