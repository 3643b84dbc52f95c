"""The `ethos` command line's parser: commands, flags (the run settings' come from `Context`), checked
argument types that name the flag, and `eval --config FILE.toml`."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ethos.errors import EthosError
from ethos.graph.ablations import ABLATIONS
from ethos.graph.setting import INT_MAX, SEED_MAX
from ethos.inputs import read_text

EXAMPLE = "A family asks a doctor to withhold a terminal diagnosis from their mother."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        self.exit(2, f"ethos: error: {message} (see `{self.prog} --help`)\n")


def _integer(low: int = 1, high: int = INT_MAX):
    """An argparse type: an integer in [low, high]; argparse names the flag in its message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            bound = f"at least {low}" if high == INT_MAX else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


def _number(low: float = 0.0, high: float = math.inf, *, above: bool = False):
    """An argparse type: a finite number in [low, high], or above `low` (nan and inf are refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and (value > low if above else low <= value <= high)):
            bound = f"above {low:g}" if above else f"between {low:g} and {high:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value

    return parse


def _setting(name: str, kind: str):
    """An argparse type for a run setting: the number, checked by the setting's own field
    (`Context.check`), so that a flag and a context give the same message."""

    def parse(text: str):
        from ethos.graph.context import Context

        try:
            value = int(text) if kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind == 'int' else 'a number'}, got {text!r}") from None
        try:
            return Context.check(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _comma_list(choices, every: str | None = None):
    """An argparse type: one or more comma-separated names from `choices` (`every` stands for all)."""

    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if every and every in names:
            return list(choices)
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            what = f"unknown {unknown[0]!r}" if unknown else "an empty list"
            raise argparse.ArgumentTypeError(f"{what}: choose from {', '.join(choices)}{f' or {every}' if every else ''} (comma-separated)")
        return list(dict.fromkeys(names))

    return parse


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The run settings' flags, made from `graph/context.py`'s `Context` (help, bounds and defaults
    live there, once), plus the CLI's own conveniences."""
    from ethos.agents.models import SPEC_HELP
    from ethos.graph.context import Context

    groups = {
        "models": parser.add_argument_group("models", f"a model spec is one of: {SPEC_HELP}"),
        "method settings": parser.add_argument_group("method settings (defaults follow the published method)"),
    }
    groups["models"].add_argument("--model", metavar="SPEC", help="model for every role (default: embedded, or $ETHOS_MODEL)")
    for name, s in Context.settings().items():
        if not s["flag"]:
            continue
        default = f" (default {s['default']})" if s["default"] not in (None, []) and s["type"] != "list" else ""
        options: dict = {
            "dest": name,
            "help": s["help"] + default,
            "default": None,
            "metavar": s["metavar"] or "NAME",
        }  # None: the Context's default
        if s["type"] == "list":
            options |= {"action": "append", "default": []}
        elif s["choices"]:
            options |= {"choices": s["choices"], "metavar": None}
        elif s["type"] in ("int", "float"):
            options |= {"type": _setting(name, s["type"]), "metavar": "N" if s["type"] == "int" else "X"}
        groups[s["group"]].add_argument(s["flag"], **options)
    groups["method settings"].add_argument(
        "--max-concurrency",
        type=_integer(1, 1024),
        metavar="N",
        help="persona agents (run; default: all at once) or items (eval; default 4, measured in docs/scaling.md) in flight at once",
    )
    _add_runs_arguments(parser)
    _add_otel_argument(parser)
    parser.add_argument("--no-cache", action="store_true", help="call the models even where the model-call cache has the answer")
    parser.add_argument(
        "--prices", type=Path, metavar="FILE", help='JSON price table {"MODEL": {"input": USD/1M, "output": USD/1M}} for cost'
    )


def _add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument(
        "--parser",
        choices=["reference", "strict"],
        default="reference",
        help="steerable ValueKaleidoscope answers: the reference evaluation's rules (default) or a leading letter only",
    )


def _add_otel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--otel",
        metavar="URL",
        help="export each run's spans (OpenInference) to an OTLP/HTTP receiver such as Arize "
        "Phoenix, e.g. http://127.0.0.1:6006 (default: $OTEL_EXPORTER_OTLP_ENDPOINT, or off)",
    )


def _add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        type=Path,
        metavar="DIR",
        help="records (DIR/runs/RUN_ID), checkpoints, cache and evaluations (default: $ETHOS_RUNS_DIR or ~/.local/share/ethosagents)",
    )


def _version() -> str:
    from ethos.versions import package_version

    return package_version()


def build_parser() -> argparse.ArgumentParser:
    # Only light imports here: `ethos --help` and `ethos personas list` start without torch,
    # LangChain or LangGraph. Modes are checked when the request is (plugins may add modes).
    from ethos.evaluation.tasks import METHODS, TASKS

    parser = _Parser(
        prog="ethos",
        description="Role-driven pluralistic alignment for health care.",
        epilog="Exit status: 0 done, 1 runtime failure (endpoint, model, failed items), 2 usage or input error, 130 interrupted.",
    )
    parser.add_argument("--debug", action="store_true", help="on an error, also print the traceback (or set ETHOS_DEBUG=1)")
    parser.add_argument("--version", action="version", version=f"ethos {_version()}")
    # -q and -v after any command: `ethos run -q ...`, `ethos eval -v ...`
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only results, warnings and errors: no progress or notes")
    common.add_argument("-v", "--verbose", action="store_true", help="also log each model call as it ends (role, model, tokens, seconds)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run",
        parents=[common],
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
        "configuration of the same graph: vanilla, prompting, moe, modplural",
    )
    run.add_argument("--item", type=Path, metavar="FILE", help="run an item from a file in the VITAL schema")
    run.add_argument("--index", type=_integer(0), default=0, metavar="N", help="which item of --item to run (0-based, default 0)")
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
    _add_model_arguments(run)

    evaluate = commands.add_parser("eval", parents=[common], help="run methods over a VITAL task file and score them (resumable)")
    evaluate.add_argument(
        "--task",
        type=_comma_list(list(TASKS)),
        metavar="TASKS",
        help=f"one or more of {', '.join(TASKS)} (required; comma-separated; --data is then a folder)",
    )
    evaluate.add_argument(
        "--method",
        type=_comma_list(list(METHODS), every="all"),
        metavar="METHODS",
        help=f"one or more of {', '.join(METHODS)}, or all (comma-separated; default ethosagents)",
    )
    evaluate.add_argument("--json", action="store_true", help="print the metrics of every task and method as one JSON list")
    evaluate.add_argument(
        "--config",
        type=Path,
        metavar="FILE.toml",
        help="settings from a TOML file, keys named as the flags (task, method, data, model, n_personas, ablation, ...); "
        "flags on the command line win",
    )
    evaluate.add_argument("--data", type=Path, metavar="PATH", help="the task's VITAL file, or a folder of VITAL files (required)")
    evaluate.add_argument("--limit", type=_integer(), metavar="N", help="only N items, drawn over distinct questions (see --sample)")
    evaluate.add_argument(
        "--sample",
        choices=["spread", "first"],
        default="spread",
        help="how --limit picks items: spread over questions, seeded (default), or the first N in the file",
    )
    evaluate.add_argument("--sample-seed", type=_integer(0, SEED_MAX), default=0, metavar="N", help="seed of the spread sample (default 0)")
    evaluate.add_argument(
        "--ablation",
        action="append",
        default=[],
        metavar="NAMES",
        help="also run ethosagents with these parts switched off, as its own row; a protocol's ablation "
        "(ethos-NAME: this project's choice under the reference protocol; reference-NAME: the reference's way "
        "under --protocol ethos) makes a row of every method (repeatable; comma-join names to combine): " + ", ".join(ABLATIONS),
    )
    evaluate.add_argument("--out", type=Path, metavar="DIR", help="where predictions and results go (default: under the runs directory)")
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
    ray.add_argument("--ray-actors", type=_integer(1, 4096), metavar="N", help="actors (default: the cluster's CPUs / --ray-cpus)")
    ray.add_argument("--ray-cpus", type=_number(above=True), default=1.0, metavar="X", help="CPUs per actor (default 1)")
    ray.add_argument(
        "--ray-gpus",
        type=_number(0, 1024),
        default=0.0,
        metavar="X",
        help="GPUs per actor (default 0; e.g. 1 for the hf backend on GPU workers)",
    )
    _add_scoring_arguments(evaluate)
    _add_model_arguments(evaluate)

    score = commands.add_parser("score", parents=[common], help="score a predictions file in the VITAL schema")
    score.add_argument("file", type=Path)
    score.add_argument("--task", choices=list(TASKS), help="default: read from the file name")
    score.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    score.add_argument("--nli-model", metavar="DIR", help="local NLI model for value coverage")
    _add_scoring_arguments(score)

    personas = commands.add_parser("personas", parents=[common], help="list, show or validate the persona library")
    actions = personas.add_subparsers(dest="action", required=True, parser_class=_Parser)
    listing = actions.add_parser("list", parents=[common], help="every persona: curated, user folder, plugins and --persona-file")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--roles", action="store_true", help="also list the registered moderators and persona-agent variants")
    listing.add_argument("--persona-file", action="append", default=[], metavar="FILE")
    show = actions.add_parser("show", parents=[common], help="one persona in full")
    show.add_argument("name")
    show.add_argument("--persona-file", action="append", default=[], metavar="FILE")
    validate = actions.add_parser("validate", parents=[common], help="check persona files (default: the whole library)")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH")

    data = commands.add_parser("data", parents=[common], help="fetch the VITAL files from their public repository, or check them")
    data_actions = data.add_subparsers(dest="action", required=True, parser_class=_Parser)
    fetch = data_actions.add_parser("fetch", parents=[common], help="download the VITAL task files and check them (schema and SHA-256)")
    fetch.add_argument(
        "--source",
        metavar="URL",
        help="a mirror holding the files as URL/NAME (default: github.com/anudeex/VITAL at the commit that holds each file)",
    )
    fetch.add_argument("--timeout", type=_number(above=True), default=60.0, metavar="S", help="seconds for each file (default 60)")
    check = data_actions.add_parser("check", parents=[common], help="check the files in the folder against its SHA256SUMS")
    for action in (fetch, check):
        action.add_argument("--into", type=Path, default=Path("vital"), metavar="DIR", help="the data folder (default: ./vital)")

    runs = commands.add_parser("runs", parents=[common], help="list recent runs")
    runs.add_argument("--limit", type=_integer(), default=20, metavar="N", help="the N most recent runs that match (default 20)")
    runs.add_argument("--json", action="store_true", help="one JSON list instead of the table")
    runs.add_argument("--kind", choices=["run", "eval"], help="only `ethos run` runs, or only eval items")
    runs.add_argument("--method", choices=list(METHODS), help="only runs of this method")
    runs.add_argument("--status", choices=["ok", "failed", "interrupted", "running"], help="only runs with this status")
    runs.add_argument("--model", metavar="SPEC", help="only runs that used this model in any role")
    _add_runs_arguments(runs)

    trace = commands.add_parser("trace", parents=[common], help="show a run's agent conversation as a tree")
    trace.add_argument("run_id", metavar="RUN_ID", help="a run id, its unique beginning, or last (the newest run)")
    trace.add_argument("--json", action="store_true", help="export the whole record as JSON")
    trace.add_argument("--full", action="store_true", help="show prompts and replies in full")
    _add_runs_arguments(trace)

    view = commands.add_parser("view", parents=[common], help="write a run or an evaluation as one self-contained HTML page (offline)")
    view.add_argument(
        "targets",
        nargs="+",
        metavar="RUN_ID|EVAL_DIR",
        help="a run id (its unique beginning, or last), or one or more evaluation folders to compare",
    )
    view.add_argument(
        "--out", type=Path, metavar="FILE", help="where the page goes (default: view.html in the run's or the evaluation's folder)"
    )
    view.add_argument(
        "--against", metavar="ROW", help="evaluations: the row every other row is compared with, paired (as in `ethos report`)"
    )
    _add_runs_arguments(view)

    report = commands.add_parser("report", parents=[common], help="turn finished eval runs into a Markdown report with plots")
    report.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    report.add_argument("--out", type=Path, metavar="DIR", help="default: RUN_DIR/report")
    report.add_argument(
        "--against",
        metavar="ROW",
        help="the row every other row is compared with, paired on the same items "
        "(a method, with its ablations as in the table: `ethosagents [no-top-up]`; default vanilla, else the first row)",
    )
    parser.eval_parser = evaluate  # where `--config` sets its defaults (with_config)
    return parser


def with_config(argv: list[str], parser: argparse.ArgumentParser) -> None:
    """`ethos eval --config FILE.toml ...`: the file's keys become eval's defaults, so that a flag
    given on the command line wins. A run setting is checked by its field in `Context`, as any
    context is; one of eval's own options (task, method, data, ...) by its flag's type."""
    if "eval" not in argv:
        return
    found = argparse.ArgumentParser(add_help=False)
    found.add_argument("--config", type=Path)
    path = found.parse_known_args(argv[argv.index("eval") + 1 :])[0].config
    if path is None:
        return
    import tomllib

    from ethos.graph.context import Context

    try:
        values = tomllib.loads(read_text(path))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EthosError(f"--config {path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    evaluate = parser.eval_parser
    options = vars(evaluate.parse_known_args([])[0])  # every option of eval, with its default
    settings = Context.settings()
    defaults = {}
    for key, value in values.items():
        if key in settings and settings[key]["flag"]:
            try:
                defaults[key] = Context.check(key, value)
            except ValueError as exc:
                raise EthosError(f"--config {path}: '{key}' {exc}") from None
        elif key in options and key not in ("config", "command"):  # eval's own options (its --method lists several)
            defaults[key] = _option_default(path, key, value, options[key])
        else:
            raise EthosError(f"--config {path}: unknown setting '{key}' (settings are eval's flags, e.g. task, method, data, n_personas)")
    evaluate.set_defaults(**defaults)


def _option_default(path: Path, key: str, value, default):
    """A TOML value as an eval option's default: a string, which argparse reads with the flag's type
    as if it were given (a list becomes a comma list); a list for a repeatable flag; true or false for a switch."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise EthosError(f"--config {path}: '{key}' must be true or false")
        return value
    items = value if isinstance(value, list) else [value]
    if isinstance(value, (dict, bool)) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in items):
        raise EthosError(f"--config {path}: '{key}' must be a value or a list of values")
    if isinstance(default, list):  # a repeatable flag
        return [str(v) for v in items]
    return ",".join(str(v) for v in items)
