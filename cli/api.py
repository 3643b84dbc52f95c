"""The Python API: `ethos.evaluate`, `ethos.run`, `ethos.study` and `ethos.load`. The first three
take the command line's options as keyword arguments, with its defaults (the reference protocol for
an evaluation, as `ethos eval`; this project's for a run, as `ethos run`). Keyword arguments are
Python values, checked against the command's own options before any work: an unknown name is a
`TypeError` naming it, a bad value an `EthosError` (a `ValueError`-like one-line message); a
situation is plain text whatever it starts with, and nothing prints help.

    import ethos
    rows = ethos.evaluate("distributional-moralchoice", "vanilla", data="vital/", model="fake", limit=2)
    result = ethos.run("Should the nurse tell the patient about the error?", model="fake")
    tables = ethos.study("study.toml", seeds=[0, 1])
    df = ethos.load("~/.local/share/ethosagents/study/study")  # one row per item
"""

from __future__ import annotations

import argparse
import io
from contextlib import redirect_stderr
from pathlib import Path

from ethos.errors import EthosError


def _argv(command: str, positional: list[str], options: dict) -> list[str]:
    """`options` as the command's flags: a setting by its own flag (`requests_per_second` is
    `--rps`), anything else as `--name-with-dashes`; True is a switch, a list repeats the flag.
    Positional text comes last, after `--`, so that text starting with "-" stays text."""
    from ethos.graph.context import Context

    flags = {name: about["flag"] for name, about in Context.settings().items() if about.get("flag")} | {"options": "--option"}
    argv = [command]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = flags.get(name) or "--" + name.replace("_", "-")
        for one in value if isinstance(value, (list, tuple)) else [value]:
            argv += [flag] if one is True else [flag, str(one)]
    return argv + (["--", *positional] if positional else [])


def _checked(options: dict) -> None:
    """Every keyword names one of run's options, by its whole name (an abbreviation or `help` would
    reach argparse as a flag of its own), with a value of its kind."""
    from ethos.cli.parsing import build_parser

    parser = build_parser()
    sub = parser.run_parser
    actions = {a.dest: a for a in sub._actions if a.dest not in ("help", "text")}
    actions["options"] = actions.get("option")
    for name, value in options.items():
        if name not in actions:
            raise TypeError(f"ethos.run() got an unknown option {name[:40]!r}")
        repeats = isinstance(actions[name], argparse._AppendAction) or name in ("method", "task")  # comma lists
        if isinstance(value, (list, tuple)) and not repeats:
            raise TypeError(f"option {name!r}: takes one value, got a list")
        for one in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(one, (str, int, float, bool, Path, type(None))):
                raise TypeError(f"option {name!r}: expected text, a number or True/False, got {type(one).__name__}")


def _parsed(argv: list[str]):
    from ethos.cli.parsing import build_parser
    from ethos.cli.render import configure_output

    errors = io.StringIO()
    try:
        with redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit:
        lines = errors.getvalue().strip().splitlines() or ["invalid arguments"]
        raise EthosError(lines[-1].removeprefix("ethos: error: ")) from None
    configure_output(args)
    return args


def evaluate(task: str, method: str | list[str] = "ethosagents", data: str | Path | None = None, **options) -> list[dict]:
    """Evaluate `method` (or several) on a VITAL `task`, as `ethos eval` does, and return its rows:
    one metrics dict per method, with intervals, counts and fallbacks. `options` are eval's flags
    by name, as Python values (`model`, `limit`, `seed`, `protocol`, `out`, `runs_dir`, ...): the
    spec they make is the command line's (`evaluation/spec.py`)."""
    from ethos.evaluation.evaluate import evaluate as run_spec
    from ethos.evaluation.spec import EvalSpec

    if not isinstance(task, str) or not (isinstance(method, str) or all(isinstance(m, str) for m in method)):
        raise TypeError("ethos.evaluate(): `task` and `method` are names (text, or a list of method names)")
    if data is None:
        raise TypeError("ethos.evaluate(): `data` is the folder of VITAL files (or a task file)")
    spec = EvalSpec.build(task=task, method=method, data=Path(data), progress=False, **options)
    return [row for rows in run_spec(spec) for row in rows]


def run(situation: str, **options) -> dict:
    """One run of the persona graph on `situation`, as `ethos run` makes it, its record written:
    returned as `ethos run --json` prints it (run id, personas, comments, `result`, fallbacks,
    usage, seconds). `options` are run's flags (`model`, `mode`, `option`, `target`, `attribute`,
    `seed`, ...)."""
    from ethos.cli.run import execute_run

    if not isinstance(situation, str):
        raise TypeError(f"ethos.run(): the situation is text, got {type(situation).__name__}")
    from ethos.graph.context import RENAMED

    options = {RENAMED.get(k, k): v for k, v in options.items()}
    _checked(options)
    args = _parsed(_argv("run", [situation], options))
    args.api = True  # no live view, no progress notes
    return execute_run(args)


def study(file: str | Path | None = None, **overrides) -> list[dict]:
    """A study, as `ethos study FILE` runs it (done cells reused), returning its tables; `overrides`
    are the study file's keys (`models`, `methods`, `tasks`, `seeds`, `against`, `data`, `limit`,
    any of eval's settings, and `out`, `runs_dir`)."""
    from ethos.cli.study import run_study_file

    return run_study_file(Path(file) if file is not None else None, overrides, say=lambda message: None)


def load(path: str | Path):
    """Evaluation results as a pandas DataFrame, one row per item: from an eval folder, a runs
    folder or a study's output folder (see `evaluation/frames.py`)."""
    from ethos.evaluation.frames import load_items

    return load_items(Path(path).expanduser())
