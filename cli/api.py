"""The Python API: `ethos.evaluate` and `ethos.run` take the command line's options as keyword
arguments and go through its parser, so their defaults are the CLI's (the reference protocol for
an evaluation, as `ethos eval`; this project's for a run, as `ethos run`) and a bad value gets the
CLI's one-line error, raised as `EthosError`.

    import ethos
    rows = ethos.evaluate("distributional-moralchoice", "vanilla", data="vital/", model="fake", limit=2)
    state = ethos.run("Should the nurse tell the patient about the error?", model="fake")
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr
from pathlib import Path

from ethos.errors import EthosError


def _argv(command: str, positional: list[str], options: dict) -> list[str]:
    """`options` as the command's flags: a setting by its own flag (`requests_per_second` is
    `--rps`), anything else as `--name-with-dashes`; True is a switch, a list repeats the flag."""
    from ethos.graph.context import Context

    flags = {name: about["flag"] for name, about in Context.settings().items() if about.get("flag")} | {"options": "--option"}
    argv = [command, *positional]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = flags.get(name) or "--" + name.replace("_", "-")
        for one in value if isinstance(value, (list, tuple)) else [value]:
            argv += [flag] if one is True else [flag, str(one)]
    return argv


def _parsed(argv: list[str]):
    from ethos.cli.parsing import build_parser
    from ethos.cli.render import configure_output

    errors = io.StringIO()
    try:
        with redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit:
        raise EthosError(errors.getvalue().strip().splitlines()[-1].removeprefix("ethos: error: ") or "invalid arguments") from None
    configure_output(args)
    return args


def evaluate(task: str, method: str | list[str] = "ethosagents", data: str | Path | None = None, **options) -> list[dict]:
    """Evaluate `method` (or several) on a VITAL `task`, as `ethos eval` does, and return its rows:
    one metrics dict per method, with intervals, counts and fallbacks. `options` are eval's flags
    (`model`, `limit`, `seed`, `protocol`, `out`, `runs_dir`, ...)."""
    from ethos.cli.evaluate import evaluate_tasks

    methods = method if isinstance(method, str) else ",".join(method)  # eval's --method takes a comma list
    args = _parsed(_argv("eval", [], {"task": task, "method": methods, "data": data, "no_progress": True, **options}))
    args.table = False
    return [row for rows in evaluate_tasks(args) for row in rows]


def run(situation: str, **options) -> dict:
    """One run of the persona graph on `situation`, as `ethos run --model ...` does without its live
    view and record: the graph's final state (personas, comments, `result`). `options` are run's
    flags (`model`, `mode`, `option`, `target`, `attribute`, `seed`, ...)."""
    from ethos.cli.common import context_from, prepare_backends, runs_dir_of
    from ethos.cli.run import request_from
    from ethos.graph.graph_run import GraphRun
    from ethos.graph.state import validate_request

    args = _parsed(_argv("run", [situation], options))
    ctx = context_from(args)
    prepare_backends(ctx, args, runs_dir_of(args))
    with GraphRun() as graph_run:
        return graph_run.invoke(validate_request(request_from(args)), ctx)
