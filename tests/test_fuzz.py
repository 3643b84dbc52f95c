"""Bad input on every command: one line that names what is wrong, exit 2 for usage and input errors
(1 for runtime failures), and never a traceback.

About 200 cases are written out by hand below (flags, files, items, records, plugins); a further
share is generated: VITAL items with one field replaced by a value of another type, drawn with a
fixed seed so every run tries the same ones. All run in-process on the fake model.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib.metadata import EntryPoint

import pytest
from tests_paths import FIXTURES

from ethos.cli import main

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."
GOQA = FIXTURES / "vital_distributional_globalopinionqa.sample.json"
MORAL = FIXTURES / "vital_distributional_moralchoice.sample.json"


@dataclass
class Case:
    argv: list[str]  # "{d}" is the folder of bad files
    names: tuple[str, ...]  # each must appear in the error line
    code: int = 2


def item(**fields) -> dict:
    base = {
        "question": "Question: Should X?\nOptions: A. Yes B. No\nAnswer:",
        "options": ["Yes", "No"],
        "attribute": "Japan",
        "gold_distribution": [0.6, 0.4],
        "pred_distribution": None,
        "id": 1,
    }
    return {k: v for k, v in (base | fields).items() if v is not ...}


# Files written into the bad-files folder: name -> content (text, bytes, or JSON data).
FILES: dict[str, object] = {
    "not_json.json": "{ this is not json",
    "latin1.json": '[{"question": "caf\xe9"}]'.encode("latin-1"),
    "empty_list.json": [],
    "object.json": {"question": "x"},
    "ints.json": [1, 2, 3],
    "question_int.json": [item(question=5)],
    "question_empty.json": [item(question="   ")],
    "options_str.json": [item(options="Yes,No")],
    "options_int.json": [item(options=[1, 2])],
    "options_empty.json": [item(options=[])],
    "option_blank.json": [item(options=["Yes", " "])],
    "options_27.json": [item(options=[f"o{i}" for i in range(27)], gold_distribution=[1.0] * 27)],
    "attribute_int.json": [item(attribute=3)],
    "situation_int.json": [{"situation": 4, "vrd": "Honesty", "label": "A", "id": 1}],
    "vrd_int.json": [{"situation": "x", "vrd": 4, "label": "A", "id": 1}],
    "steerable_no_attribute.json": [item(attribute=...)],
    "vital_distributional_globalopinionqa.gold_nan.json": [item(gold_distribution=[float("nan"), 0.5])],
    "vital_distributional_globalopinionqa.gold_inf.json": [item(gold_distribution=[float("inf"), 0.5])],
    "vital_distributional_globalopinionqa.gold_neg.json": [item(gold_distribution=[-0.5, 1.5])],
    "vital_distributional_globalopinionqa.gold_len.json": [item(gold_distribution=[1.0])],
    "vital_distributional_globalopinionqa.gold_str.json": [item(gold_distribution=["a", "b"])],
    "vital_distributional_globalopinionqa.gold_zero.json": [item(gold_distribution=[0, 0])],
    "vital_distributional_globalopinionqa.dup.json": [item(), item()],
    "vital_distributional_globalopinionqa.id_bool.json": [item(id=True)],
    "vital_distributional_globalopinionqa.id_list.json": [item(id=[1])],
    "vital_distributional_globalopinionqa.pred_neg.json": [item(pred_distribution=[-1.0, 2.0])],
    "vital_distributional_globalopinionqa.pred_nan.json": [item(pred_distribution=[float("nan"), 1.0])],
    "vital_distributional_globalopinionqa.pred_str.json": [item(pred_distribution="A")],
    "vital_distributional_globalopinionqa.pred_len.json": [item(pred_distribution=[1.0])],
    "vital_distributional_globalopinionqa.items_str.json": ["an item"],
    "vital_steerable_valuekaleidoscope.output_int.json": [{"situation": "x", "vrd": "Honesty", "label": "A", "output": 3, "id": 1}],
    "vital_steerable_valuekaleidoscope.label_bad.json": [{"situation": "x", "vrd": "Honesty", "label": "Z", "output": "A", "id": 1}],
    "vital_overton_valuekaleidoscope.output_list.json": [{"situation": "x", "vrd": ["a"], "explanation": ["b"], "output": ["A"], "id": 1}],
    "vital_overton_valuekaleidoscope.explanation_short.json": [{"situation": "x", "vrd": ["a", "b"], "explanation": ["b"], "id": 1}],
    "unnamed.json": [item()],
    "text.gguf": "not a gguf model",
    "latin1.toml": '[[persona]]\nname = "Caf\xe9"\n'.encode("latin-1"),
    "bad.toml": "[[persona]\nname = ",
    "no_entries.toml": 'title = "nothing"\n',
    "missing_field.toml": '[[persona]]\nname = "Half"\n',
    "wrong_type.toml": (
        '[[persona]]\nname = "Typed"\ncore_value = 3\nframework = "f"\nright_or_duty = "r"\nemotion = "e"\nstakeholder = "s"\n'
    ),
    "not_table.toml": "persona = [1, 2]\n",
    "prices_list.json": [1, 2],
    "prices_nan.json": '{"m": {"input": NaN, "output": 1}}',
    "prices_neg.json": {"m": {"input": -1, "output": 1}},
    "prices_str.json": {"m": {"input": "cheap", "output": 1}},
    "prices_missing.json": {"m": {"input": 1}},
    "a_file": "I am a file, not a folder",
    "config_unknown.toml": 'task = "steerable-opinionqa"\nbogus = 1\n',
    "config_value.toml": 'task = "steerable-opinionqa"\nn_personas = 0\n',
    "config_type.toml": 'task = "steerable-opinionqa"\nno_progress = "yes"\n',
    "config_table.toml": 'task = "steerable-opinionqa"\n[model]\nname = "x"\n',
    "config_task.toml": 'task = ["steerable-opinionqa", "nope"]\n',
    "empty_dir/": None,
    "runs_bad_metrics/x/metrics.json": "{ broken",
    "runs_list_metrics/x/metrics.json": [1],
    "runs_unknown_task/x/metrics.json": {"task": "nope", "method": "vanilla"},
    "eval_bad_config/vanilla/config.json": "{ broken",
    "eval_list_config/vanilla/config.json": [1],
    "records/runs/20260101-000000-aaaaaa/record.json": "{ cut",
}


INT_FLAGS = {
    "--n-personas": ["0", "-1", "25", "abc", "1.5", ""],
    "--persona-attempts": ["0", "x", "101"],
    "--persona-tokens": ["0", "-5", "2147483648"],
    "--comment-tokens": ["0", "nan"],
    "--moderator-tokens": ["0", "1e3"],
    "--samples": ["0", "-2", "10001"],
    "--seed": ["-1", "4294967296", "18446744073709551616", "x"],
    "--max-concurrency": ["0", "-3", "2000"],
    "--max-retries": ["-1", "101", "x"],
}
FLOAT_FLAGS = {
    "--rps": ["nan", "inf", "-inf", "0", "-1", "x", ""],
    "--timeout": ["nan", "inf", "0", "-0.5", "abc"],
}
RUN = ["run", "--model", "fake"]
EVAL = ["eval", "--task", "distributional-globalopinionqa", "--data", str(GOQA), "--model", "fake", "--no-progress"]


def numeric_cases() -> list[Case]:
    cases = []
    for flags in (INT_FLAGS, FLOAT_FLAGS):
        for flag, values in flags.items():
            for value in values:
                cases.append(Case([*RUN, SITUATION, f"{flag}={value}"], (f"argument {flag}:",)))
                cases.append(Case([*EVAL, f"{flag}={value}"], (f"argument {flag}:",)))
    for flag, values in {"--index": ["-1", "x"], "--limit": ["0", "-1", "x"], "--sample-seed": ["-1", "x"]}.items():
        command = RUN if flag == "--index" else EVAL
        cases += [
            Case([*command, f"{flag}={value}", *(["--item", str(GOQA)] if flag == "--index" else [])], (f"argument {flag}:",))
            for value in values
        ]
    cases += [Case(["runs", "--limit", value], ("argument --limit:",)) for value in ("-1", "0", "x")]
    return cases


HAND_WRITTEN = [
    # choices and names
    Case([*RUN, SITUATION, "--personas", "bogus"], ("argument --personas",)),
    Case([*RUN, SITUATION, "--mode", "vote"], ("unknown mode 'vote'",)),
    Case([*RUN, SITUATION, "--method", "bogus"], ("argument --method",)),
    Case(
        [*RUN, SITUATION, "--checkpointer", "redis://127.0.0.1:6379"], ("--checkpointer redis://127.0.0.1:6379: expected a postgresql://",)
    ),
    Case([*RUN, SITUATION, "--checkpointer", "{d}/a_file/sub.sqlite"], ("--checkpointer {d}/a_file/sub.sqlite: cannot open",)),
    Case([*RUN, "--resume", "20260101-000000-abcdef", "--checkpointer", "{d}/cp.sqlite"], ("no run '20260101-000000-abcdef'",)),
    Case([*EVAL, "--ray-actors", "2"], ("--ray-actors, --ray-cpus and --ray-gpus size the Ray actors: add --ray",)),
    Case([*EVAL, "--ray", "--max-concurrency", "2"], ("with --ray, use --ray-actors",)),
    Case([*EVAL, "--ray", "--ray-cpus", "0"], ("argument --ray-cpus",)),
    Case([*EVAL, "--ray", "--ray-gpus", "-1"], ("argument --ray-gpus",)),
    Case([*RUN, SITUATION, "--agent-variant", "bogus"], ("--agent-variant 'bogus'",)),
    Case(["eval", "--task", "bogus", "--data", str(GOQA)], ("argument --task",)),
    Case([*EVAL, "--method", "bogus"], ("argument --method",)),
    Case([*EVAL, "--sample", "bogus"], ("argument --sample",)),
    Case([*EVAL, "--parser", "bogus"], ("argument --parser",)),
    Case([*EVAL, "--ablation", "no-such-part"], ("--ablation 'no-such-part'",)),
    Case([*EVAL, "--ablation", "personas-0"], ("--ablation personas-0",)),
    Case([*EVAL, "--ablation", "personas-99"], ("--ablation personas-99",)),
    Case([*EVAL, "--method", "vanilla", "--ablation", "no-top-up"], ("--ablation",)),
    Case(
        [*EVAL, "--method", "vanilla", "--server", "http://127.0.0.1:9"],
        ("cannot reach the LangGraph server at http://127.0.0.1:9",),
        code=1,
    ),
    Case(["bogus-command"], ("invalid choice",)),
    Case(["run", "--no-such-flag"], ("unrecognized arguments: --no-such-flag",)),
    Case(["eval", "--data", str(GOQA)], ("--task",)),
    Case(["personas"], ("action",)),
    # the run command's input
    Case([*RUN, ""], ("text is empty",)),
    Case([*RUN, "   "], ("text is empty",)),
    Case([*RUN], ("text is empty",)),
    Case([*RUN, "--resume", ""], ("'' is not a run id",)),
    Case([*RUN, "--resume", "/etc/passwd"], ("'/etc/passwd' is not a run id",)),
    Case([*RUN, "--resume", "../x"], ("'../x' is not a run id",)),
    Case([*RUN, "--resume", "20990101-000000-ffffff"], ("no run '20990101-000000-ffffff'",)),
    Case([*RUN, "--resume", "20990101-000000-ffffff", SITUATION], ("--resume",)),
    Case([*RUN, SITUATION, "--item", str(GOQA)], ("either the text or --item",)),
    Case([*RUN, SITUATION, "--mode", "steerable"], ("--target",)),
    Case([*RUN, SITUATION, "--mode", "distributional"], ("--option",)),
    Case([*RUN, SITUATION, "--option", ""], ("option is empty",)),
    Case([*RUN, SITUATION, *[a for i in range(27) for a in ("--option", f"o{i}")]], ("at most 26 options",)),
    Case([*RUN, "--item", str(GOQA), "--index", "5"], ("--index 5 is out of range",)),
    Case(["run", "--model", "llama", SITUATION], ("unknown model 'llama'",)),
    Case(["run", "--model", "gguf:/no/such.gguf", SITUATION], ("model file not found: /no/such.gguf",)),
    Case(["run", "--model", "gguf:{d}/text.gguf", SITUATION], ("text.gguf",)),
    Case(["run", "--model", "gguf:", SITUATION], ("unknown model 'gguf:'",)),
    Case(["run", "--model", "hf:/no/such/dir", SITUATION], ("model directory not found: /no/such/dir",)),
    Case(["run", "--model", "hf:{d}/empty_dir", SITUATION], ("empty_dir",)),
    Case(["run", "--model", "openai:", SITUATION], ("unknown model 'openai:'",)),
    Case(["run", "--model", "openai:m", SITUATION], ("OPENAI_API_KEY",)),
    Case(["run", "--model", "openai:m", "--base-url", "not a url", SITUATION], ("--base-url",)),
    Case(["run", "--model", "openai:m", "--base-url", "ftp://127.0.0.1/v1", SITUATION], ("--base-url",)),
    Case(["run", "--model", "openai:m", "--base-url", "http://", SITUATION], ("--base-url",)),
    Case(["run", "--model", "openai:m", "--base-url", "http://127.0.0.1:port/v1", SITUATION], ("--base-url has an invalid port",)),
    Case(
        ["run", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0", SITUATION],
        ("cannot reach the model endpoint at http://127.0.0.1:9/v1",),
        code=1,
    ),
    # files given to run
    Case([*RUN, "--item", "/no/such.json"], ("item file not found: /no/such.json",)),
    Case([*RUN, "--item", "{d}"], ("{d}",)),
    Case([*RUN, "--item", "{d}/not_json.json"], ("not_json.json: not valid JSON (line 1",)),
    Case([*RUN, "--item", "{d}/latin1.json"], ("latin1.json",)),
    Case([*RUN, "--item", "{d}/empty_list.json"], ("empty_list.json: expected a non-empty JSON list",)),
    Case([*RUN, "--item", "{d}/object.json"], ("object.json: expected a non-empty JSON list",)),
    Case([*RUN, "--item", "{d}/ints.json"], ("ints.json: item 0: not a JSON object",)),
    Case([*RUN, "--item", "{d}/question_int.json"], ("question_int.json: item 0 (id 1): field 'question' has the wrong type (int)",)),
    Case([*RUN, "--item", "{d}/question_empty.json"], ("question_empty.json: item 0 (id 1): field 'question' is empty",)),
    Case([*RUN, "--item", "{d}/options_str.json"], ("options_str.json: item 0 (id 1): field 'options'",)),
    Case([*RUN, "--item", "{d}/options_int.json"], ("options_int.json: item 0 (id 1): field 'options'",)),
    Case([*RUN, "--item", "{d}/options_empty.json"], ("options_empty.json: item 0 (id 1): field 'options'",)),
    Case([*RUN, "--item", "{d}/option_blank.json"], ("option_blank.json: item 0 (id 1): field 'options'",)),
    Case([*RUN, "--item", "{d}/options_27.json"], ("options_27.json: item 0 (id 1): field 'options' has 27 options",)),
    Case([*RUN, "--item", "{d}/attribute_int.json"], ("attribute_int.json: item 0 (id 1): field 'attribute' has the wrong type",)),
    Case([*RUN, "--item", "{d}/situation_int.json"], ("situation_int.json: item 0 (id 1): field 'situation' has the wrong type",)),
    Case([*RUN, "--item", "{d}/vrd_int.json"], ("vrd_int.json: item 0 (id 1): field 'vrd' has the wrong type",)),
    Case([*RUN, SITUATION, "--persona-file", "/no/such.toml"], ("persona file not found: /no/such.toml",)),
    Case([*RUN, SITUATION, "--persona-file", "{d}/latin1.toml"], ("latin1.toml: not UTF-8",)),
    Case([*RUN, SITUATION, "--persona-file", "{d}/bad.toml"], ("bad.toml: not valid TOML",)),
    Case([*RUN, SITUATION, "--prices", "/no/prices.json"], ("/no/prices.json",)),
    Case([*RUN, SITUATION, "--prices", "{d}/not_json.json"], ("not_json.json",)),
    Case([*RUN, SITUATION, "--prices", "{d}/prices_list.json"], ("prices_list.json: a price table is a JSON object",)),
    Case([*RUN, SITUATION, "--prices", "{d}/prices_nan.json"], ("prices_nan.json: entry 'm'",)),
    Case([*RUN, SITUATION, "--prices", "{d}/prices_neg.json"], ("prices_neg.json: entry 'm'",)),
    Case([*RUN, SITUATION, "--prices", "{d}/prices_str.json"], ("prices_str.json: entry 'm'",)),
    Case([*RUN, SITUATION, "--prices", "{d}/prices_missing.json"], ("prices_missing.json: entry 'm'",)),
    Case([*RUN, SITUATION, "--prices", "{d}/latin1.json"], ("latin1.json",)),
    Case([*RUN, SITUATION, "--runs-dir", "{d}/a_file"], ("--runs-dir {d}/a_file is a file",)),
    Case([*RUN, SITUATION, "--runs-dir", "{d}/a_file/sub"], ("--runs-dir {d}/a_file/sub",)),
    # eval
    Case(["eval", "--task", "overton-vk", "--data", "/no/where"], ("--data /no/where does not exist",)),
    Case(["eval", "--task", "steerable-vk", "--data", str(FIXTURES.parent / "unit")], ("no vital_steerable_valuekaleidoscope",)),
    Case(["eval", "--task", "steerable-opinionqa", "--data", str(MORAL)], ("holds distributional-moralchoice items", "--task")),
    Case(["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/not_json.json"], ("not_json.json: not valid JSON",)),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.gold_nan.json"],
        ("gold_nan.json: item 0 (id 1): field 'gold_distribution'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.gold_inf.json"],
        ("gold_inf.json: item 0 (id 1): field 'gold_distribution'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.gold_neg.json"],
        ("gold_neg.json: item 0 (id 1): field 'gold_distribution'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.gold_len.json"],
        ("gold_len.json: item 0 (id 1): field 'gold_distribution'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.gold_str.json"],
        ("gold_str.json: item 0 (id 1): field 'gold_distribution'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.gold_zero.json"],
        ("gold_zero.json: item 0 (id 1): field 'gold_distribution'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.dup.json"],
        ("dup.json: item 1 (id 1): duplicate id '1'",),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.id_bool.json"],
        ("id_bool.json: item 0", "field 'id'"),
    ),
    Case(
        ["eval", "--task", "distributional-globalopinionqa", "--data", "{d}/vital_distributional_globalopinionqa.id_list.json"],
        ("id_list.json: item 0", "field 'id'"),
    ),
    Case(
        ["eval", "--task", "steerable-opinionqa", "--data", "{d}/steerable_no_attribute.json"],
        ("steerable_no_attribute.json: item 0 (id 1)",),
    ),
    Case(
        ["eval", "--task", "distributional-moralchoice", "--data", "{d}/unnamed.json"],
        ("unnamed.json: item 0 (id 1): this is not a distributional-moralchoice item",),
    ),
    Case([*EVAL, "--out", "{d}/a_file"], ("--out {d}/a_file is a file",)),
    Case([*EVAL, "--out", "{d}/a_file/sub"], ("--out {d}/a_file/sub",)),
    Case([*EVAL, "--runs-dir", "{d}/a_file"], ("--runs-dir {d}/a_file is a file",)),
    Case([*EVAL, "--method", "vanilla", "--out", "{d}/eval_bad_config"], ("eval_bad_config/vanilla/config.json",)),
    Case([*EVAL, "--method", "vanilla", "--out", "{d}/eval_list_config"], ("eval_list_config/vanilla/config.json",)),
    Case([*EVAL, "--prices", "{d}/prices_neg.json"], ("prices_neg.json: entry 'm'",)),
    Case([*EVAL, "--persona-file", "{d}/missing_field.toml"], ("missing_field.toml: persona 1 (Half): field",)),
    Case(
        ["eval", "--config", "{d}/config_unknown.toml", "--data", str(GOQA)], ("--config {d}/config_unknown.toml: unknown setting 'bogus'",)
    ),
    Case(
        ["eval", "--config", "{d}/config_value.toml", "--data", str(GOQA)],
        ("--config {d}/config_value.toml: 'n_personas' must be between 1 and 24, got 0",),
    ),  # checked by Context's field
    Case(
        ["eval", "--config", "{d}/config_type.toml", "--data", str(GOQA)],
        ("--config {d}/config_type.toml: 'no_progress' must be true or false",),
    ),
    Case(
        ["eval", "--config", "{d}/config_table.toml", "--data", str(GOQA)],
        ("--config {d}/config_table.toml: 'model' must be a value or a list of values",),
    ),
    Case(["eval", "--config", "{d}/config_task.toml", "--data", str(GOQA)], ("argument --task: unknown 'nope'",)),
    Case(["eval", "--config", "{d}/bad.toml", "--data", str(GOQA)], ("--config {d}/bad.toml: cannot read it",)),
    Case(["eval", "--config", "/no/such.toml"], ("--config /no/such.toml: cannot read it",)),
    # score
    Case(["score", "/no/such.json"], ("predictions file not found: /no/such.json",)),
    Case(["score", "{d}"], ("{d} is a folder",)),
    Case(["score", "{d}/unnamed.json"], ("cannot tell the task of {d}/unnamed.json", "--task")),
    Case(["score", "{d}/not_json.json", "--task", "overton-vk"], ("not_json.json: not valid JSON",)),
    Case(["score", "{d}/vital_distributional_globalopinionqa.pred_neg.json"], ("pred_neg.json: item 0 (id 1): field 'pred_distribution'",)),
    Case(["score", "{d}/vital_distributional_globalopinionqa.pred_nan.json"], ("pred_nan.json: item 0 (id 1): field 'pred_distribution'",)),
    Case(["score", "{d}/vital_distributional_globalopinionqa.pred_str.json"], ("pred_str.json: item 0 (id 1): field 'pred_distribution'",)),
    Case(["score", "{d}/vital_distributional_globalopinionqa.pred_len.json"], ("pred_len.json: item 0 (id 1): field 'pred_distribution'",)),
    Case(["score", "{d}/vital_distributional_globalopinionqa.gold_nan.json"], ("gold_nan.json: item 0 (id 1): field 'gold_distribution'",)),
    Case(["score", "{d}/vital_distributional_globalopinionqa.items_str.json"], ("items_str.json: item 0: not a JSON object",)),
    Case(
        ["score", "{d}/vital_steerable_valuekaleidoscope.output_int.json"], ("output_int.json: item 0 (id 1): field 'output' must be text",)
    ),
    Case(["score", "{d}/vital_steerable_valuekaleidoscope.label_bad.json"], ("label_bad.json: item 0 (id 1): field 'label'",)),
    Case(
        ["score", "{d}/vital_overton_valuekaleidoscope.output_list.json"], ("output_list.json: item 0 (id 1): field 'output' must be text",)
    ),
    Case(
        ["score", "{d}/vital_overton_valuekaleidoscope.explanation_short.json"],
        ("explanation_short.json: item 0 (id 1): field 'explanation'",),
    ),
    Case(["score", str(GOQA), "--task", "bogus"], ("argument --task",)),
    # report
    Case(["report", "/no/runs"], ("run directory not found: /no/runs",)),
    Case(["report", "{d}/empty_dir"], ("no finished runs",)),
    Case(["report", "{d}/runs_bad_metrics"], ("runs_bad_metrics/x/metrics.json: not a readable metrics file",)),
    Case(["report", "{d}/runs_list_metrics"], ("runs_list_metrics/x/metrics.json: not a metrics file",)),
    Case(["report", "{d}/runs_unknown_task"], ("runs_unknown_task/x/metrics.json: unknown task 'nope'",)),
    Case(["report", "{d}/a_file"], ("run directory not found: {d}/a_file",)),
    Case(["report", "{d}/empty_dir", "--out", "{d}/a_file"], ("no finished runs",)),
    # trace and runs
    Case(["trace", "/etc/passwd"], ("'/etc/passwd' is not a run id",)),
    Case(["trace", "../../x"], ("'../../x' is not a run id",)),
    Case(["trace", ""], ("'' is not a run id",)),
    Case(["trace", "*"], ("'*' is not a run id",)),
    Case(["trace", "20990101"], ("no run '20990101'",)),
    Case(["trace", "20260101", "--runs-dir", "{d}/records"], ("20260101-000000-aaaaaa/record.json: not a readable run record",)),
    Case(["trace", "20260101", "--runs-dir", "{d}/a_file"], ("no run '20260101'",)),
    # view
    Case(["view", "/no/such/folder"], ("'/no/such/folder' is not a run id",)),
    Case(["view", "20990101-000000-ffffff"], ("no run '20990101-000000-ffffff'",)),
    Case(["view", "{d}/empty_dir"], ("no finished runs",)),
    Case(["view", "{d}/runs_bad_metrics"], ("runs_bad_metrics/x/metrics.json: not a readable metrics file",)),
    # personas
    Case(["personas", "show", ""], ("personas show needs a name",)),
    Case(["personas", "show", "   "], ("personas show needs a name",)),
    Case(["personas", "show", "no such persona at all"], ("no persona named like 'no such persona at all'",)),
    Case(["personas", "validate", "/no/such.toml"], ("persona file not found: /no/such.toml",)),
    Case(["personas", "validate", "{d}/latin1.toml"], ("latin1.toml: not UTF-8",)),
    Case(["personas", "validate", "{d}/bad.toml"], ("bad.toml: not valid TOML",)),
    Case(["personas", "validate", "{d}/no_entries.toml"], ("no_entries.toml: no [[persona]] entries",)),
    Case(["personas", "validate", "{d}/missing_field.toml"], ("missing_field.toml: persona 1 (Half): field",)),
    Case(["personas", "validate", "{d}/wrong_type.toml"], ("wrong_type.toml: persona 1 (Typed): field 'core_value'",)),
    Case(["personas", "validate", "{d}/not_table.toml"], ("not_table.toml",)),
    Case(["personas", "list", "--persona-file", "{d}/latin1.toml"], ("latin1.toml: not UTF-8",)),
    Case(["personas", "list", "--persona-file", "/no/such.toml"], ("persona file not found: /no/such.toml",)),
    Case(["personas", "show", "x", "--persona-file", "{d}/bad.toml"], ("bad.toml: not valid TOML",)),
]


def _mutated_items(seed: int = 20261128, n: int = 48) -> list[tuple[str, str, object]]:
    """(task, field, value): one field of a fixture item replaced by a value of another kind."""
    rng = random.Random(seed)
    values = [None, 0, -1, 1.5, True, "", "   ", "x", [], [1, "a"], {}, {"a": 1}, float("nan"), "é" * 3, 10**30]
    tasks = {
        "distributional-globalopinionqa": GOQA,
        "distributional-moralchoice": MORAL,
        "steerable-opinionqa": FIXTURES / "vital_steerable_opinionqa.sample.json",
        "steerable-vk": FIXTURES / "vital_steerable_valuekaleidoscope.sample.json",
    }
    drawn = []
    for _ in range(n):
        task = rng.choice(sorted(tasks))
        fields = sorted(json.loads(tasks[task].read_text())[0])
        drawn.append((task, rng.choice(fields), rng.choice(values)))
    return drawn


CASES = numeric_cases() + HAND_WRITTEN
MUTATED = _mutated_items()


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    for name, content in FILES.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))
    return folder


def check_one_line(code: int, err: str, expected_code: int, names: tuple[str, ...]) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("ethos: error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err
    assert code == expected_code, err
    for name in names:
        assert name in errors[0], (name, errors[0])


def test_the_suite_holds_at_least_200_bad_inputs():
    assert len(CASES) + len(MUTATED) >= 200
    assert len({json.dumps(c.argv) for c in CASES}) == len(CASES)  # no case twice


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c.argv)[-70:])
def test_bad_input_gives_one_line_naming_it(case, bad, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    argv = [a.replace("{d}", str(bad)) for a in case.argv]
    code = main(argv)
    check_one_line(code, capsys.readouterr().err, case.code, tuple(n.replace("{d}", str(bad)) for n in case.names))


@pytest.mark.parametrize(("task", "field", "value"), MUTATED, ids=lambda v: repr(v)[:24])
def test_a_mutated_item_is_run_or_refused_by_name(task, field, value, tmp_path, capsys):
    source = {"distributional-globalopinionqa": GOQA, "distributional-moralchoice": MORAL}.get(
        task, FIXTURES / f"vital_{task.replace('-', '_').replace('vk', 'valuekaleidoscope')}.sample.json"
    )
    items = json.loads(source.read_text())[:1]
    items[0][field] = value
    path = tmp_path / source.name
    path.write_text(json.dumps(items))
    code = main(
        [
            "eval",
            "--task",
            task,
            "--data",
            str(path),
            "--method",
            "vanilla",
            "--model",
            "fake",
            "--no-progress",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    if code != 0:  # refused: the line names the file and the item
        check_one_line(code, err, 2, (f"{path}: item 0",))


class _Raises:
    def __init__(self):
        raise RuntimeError("plugin constructor broke")


@pytest.mark.parametrize(
    ("group", "target", "names"),
    [
        ("ethosagents.moderators", _Raises, ("moderator plugin 'broken' failed to start", "plugin constructor broke")),
        ("ethosagents.moderators", object(), ("moderator plugin 'broken' has no moderate() method",)),
        ("ethosagents.personas", lambda: 1 / 0, ("persona plugin 'broken' failed: ZeroDivisionError",)),
        ("ethosagents.personas", lambda: 42, ("persona plugin 'broken' returned int",)),
        ("ethosagents.personas", lambda: [{"name": "Only a name"}], ("persona plugin 'broken': persona 1 (Only a name): field",)),
        ("ethosagents.personas", lambda: "/no/such/personas.toml", ("persona plugin 'broken': persona file not found",)),
        ("ethosagents.persona_agents", 42, ("persona agent plugin 'broken' is not callable",)),
    ],
)
def test_a_broken_plugin_is_named(group, target, names, monkeypatch, capsys):
    import ethos.plugins
    from ethos.agents.moderators import moderators
    from ethos.agents.persona_agent import persona_agents
    from ethos.personas.library import _library

    real = ethos.plugins.entry_points

    def with_broken(group: str):
        broken = EntryPoint("broken", "broken_plugin:thing", group)
        return [*real(group=group), *([broken] if group == wanted else [])]

    wanted = group
    monkeypatch.setattr(ethos.plugins, "entry_points", with_broken)
    monkeypatch.setattr(EntryPoint, "load", lambda self: target if self.name == "broken" else _load(self))
    for cached in (moderators, persona_agents, _library):
        cached.cache_clear()
    try:
        code = main(["run", "--model", "fake", SITUATION])
        check_one_line(code, capsys.readouterr().err, 2, names)
    finally:
        monkeypatch.undo()
        for cached in (moderators, persona_agents, _library):
            cached.cache_clear()


_load = EntryPoint.load
