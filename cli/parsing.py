"""The `ethos` command line's parser: its commands and their flags (the run settings' come from
`Context`; the flag types and the groups several commands share are in `flags.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ethos.cli.flags import (
    Parser,
    add_model_arguments,
    add_runs_arguments,
    add_scoring_arguments,
    comma_list,
    integer,
    number,
    path,
    values_list,
    version,
)
from ethos.evaluation.data import FILES
from ethos.evaluation.tasks import SAMPLES
from ethos.graph.ablations import ABLATIONS
from ethos.graph.methods import METHODS
from ethos.graph.setting import SEED_MAX
from ethos.plugins import TASKS as TASK_GROUP
from ethos.plugins import group_names

EXAMPLE = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def build_parser() -> argparse.ArgumentParser:
    # Only light imports here: `ethos --help` and `ethos personas list` start without torch,
    # LangChain or LangGraph. Modes are checked when the request is (plugins may add modes).

    TASKS = group_names(TASK_GROUP)  # the registered tasks' names, none of them loaded

    parser = Parser(
        prog="ethos",
        description="Role-driven pluralistic alignment for health care.",
        epilog="Exit status: 0 done, 1 runtime failure (endpoint, model, failed items), 2 usage or input error, 130 interrupted "
        "(Ctrl-C), 143 terminated (SIGTERM).",
    )
    parser.add_argument("--debug", action="store_true", help="on an error, also print the traceback (or set ETHOS_DEBUG=1)")
    parser.add_argument("--version", action="version", version=f"ethos {version()}")
    # -q and -v after any command: `ethos run -q ...`, `ethos eval -v ...`
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only results, warnings and errors: no progress or notes")
    calls = argparse.ArgumentParser(add_help=False, parents=[common])  # the commands that call models
    calls.add_argument("-v", "--verbose", action="store_true", help="also log each model call as it ends (role, model, tokens, seconds)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = commands.add_parser(
        "run",
        parents=[calls],
        help="generate personas, draft their comments in parallel, and moderate them",
        description=f'Example: ethos run "{EXAMPLE}"',
    )
    run.add_argument("text", nargs="?", help="the health situation or survey question")
    run.add_argument(
        "--mode", help="how the moderator combines the comments: overton (default), steerable, distributional, or a plugin's mode"
    )
    run.add_argument("--target", help="steerable: a value/right/duty, a VITAL group code such as POLPARTY_Democrat, or plain words")
    run.add_argument("--option", action="append", dest="options", metavar="TEXT", help="an answer option (repeat for each)")
    run.add_argument("--attribute", help="distributional: the population answering, e.g. a country")
    run.add_argument(
        "--method",
        choices=list(METHODS),
        help="ethosagents (default: the published method), or a baseline run as a "
        "configuration of the same graph: " + ", ".join(m for m in METHODS if m != "ethosagents"),
    )
    run.add_argument("--item", type=path, metavar="FILE", help="run an item from a file in the VITAL schema")
    run.add_argument("--index", type=integer(0), default=0, metavar="N", help="which item of --item to run (0-based, default 0)")
    run.add_argument("--json", action="store_true", help="print one machine-readable JSON result")
    run.add_argument("--trace", action="store_true", help="print the agent conversation as a tree, live, as agents finish")
    run.add_argument(
        "--resume", metavar="RUN_ID", help="continue an interrupted or failed run from its last checkpoint (a run id, or last)"
    )
    run.add_argument(
        "--checkpointer",
        metavar="URI|FILE",
        help="where checkpoints go: a postgresql:// URI (resumable from any machine that reaches it; the postgres extra) "
        "or a SQLite file (default: checkpoints.sqlite in the runs folder, or $ETHOS_CHECKPOINTER)",
    )
    run.add_argument(
        "--diversity",
        action="store_true",
        help="also measure the persona set's embedding diversity (loads torch and MiniLM: about 6 s and 430 MB)",
    )
    add_model_arguments(run)

    evaluate = commands.add_parser(
        "eval",
        parents=[calls],
        help="run methods over a VITAL task file and score them (resumable)",
        epilog="Example: ethos eval --task distributional-moralchoice --method all --data vital --limit 20 "
        "(the same command again resumes it; `ethos report` and `ethos view` compare the rows)",
    )
    evaluate.add_argument(
        "--task",
        type=comma_list(list(TASKS)),
        metavar="TASKS",
        help=f"one or more of {', '.join(TASKS)} (required; comma-separated; --data is then a folder)",
    )
    evaluate.add_argument(
        "--method",
        type=comma_list(list(METHODS), every="all"),
        metavar="METHODS",
        help=f"one or more of {', '.join(METHODS)}, or all (comma-separated; default ethosagents)",
    )
    evaluate.add_argument("--json", action="store_true", help="print the metrics of every task and method as one JSON list")
    evaluate.add_argument(
        "--config",
        type=path,
        metavar="FILE.toml",
        help="settings from a TOML file, keys named as the flags (task, method, data, model, n_personas, ablation, ...); "
        "flags on the command line win",
    )
    evaluate.add_argument("--data", type=path, metavar="PATH", help="the task's VITAL file, or a folder of VITAL files (required)")
    evaluate.add_argument("--limit", type=integer(), metavar="N", help="only N items, drawn over distinct questions (see --sample)")
    evaluate.add_argument(
        "--sample",
        choices=list(SAMPLES),
        default=SAMPLES[0],
        help="how --limit picks items: spread over questions, seeded (default), or the first N in the file",
    )
    evaluate.add_argument("--sample-seed", type=integer(0, SEED_MAX), default=0, metavar="N", help="seed of the spread sample (default 0)")
    evaluate.add_argument(
        "--ablation",
        action="append",
        default=[],
        metavar="NAMES",
        help="also run ethosagents with these parts switched off, as its own row; a protocol's ablation "
        "(ethos-NAME: this project's choice under the reference protocol; reference-NAME: the reference's way "
        "under --protocol ethos) makes a row of every method (repeatable; comma-join names to combine): " + ", ".join(ABLATIONS),
    )
    evaluate.add_argument("--out", type=path, metavar="DIR", help="where predictions and results go (default: under the runs directory)")
    evaluate.add_argument("--nli-model", metavar="DIR", help="local NLI model for value coverage (e.g. deberta-v2-xlarge-mnli)")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.add_argument("--server", metavar="URL", help="run the graph on a LangGraph server (langgraph dev, LangGraph Server)")
    ray = evaluate.add_argument_group("Ray (the ray extra)", "items on a Ray cluster: one actor per worker holds its models")
    ray.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run items on Ray actors: `local` (the default) starts a cluster on this machine; HOST:PORT, ray://HOST:PORT "
        "or auto joins a running one",
    )
    ray.add_argument("--ray-actors", type=integer(1, 4096), metavar="N", help="actors (default: the cluster's CPUs / --ray-cpus)")
    ray.add_argument("--ray-cpus", type=number(above=True), default=1.0, metavar="X", help="CPUs per actor (default 1)")
    ray.add_argument(
        "--ray-gpus",
        type=number(0, 1024),
        default=0.0,
        metavar="X",
        help="GPUs per actor (default 0; e.g. 1 for the hf backend on GPU workers)",
    )
    add_scoring_arguments(evaluate)
    add_model_arguments(evaluate, "eval")

    study = commands.add_parser(
        "study",
        parents=[common],
        help="the paper's experiment in one command: every model × task × method × seed as an eval (resumable), then its table",
        epilog="A study file names the grid (models, methods, tasks, seeds; against) and any of eval's settings, keys named as "
        "its flags (data, limit, protocol, ablations, n_personas, ...). A model may be a table: "
        '{spec = "openai:m", base_url = "...", api_key_env = "M_API_KEY", rps = 4, max_concurrency = 8, prices = "prices.json"}. '
        "Flags on the command line win.",
    )
    study.add_argument("file", type=path, nargs="?", metavar="FILE.toml", help="the study file")
    study.add_argument("--models", type=values_list(), metavar="SPECS", help="model specs, comma-separated")
    study.add_argument("--methods", type=comma_list(list(METHODS)), metavar="METHODS", help="methods, comma-separated")
    study.add_argument("--tasks", type=comma_list(list(TASKS)), metavar="TASKS", help="tasks, comma-separated")
    study.add_argument("--seeds", type=values_list(integer(0, SEED_MAX)), metavar="SEEDS", help="seeds, comma-separated (default 0)")
    study.add_argument("--data", metavar="PATH", help="a folder of VITAL files")
    study.add_argument("--limit", type=integer(), metavar="N", help="only N items of each task, drawn over distinct questions")
    study.add_argument("--against", metavar="METHOD", help="the method every other is compared with, paired within each model")
    study.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any of eval's settings, as in the file (repeatable)"
    )
    study.add_argument("--dry-run", action="store_true", help="the cells, calls, tokens, cost and time the study will take; calls no model")
    study.add_argument(
        "--detect",
        type=number(above=True),
        metavar="X",
        help="with --dry-run: the questions (at the study's seeds) needed for a paired interval of half-width X, from earlier cells",
    )
    study.add_argument("--out", type=path, metavar="DIR", help="where the tables go (default: RUNS/study/FILE-STEM)")
    study.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run the cells' items on Ray actors, each model on its share of the cluster: `local` (the default) starts one "
        "on this machine; HOST:PORT, ray://HOST:PORT or auto joins a running one",
    )
    add_runs_arguments(study)

    score = commands.add_parser("score", parents=[common], help="score a predictions file in the VITAL schema")
    score.add_argument("file", type=path)
    score.add_argument(
        "--task", choices=list(TASKS), help="default: eval's config.json beside the file says it, else the file's name (vital_TASK...)"
    )
    score.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    score.add_argument("--nli-model", metavar="DIR", help="local NLI model for value coverage")
    add_scoring_arguments(score)

    personas = commands.add_parser("personas", parents=[common], help="list, show or validate the persona library")
    actions = personas.add_subparsers(dest="action", required=True, parser_class=Parser)
    listing = actions.add_parser("list", parents=[common], help="every persona: curated, user folder, plugins and --persona-file")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--roles", action="store_true", help="also list the registered moderators and persona-agent variants")
    listing.add_argument("--persona-file", action="append", default=[], metavar="FILE")
    show = actions.add_parser("show", parents=[common], help="one persona in full")
    show.add_argument("name")
    show.add_argument("--persona-file", action="append", default=[], metavar="FILE")
    validate = actions.add_parser("validate", parents=[common], help="check persona files (default: the whole library)")
    validate.add_argument("paths", nargs="*", type=path, metavar="PATH", help="persona files or folders (default: the whole library)")

    data = commands.add_parser("data", parents=[common], help="fetch the VITAL files from their public repository, or check them")
    data_actions = data.add_subparsers(dest="action", required=True, parser_class=Parser)
    fetch = data_actions.add_parser("fetch", parents=[common], help="download the VITAL task files and check them (schema and SHA-256)")
    fetch.add_argument(
        "--source",
        metavar="URL|DIR",
        help="a mirror holding the files as URL/NAME, a file:// URL or a local folder (default: github.com/anudeex/VITAL at "
        "the commit that holds each file): " + ", ".join(FILES),
    )
    fetch.add_argument("--timeout", type=number(above=True), default=60.0, metavar="S", help="seconds for each whole file (default 60)")
    check = data_actions.add_parser("check", parents=[common], help="check the files in the folder against its SHA256SUMS")
    check.add_argument(
        "--init",
        action="store_true",
        help="first record files placed there by hand (each checked as eval loads it) in SHA256SUMS",
    )
    for action in (fetch, check):
        action.add_argument("--into", type=path, default=Path("vital"), metavar="DIR", help="the data folder (default: ./vital)")

    runs = commands.add_parser("runs", parents=[common], help="list recent runs")
    runs.add_argument("--limit", type=integer(), default=20, metavar="N", help="the N most recent runs that match (default 20)")
    runs.add_argument("--json", action="store_true", help="one JSON list instead of the table")
    runs.add_argument("--kind", choices=["run", "eval"], help="only `ethos run` runs, or only eval items")
    runs.add_argument("--method", choices=list(METHODS), help="only runs of this method")
    runs.add_argument("--status", choices=["ok", "failed", "interrupted", "running"], help="only runs with this status")
    runs.add_argument("--model", metavar="SPEC", help="only runs that used this model in any role")
    add_runs_arguments(runs)

    trace = commands.add_parser("trace", parents=[common], help="show a run's agent conversation as a tree")
    trace.add_argument("run_id", metavar="RUN_ID", help="a run id, its unique beginning, or last (the newest run)")
    trace.add_argument("--json", action="store_true", help="export the whole record as JSON")
    trace.add_argument("--full", action="store_true", help="show prompts and replies in full")
    add_runs_arguments(trace)

    view = commands.add_parser("view", parents=[common], help="write a run or an evaluation as one self-contained HTML page (offline)")
    view.add_argument(
        "targets",
        nargs="+",
        metavar="RUN_ID|EVAL_DIR",
        help="a run id (its unique beginning, or last), or one or more evaluation folders to compare",
    )
    view.add_argument(
        "--out", type=path, metavar="FILE", help="where the page goes (default: view.html in the run's or the evaluation's folder)"
    )
    view.add_argument(
        "--against", metavar="ROW", help="evaluations: the row every other row is compared with, paired (as in `ethos report`)"
    )
    add_runs_arguments(view)

    report = commands.add_parser("report", parents=[common], help="turn finished eval runs into a Markdown report with plots")
    report.add_argument(
        "run_dirs",
        nargs="+",
        type=path,
        metavar="RUN_DIR",
        help="evaluation folders (eval's --out, or RUNS/eval/MODEL/...): every metrics.json under them is a row",
    )
    report.add_argument(
        "--out",
        type=path,
        metavar="DIR",
        help="where report.md and its charts go (default: RUN_DIR/report for one folder; for several, RUN_DIR/report-ID, "
        "one folder per set of folders compared)",
    )
    report.add_argument(
        "--against",
        metavar="ROW",
        help="the row every other row is compared with, paired on the same items "
        "(a method, with its ablations as in the table: `ethosagents [no-top-up]`; default vanilla, else the first row)",
    )
    parser.eval_parser = evaluate  # where `--config` sets its defaults (with_config)
    parser.run_parser = run  # the Python API checks its keyword arguments against these
    return parser
