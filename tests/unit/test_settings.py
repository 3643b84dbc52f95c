"""One settings source: `Context` describes every run setting once; the CLI's flags, their help and
bounds, and the LangGraph server's context schema all come from it."""

import pytest

from ethos.cli import build_parser, main
from ethos.cli.common import context_from
from ethos.errors import EthosError
from ethos.graph.builder import graph
from ethos.graph.context import Context


def test_every_setting_with_a_flag_is_a_flag_of_run_and_eval_with_its_help():
    for command in ("run", "eval"):
        sub = build_parser()._subparsers._group_actions[0].choices[command]
        flags = {a.dest: a for a in sub._actions}
        for name, setting in Context.settings().items():
            if setting["flag"]:
                assert setting["flag"] in flags[name].option_strings and setting["help"] in flags[name].help


def test_no_flag_means_the_contexts_own_default_and_a_flag_overrides_it():
    args = build_parser().parse_args(["run", "x"])
    assert context_from(args) == Context()
    args = build_parser().parse_args(["run", "x", "--comment-temperature", "0.5", "--n-personas", "4", "--model", "fake"])
    assert context_from(args) == Context(
        comment_temperature=0.5, n_personas=4, generator_model="fake", agent_model="fake", moderator_model="fake"
    )


def test_the_server_schema_describes_each_setting_and_the_bounds_hold_for_any_context():
    schema = graph.get_context_jsonschema()["properties"]
    assert all(schema[name]["description"] == setting["help"] for name, setting in Context.settings().items())
    assert schema["n_personas"]["minimum"] == 1 and schema["n_personas"]["maximum"] == 24  # the bounds travel with it
    assert not any(key.startswith("x-") for prop in schema.values() for key in prop)  # the CLI's detail stays home
    with pytest.raises(EthosError, match="--comment-temperature must be between 0 and 5, got 9"):
        Context(comment_temperature=9)
    with pytest.raises(EthosError, match="--seed must be an integer, got '3'"):
        Context(seed="3")


def test_a_bound_from_the_context_is_a_flag_error(capsys):
    assert main(["run", "x", "--moderator-temperature", "-1"]) == 2
    assert "argument --moderator-temperature: must be between 0 and 5, got -1" in capsys.readouterr().err  # as a context says it


def test_the_prompts_version_follows_the_prompt_texts_not_the_code_around_them(tmp_path):
    import shutil
    from pathlib import Path

    from ethos.versions import PROMPT_MODULES, prompts_version

    root = Path(__file__).resolve().parents[2]
    for name in PROMPT_MODULES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, tmp_path / name)
    before = prompts_version(tmp_path)
    assert before == prompts_version(root)
    seed = tmp_path / "personas" / "seed_prompt.py"
    text = seed.read_text()
    seed.write_text(text.replace('"""The seed persona prompt.', '"""The seed persona prompt, reworded docstring.', 1) + "\n# a comment\n")
    assert prompts_version(tmp_path) == before  # a docstring or a comment is no prompt
    seed.write_text(text.replace("that disagree with one another", "that differ from one another"))
    assert prompts_version(tmp_path) != before  # a prompt's words are


def test_every_environment_variable_is_read_in_one_place_and_documented():
    import re
    from pathlib import Path

    from ethos.settings import ENVIRONMENT

    root = Path(__file__).resolve().parents[2]
    packages = [d for d in root.iterdir() if (d / "__init__.py").is_file() and d.name != "tests"]  # not virtual environments
    modules = [p for p in root.glob("*.py") if p.name not in ("settings.py", "redaction.py")]
    readers = [
        p
        for p in modules + [p for d in packages for p in d.rglob("*.py")]
        if re.search(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)", p.read_text())
    ]  # reads, not writes
    assert readers == [], readers  # only settings.py (and redaction.py's scan of secret-named values)
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", (root / "docs" / "architecture.md").read_text(), re.M))
    assert documented == set(ENVIRONMENT)
