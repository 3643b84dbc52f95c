"""The `ethos` command line: run the persona graph on a situation, a question or a VITAL item."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time
from contextlib import nullcontext
from pathlib import Path

from ethos.errors import EthosError, RunFailure

EXAMPLE = "A family asks a doctor to withhold a terminal diagnosis from their mother."
INT_MAX = 2**31 - 1  # counts reach C code (llama.cpp) as 32-bit integers
SEED_MAX = 2**32 - 1  # seeds are 32-bit unsigned (the run settings' bounds are in graph/context.py)


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


def _number(low: float, high: float):
    """An argparse type: a finite number in [low, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be a finite number between {low:g} and {high:g}, got {text}")
        return value

    return parse


def _positive(text: str) -> float:
    """An argparse type: a finite number above zero (nan, inf and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


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


def _writable_dir(path: Path, flag: str) -> Path:
    """`path` as a folder EthosAgents can write to (created if missing), or an error naming the flag."""
    if path.exists() and not path.is_dir():
        raise EthosError(f"{flag} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EthosError(f"{flag} {path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise EthosError(f"{flag} {path}: the folder is not writable")
    return path


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The run settings' flags, made from `graph/context.py`'s `Context` (help, bounds and defaults
    live there, once), plus the CLI's own conveniences."""
    from dataclasses import MISSING, fields

    from ethos.agents.models import SPEC_HELP
    from ethos.graph.context import Context

    groups = {"models": parser.add_argument_group("models", f"a model spec is one of: {SPEC_HELP}"),
              "method settings": parser.add_argument_group("method settings (defaults follow the published method)")}
    groups["models"].add_argument("--model", metavar="SPEC", help="model for every role (default: embedded, or $ETHOS_MODEL)")
    for role, flag in (("generator_model", "--generator-model"), ("agent_model", "--agent-model"), ("moderator_model", "--moderator-model")):
        groups["models"].add_argument(flag, dest=role, metavar="SPEC", help=next(f for f in fields(Context) if f.name == role).metadata["help"])
    for f in fields(Context):
        m = f.metadata
        if not m["flag"]:
            continue
        default = f" (default {f.default})" if f.default not in (MISSING, None) else ""
        options: dict = {"dest": f.name, "help": m["help"] + default, "default": None}  # None: the Context's default
        if f.type.startswith("list"):
            options |= {"action": "append", "default": [], "metavar": "FILE"}
        elif m["choices"]:
            options["choices"] = m["choices"]
        elif f.type.startswith("str"):
            options["metavar"] = "URL" if f.name == "base_url" else "NAME"
        elif f.type.startswith("int"):
            options |= {"type": _integer(int(m["low"]), int(m["high"])), "metavar": "N"}
        elif "float" in f.type:
            options |= {"type": _positive if m["positive"] else _number(m["low"], m["high"]), "metavar": "X"}
        groups[m["group"]].add_argument(m["flag"], **options)
    groups["method settings"].add_argument("--max-concurrency", type=_integer(1, 1024), metavar="N",
                                           help="persona agents (run) or items (eval) in flight at once")
    _add_runs_arguments(parser)
    _add_otel_argument(parser)
    parser.add_argument("--no-cache", action="store_true", help="call the models even where the model-call cache has the answer")
    parser.add_argument("--prices", type=Path, metavar="FILE", help='JSON price table {"MODEL": {"input": USD/1M, "output": USD/1M}} for cost')


def _add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument("--parser", choices=["reference", "strict"], default="reference",
                         help="steerable ValueKaleidoscope answers: the reference evaluation's rules (default) or a leading letter only")
    scoring.add_argument("--include-single-option", action="store_true",
                         help="count single-option items in most-likely correctness (left out by default: every method gets them right)")


def _add_otel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--otel", metavar="URL", help="export each run's spans (OpenInference) to an OTLP/HTTP receiver such as Arize "
                                                      "Phoenix, e.g. http://127.0.0.1:6006 (default: $OTEL_EXPORTER_OTLP_ENDPOINT, or off)")


def _add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", type=Path, metavar="DIR", help="records (DIR/runs/RUN_ID), checkpoints, cache and evaluations (default: $ETHOS_RUNS_DIR or ~/.local/share/ethosagents)")


_QUIET = False


def _info(message: str) -> None:
    """A note on stderr (progress, where things went); -q silences it, never a warning or an error."""
    if not _QUIET:
        print(message, file=sys.stderr)


def _configure_output(args) -> None:
    import logging

    global _QUIET
    _QUIET = bool(getattr(args, "quiet", False))
    logging.getLogger("ethos").setLevel(logging.WARNING)
    if getattr(args, "verbose", False):
        logger = logging.getLogger("ethos")
        handler = next((h for h in logger.handlers if h.get_name() == "ethos-cli"), None)
        if handler is None:
            handler = logging.StreamHandler()
            handler.set_name("ethos-cli")
            handler.setFormatter(logging.Formatter("ethos: %(message)s"))
            logger.addHandler(handler)
        handler.setStream(sys.stderr)  # this command's stderr
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _version() -> str:
    from ethos.versions import package_version

    return package_version()


def build_parser() -> argparse.ArgumentParser:
    # Only light imports here: `ethos --help` and `ethos personas list` start without torch,
    # LangChain or LangGraph. Modes are checked when the request is (plugins may add modes).
    from ethos.evaluation.tasks import METHODS, TASKS

    parser = _Parser(prog="ethos", description="Role-driven pluralistic alignment for health care.",
                     epilog="Exit status: 0 done, 1 runtime failure (endpoint, model, failed items), 2 usage or input error, 130 interrupted.")
    parser.add_argument("--debug", action="store_true", help="on an error, also print the traceback (or set ETHOS_DEBUG=1)")
    parser.add_argument("--version", action="version", version=f"ethos {_version()}")
    # -q and -v after any command: `ethos run -q ...`, `ethos eval -v ...`
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only results, warnings and errors: no progress or notes")
    common.add_argument("-v", "--verbose", action="store_true", help="also log each model call as it ends (role, model, tokens, seconds)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run", parents=[common],
        help="generate personas, draft their comments in parallel, and moderate them",
        description=f'Example: ethos run "{EXAMPLE}"',
    )
    run.add_argument("text", nargs="?", help="the health situation or survey question")
    run.add_argument("--mode", help="how the moderator combines the comments: overton (default), steerable, distributional, or a plugin's mode")
    run.add_argument("--target", help="steerable: a value/right/duty, a VITAL group code such as POLPARTY_Democrat, or plain words")
    run.add_argument("--option", action="append", dest="options", metavar="TEXT", help="an answer option (repeat for each)")
    run.add_argument("--attribute", help="distributional: the population answering, e.g. a country")
    run.add_argument("--item", type=Path, metavar="FILE", help="run an item from a file in the VITAL schema")
    run.add_argument("--index", type=_integer(0), default=0, metavar="N", help="which item of --item to run (0-based, default 0)")
    run.add_argument("--json", action="store_true", help="print one machine-readable JSON result")
    run.add_argument("--trace", action="store_true", help="print the agent conversation as a tree, live, as agents finish")
    run.add_argument("--resume", metavar="RUN_ID", help="continue an interrupted or failed run from its last checkpoint")
    run.add_argument("--diversity", action="store_true",
                     help="also measure the persona set's embedding diversity (loads torch and MiniLM: about 6 s and 430 MB)")
    _add_model_arguments(run)

    evaluate = commands.add_parser("eval", parents=[common], help="run methods over a VITAL task file and score them (resumable)")
    evaluate.add_argument("--task", required=True, type=_comma_list(list(TASKS)), metavar="TASKS",
                          help=f"one or more of {', '.join(TASKS)} (comma-separated; --data is then a folder)")
    evaluate.add_argument("--method", default=["ethosagents"], type=_comma_list(list(METHODS), every="all"), metavar="METHODS",
                          help=f"one or more of {', '.join(METHODS)}, or all (comma-separated; default ethosagents)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics of every task and method as one JSON list")
    evaluate.add_argument("--config", type=Path, metavar="FILE.toml",
                          help="settings from a TOML file, keys named as the flags (task, method, data, model, n_personas, ablation, ...); "
                               "flags on the command line win")
    evaluate.add_argument("--data", required=True, type=Path, metavar="PATH", help="the task's VITAL file, or a folder of VITAL files")
    evaluate.add_argument("--limit", type=_integer(), metavar="N", help="only N items, drawn over distinct questions (see --sample)")
    evaluate.add_argument("--sample", choices=["spread", "first"], default="spread",
                          help="how --limit picks items: spread over questions, seeded (default), or the first N in the file")
    evaluate.add_argument("--sample-seed", type=_integer(0, SEED_MAX), default=0, metavar="N", help="seed of the spread sample (default 0)")
    evaluate.add_argument("--ablation", action="append", default=[], metavar="NAMES",
                          help="also run ethosagents with these parts switched off, as its own row (repeatable; "
                               "comma-join names to combine): no-target-persona, no-author-voice, no-top-up, personas-N")
    evaluate.add_argument("--out", type=Path, metavar="DIR", help="where predictions and results go (default: under the runs directory)")
    evaluate.add_argument("--nli-model", metavar="DIR", help="local NLI model for value coverage (e.g. deberta-v2-xlarge-mnli)")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.add_argument("--server", metavar="URL", help="run the ethosagents graph on a LangGraph server (langgraph dev, LangGraph Server)")
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

    runs = commands.add_parser("runs", parents=[common], help="list recent runs")
    runs.add_argument("--limit", type=_integer(), default=20, metavar="N")
    runs.add_argument("--json", action="store_true")
    _add_runs_arguments(runs)

    trace = commands.add_parser("trace", parents=[common], help="show a run's agent conversation as a tree")
    trace.add_argument("run_id", metavar="RUN_ID", help="a run id, or its unique beginning")
    trace.add_argument("--json", action="store_true", help="export the whole record as JSON")
    trace.add_argument("--full", action="store_true", help="show prompts and replies in full")
    _add_runs_arguments(trace)

    view = commands.add_parser("view", parents=[common], help="write a run or an evaluation as one self-contained HTML page (offline)")
    view.add_argument("target", metavar="RUN_ID|EVAL_DIR", help="a run id (or its unique beginning), or an evaluation folder")
    view.add_argument("--out", type=Path, metavar="FILE", help="where the page goes (default: view.html in the run's or the evaluation's folder)")
    _add_runs_arguments(view)

    report = commands.add_parser("report", parents=[common], help="turn finished eval runs into a Markdown report with plots")
    report.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    report.add_argument("--out", type=Path, metavar="DIR", help="default: RUN_DIR/report")
    return parser


def _request(args) -> dict:
    from ethos.evaluation.vital import item_request, load_items

    if args.item is not None:
        if args.text:
            raise EthosError("give either the text or --item, not both")
        items = load_items(args.item)
        if not 0 <= args.index < len(items):
            raise EthosError(f"--index {args.index} is out of range: {args.item} has {len(items)} items")
        request = item_request(items[args.index], source=str(args.item), index=args.index)
    else:
        request = {"situation": args.text or ""}
    for key in ("mode", "options", "target", "attribute"):
        if getattr(args, key) is not None:  # flags override what an item says
            request[key] = getattr(args, key)
    return request


def _context(args):
    from dataclasses import fields

    from ethos.graph.context import Context

    values = {f.name: getattr(args, f.name) for f in fields(Context) if getattr(args, f.name, None) not in (None, [])}
    for role in ("generator_model", "agent_model", "moderator_model"):
        if args.model and role not in values:
            values[role] = args.model
    values["persona_files"] = [str(Path(f).resolve()) for f in values.get("persona_files", [])]
    if args.base_url:
        from ethos.redaction import split_endpoint

        split_endpoint(args.base_url)  # a malformed URL fails here, named, before any work
    variant = values.get("agent_variant", "default")
    if variant not in _persona_agents():
        raise EthosError(f"unknown --agent-variant '{variant}': choose one of {', '.join(_persona_agents())}")
    return Context(**values)


def _runs_dir(args) -> Path:
    named = "--runs-dir" if args.runs_dir else "$ETHOS_RUNS_DIR" if os.environ.get("ETHOS_RUNS_DIR") else "the runs folder"
    return _writable_dir(args.runs_dir or default_runs_dir(), named)


def _resumed_context(record, args):
    """The saved run's settings. Endpoint credentials are never saved, so a run whose URL held
    some takes the URL again from --base-url or $ETHOS_BASE_URL."""
    from ethos.graph.context import Context
    from ethos.redaction import MASK

    try:
        context = Context(**record.data["config"]["context"])
    except (KeyError, TypeError) as exc:
        raise EthosError(f"{record.path}: not a resumable run record ({exc.__class__.__name__}: {exc})") from None
    if context.base_url and MASK in context.base_url:
        fresh = args.base_url or os.environ.get("ETHOS_BASE_URL")
        if not fresh:
            raise EthosError(f"run {record.run_id} used an endpoint with credentials, which are not saved: pass --base-url again")
        context.base_url = fresh
    return context


def _persona_agents() -> dict:
    from ethos.agents.persona_agent import persona_agents

    return persona_agents()


def _wrap(text: str, indent: str = "    ") -> str:
    paragraphs = [p for p in text.strip().split("\n") if p.strip()]
    return "\n".join(textwrap.fill(p, width=100, initial_indent=indent, subsequent_indent=indent) for p in paragraphs)


def _print_personas(update: dict) -> None:
    report = update["persona_report"]
    extra = "".join(f", {report[k]} {label}" for k, label in (("from_library", "chosen from the library"),
                    ("library_added", "added for coverage"), ("target_added", "added to hold the target")) if report.get(k))
    how = f" ({report.get('constrained', 0)} constrained, {report.get('parsed', 0)} parsed)" if report["generated"] else ""
    print(
        f"Personas: {len(update['personas'])} ({report['generated']} generated{how}, {report['topped_up']} library top-up(s){extra}; "
        f"{report['attempts']} generator attempt(s), {report['rejected_lines']} unparseable line(s), {report['duplicates']} duplicate(s))"
    )
    for note in report.get("notes") or []:
        print(f"  note: {note}")
    spread = report.get("diagnostics") or {}
    if spread:
        print(f"  spread: {spread['frameworks']} frameworks, {spread['stakeholders']} stakeholders")
    for i, p in enumerate(update["personas"], 1):
        tag = f" [{p['source']}]" if p["source"] != "constrained" else ""
        print(f"  {i}. {p['name']}{tag}: {p['core_value']}; {p['framework']}; {p['right_or_duty']}; {p['emotion']}; {p['stakeholder']}")
    print("\nComments (as each persona agent finishes):")


def _print_result(state: dict) -> None:
    result = state["result"]
    mode = result["mode"]
    print()
    if mode == "overton":
        print("Overton response:")
        print(_wrap(result["response"]))
    elif mode == "steerable":
        selection = result["selection"]
        print(f"Steerable: target {result['target']!r}")
        print(f"  selected comment {result['selected'] + 1} ({result['selected_persona']}), p = {max(selection['probs']):.2f} [{selection['source']}]")
        if "distribution" in result:
            _print_distribution(state["options"], result["distribution"]["probs"], result["distribution"]["source"])
        else:
            print(_wrap(result["answer"]))
    elif mode == "distributional":
        options = result["options"]
        print("Distributional: option probabilities per persona and combined")
        header = "  " + " " * 32 + "".join(f"{label:>8}" for label in result["labels"])
        print(header)
        for row in result["per_persona"]:
            flag = "" if row["source"] == "logprobs" else f"  [{row['source']}]"
            print(f"  {row['persona'][:30]:<32}" + "".join(f"{p:8.3f}" for p in row["probs"]) + flag)
        print(f"  {'combined':<32}" + "".join(f"{p:8.3f}" for p in result["distribution"]))
        for label, option in zip(result["labels"], options):
            print(f"  {label}. {option}")
    else:  # a plugin moderator: show what it returned
        print(json.dumps(result, indent=2, ensure_ascii=False))


def _print_distribution(options: list[str], probs: list[float], source: str) -> None:
    from ethos.agents.prompts import option_labels

    print(f"  answer distribution [{source}]:")
    for label, option, p in zip(option_labels(len(options)), options, probs):
        print(f"    {label}. {option[:60]:<60} {p:.3f}")


def _prepare_backends(context, args, runs_dir: Path) -> None:
    """Load every role's model and its cache, and the persona library: a bad spec, a missing
    model or a broken persona file fails before any work."""
    from ethos.agents.models import use_cache
    from ethos.personas.library import load_library

    load_library(context.persona_files)
    for spec in {context.generator_model, context.agent_model, context.moderator_model}:
        use_cache(context.model(spec), None if args.no_cache else runs_dir / "cache.sqlite", context.base_url)


def _checkpointed_graph(runs_dir: Path):
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from ethos.graph.builder import build_graph

    runs_dir.mkdir(parents=True, exist_ok=True)
    saver = SqliteSaver(sqlite3.connect(runs_dir / "checkpoints.sqlite", check_same_thread=False))
    return build_graph().compile(checkpointer=saver, name="ethos")


def run_command(args) -> int:
    from dataclasses import asdict

    from ethos.graph.conversation import render_tree
    from ethos.graph.records import RunRecord, load_prices, load_record
    from ethos.graph.state import count_fallbacks, fallback_warning, validate_request
    from ethos.graph.tracing import JsonlTracer

    runs_dir = _runs_dir(args)
    prices = load_prices(args.prices) if args.prices else None
    if args.resume is not None:
        if args.text or args.item:
            raise EthosError("--resume continues a saved run: give no text or --item with it")
        record = load_record(runs_dir, args.resume)
        if record.data.get("status") == "ok":
            print(render_tree(record.data))
            return 0
        request, context = None, _resumed_context(record, args)
    else:
        request = validate_request(_request(args))
        context = _context(args)
    _prepare_backends(context, args, runs_dir)
    if not args.resume:
        record = RunRecord(runs_dir)
        record.start("run", request, {"context": asdict(context), "cache": not args.no_cache})
    graph = _checkpointed_graph(runs_dir)
    config = {"callbacks": [JsonlTracer(record.trace_path)], "configurable": {"thread_id": record.run_id}}
    if args.max_concurrency:
        config["max_concurrency"] = args.max_concurrency
    started = time.perf_counter()
    quiet = args.json
    if not quiet:
        verb = ("Resuming" if args.resume else f"Choosing {context.n_personas} library personas for" if context.personas == "library"
                else f"Generating {context.n_personas} personas with {context.generator_model} for")
        _info(f"{verb} run {record.run_id} ...")
    state: dict = {}
    live = _live_view(args, context)  # on a terminal: each agent's text as it is written
    try:
        with live or nullcontext():
            modes = ["updates", "values", *(["messages"] if live else [])]
            for stream_mode, chunk in graph.stream(request, context=context, config=config, stream_mode=modes, durability="sync"):
                if stream_mode == "messages":
                    message, metadata = chunk
                    live.token(message.content if isinstance(message.content, str) else "", metadata)
                elif stream_mode == "values":
                    state = chunk
                elif not quiet:
                    if live:
                        live.finished(chunk)
                    _show_update(chunk, state, context, args.trace)
    except BaseException as exc:
        state = graph.get_state(config).values or state
        status = "interrupted" if isinstance(exc, (KeyboardInterrupt, BrokenPipeError)) else "failed"  # `| head` closed the pipe
        record.finish(state, status=status, seconds=time.perf_counter() - started, error=f"{exc.__class__.__name__}: {exc}", prices=prices)
        hint = f"run {record.run_id} is saved: continue it with `ethos run --resume {record.run_id}`"
        if isinstance(exc, BrokenPipeError):
            raise
        if isinstance(exc, EthosError):
            raise exc.__class__(f"{exc} ({hint})") from exc
        if isinstance(exc, Exception):
            raise RunFailure(f"{exc.__class__.__name__}: {exc} ({hint})") from exc
        print(f"ethos: {hint}", file=sys.stderr)
        raise
    seconds = time.perf_counter() - started
    if args.diversity and state.get("persona_report"):
        from ethos.personas.schema import Persona
        from ethos.personas.selection import embedding_diversity

        state["persona_report"]["diagnostics"]["diversity"] = embedding_diversity([Persona.model_validate(p) for p in state["personas"]])
    fallbacks = count_fallbacks(state)
    record.finish(state, status="ok", seconds=seconds, fallbacks=fallbacks, prices=prices)
    warning = fallback_warning(state)
    if warning:
        print(f"ethos: warning: {warning}", file=sys.stderr)
    tokens = record.data["tokens"]
    if args.json:
        keys = ("situation", "mode", "options", "target", "attribute", "personas", "persona_report", "comments", "result")
        out = {"run_id": record.run_id} | {k: state.get(k) for k in keys} | {
            "fallbacks": fallbacks,
            "usage": {"new_tokens": tokens["output_tokens"], "by_role": tokens["by_role"], "by_model": tokens["by_model"],
                      "cached_calls": tokens["cached_calls"], **({"cost_usd": tokens["cost_usd"]} if "cost_usd" in tokens else {})},
            "seconds": round(seconds, 2),
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        _print_result(state)
        if args.diversity:
            print(f"\nEmbedding diversity of the persona set: {state['persona_report']['diagnostics'].get('diversity')}")
        counted = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in fallbacks.items() if v)
        print(f"\nFallbacks: {counted or 'none'}")
        cached = f", {tokens['cached_calls']} of {tokens['calls']} calls from the cache" if tokens["cached_calls"] else ""
        cost = f", ${tokens['cost_usd']:.4f}" if "cost_usd" in tokens else ""
        _info(f"Done in {seconds:.1f} s: {tokens['output_tokens']} new tokens{cached}{cost}. "
              f"Run {record.run_id}: `ethos trace {record.run_id}`")
    return 0


def _live_view(args, context):
    """The live view, for a person at a terminal (not for --json, --trace, -q, a pipe or TERM=dumb)."""
    if args.json or args.trace or args.quiet or not sys.stdout.isatty() or os.environ.get("TERM") == "dumb":
        return None
    from ethos.live import LiveView

    return LiveView(context.n_personas)


def _show_update(chunk: dict, state: dict, context, trace: bool) -> None:
    from ethos.graph.conversation import node_lines, persona_title

    for node, update in chunk.items():
        if not isinstance(update, dict):
            continue
        conversation = update.get("conversation") or []
        conversation = getattr(conversation, "value", conversation)  # a fresh run's Overwrite([...]) of the last run's
        if node == "seed_personas":
            if trace:
                print("\n".join(node_lines(f"persona generator ({len(conversation)} attempt(s))", conversation, last=False)))
            _print_personas(update)
        elif node == "persona_agent":
            for comment in update["comments"]:
                if trace:
                    print("\n".join(node_lines(persona_title(comment["index"], state.get("personas") or []), conversation, last=False)))
                else:
                    total = len(state.get("personas") or []) or context.n_personas  # hybrid sets can be larger
                    print(f"  [{comment['index'] + 1}/{total}] {comment['persona']}:")
                    print(_wrap(comment["text"], indent="      "))
        elif trace and conversation:
            print("\n".join(node_lines(node.replace("_", " "), conversation, last=True)))


def personas_command(args) -> int:
    from ethos.personas.library import LIBRARY_DIR, load_library, load_persona_path, user_persona_dir
    from ethos.personas.schema import normalise

    if args.action == "validate":
        paths = args.paths or [LIBRARY_DIR, *([user_persona_dir()] if user_persona_dir().is_dir() else [])]
        total = 0
        for path in paths:
            if not path.exists():
                raise EthosError(f"persona file not found: {path}")
            count = len(load_persona_path(path))
            total += count
            print(f"{path}: {count} valid persona(s)")
        if not args.paths:
            total = len(load_library())  # plugins too
        print(f"ok: {total} persona(s)")
        return 0
    library = load_library(args.persona_file)
    if args.action == "show":
        if not args.name.strip():
            raise EthosError("personas show needs a name (see `ethos personas list`)")
        matches = [p for p in library if normalise(args.name) in p.key()]
        if not matches:
            raise EthosError(f"no persona named like {args.name!r} (see `ethos personas list`)")
        for p in matches:
            print(json.dumps(p.model_dump(exclude_none=True), indent=1, ensure_ascii=False))
        return 0
    if args.json:
        print(json.dumps([p.model_dump(exclude_none=True) for p in library], ensure_ascii=False))
        return 0
    if args.roles:  # first, so the long persona table does not hide them
        from ethos.agents.moderators import moderators

        print(f"moderators (--mode): {', '.join(moderators())}")
        print(f"persona agents (--agent-variant): {', '.join(_persona_agents())}\n")
    print(f"{'name':<34} {'stakeholder':<30} {'framework':<36} culture, religion, age")
    for p in library:
        who = ", ".join(v for v in (p.culture, p.religion, p.age_group) if v)
        print(f"{p.name:<34} {p.stakeholder[:28]:<30} {p.framework[:34]:<36} {who}")
    _info(f"{len(library)} personas (curated library, {user_persona_dir()}, plugins, --persona-file)")
    return 0


def runs_command(args) -> int:
    from ethos.graph.records import list_runs

    records = list_runs(args.runs_dir or default_runs_dir())[: args.limit]
    if args.json:
        print(json.dumps([{k: r.get(k) for k in ("run_id", "kind", "status", "started", "seconds", "request", "tokens")} for r in records]))
        return 0
    if not records:
        _info("no runs yet")
        return 0
    header = ["run id", "time", "kind", "mode", "status", "tokens", "seconds", "input"]
    table = []
    for r in records:
        request = r.get("request") if isinstance(r.get("request"), dict) else {}
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.get("started", 0)))
        tokens = (r.get("tokens") or {}).get("output_tokens", "-")
        seconds = f"{r['seconds']:.1f}" if isinstance(r.get("seconds"), (int, float)) else "-"
        excerpt = " ".join(str(request.get("situation", "")).split())[:50]
        table.append([str(r.get("run_id")), when, str(r.get("kind", "-")), str(request.get("mode", "-")), str(r.get("status", "-")),
                      str(tokens), seconds, excerpt])
    if _coloured():
        _rich_table(header, table, right=(5, 6))
        return 0
    plain = ["{:<24}", "{:<17}", "{:<7}", "{:<15}", "{:<12}", "{:>8}", "{:>9}", "  {}"]
    for row in [header, *table]:
        print("".join(f.format(cell) for f, cell in zip(plain, row)))
    return 0


def trace_command(args) -> int:
    from ethos.graph.conversation import render_tree
    from ethos.graph.records import load_record

    record = load_record(args.runs_dir or default_runs_dir(), args.run_id)
    print(json.dumps(record.data, ensure_ascii=False, indent=1) if args.json else render_tree(record.data, full=args.full))
    return 0


def default_runs_dir() -> Path:
    """$ETHOS_RUNS_DIR, or ~/.local/share/ethosagents: records in runs/<id>, checkpoints, cache, eval/."""
    if os.environ.get("ETHOS_RUNS_DIR"):
        return Path(os.environ["ETHOS_RUNS_DIR"])
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "ethosagents"
    earlier = data / "runs"  # releases before 0.2 used ethosagents/runs, so records sat in runs/runs/<id>
    return earlier if (earlier / "checkpoints.sqlite").exists() else data


def _coloured() -> bool:
    """Colour and boxes for a person at a terminal; plain text when piped or when NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _rich_table(header: list[str], rows: list[list[str]], right=()) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold cyan", show_edge=False)
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if i in right else "left", style="bold" if i == 0 else None, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(cell, style="red" if cell in ("failed", "interrupted") else "") for cell in row))  # Text: "[0.1, 0.2]" is no markup
    Console().print(table)


def _print_metrics(rows: list[dict]) -> None:
    from ethos.evaluation.report import method_label
    from ethos.evaluation.scoring import primary_metric
    from ethos.evaluation.tasks import get_task

    task = get_task(rows[0]["task"])
    metric, higher = primary_metric(task, rows[0])
    print(f"\n{task.name}: {metric} ({'higher' if higher else 'lower'} is better), 95% bootstrap CI over questions")
    extra = [k for k in ("most_likely_correct", "jsd", "balanced_accuracy", "macro_f1", "micro_f1", "binary_accuracy",
                         f"{metric}_acc@0.33") if k in rows[0] and k != metric]
    table = []
    for r in rows:
        ci = r.get(f"{metric}_ci") or [float("nan")] * 2
        fallbacks = ", ".join(f"{k} {v}" for k, v in sorted((r.get("fallbacks") or {}).items()) if v) or "none"
        if r.get("failed"):
            fallbacks += f"; {r['failed']} failed (rerun to retry)"
        if r.get("missing"):
            fallbacks += f"; {r['missing']} without prediction"
        seconds = r.get("seconds_per_item")
        table.append([method_label(r), str(r["n"]), str(r.get("n_questions", "-")), f"{r.get(metric, float('nan')):.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
                      *(f"{r[k]:.3f}" for k in extra), str(seconds if seconds is not None else "-"), fallbacks])
    header = ["method", "items", "quest.", f"{metric} [CI]", *extra, "s/item", "fallbacks"]
    if _coloured():
        _rich_table(header, table, right=range(1, len(header) - 1))
    else:  # plain when piped or NO_COLOR is set: columns a script can cut
        width = max(13, *(len(row[0]) + 2 for row in table))
        plain = [f"{{:<{width}}}", "{:>6}", "{:>7}", "  {:<30}", *["{:>20}"] * len(extra), "{:>9}", "  {}"]
        for row in [header, *table]:
            print("  " + "".join(f.format(cell) for f, cell in zip(plain, row)))
    first = rows[0]
    if first.get("single_option_items") and not first.get("most_likely_correct_includes_single_option"):
        print(f"  note: most-likely correctness leaves out {first['single_option_items']} single-option item(s) (--include-single-option counts them)")
    if first.get("parser"):
        print(f"  note: answers read with the {first['parser']} parser")
    if any(r.get("note") for r in rows):
        print(f"  note: {next(r['note'] for r in rows if r.get('note'))}")


def eval_command(args) -> int:
    from ethos.evaluation.runner import evaluate
    from ethos.evaluation.tasks import get_task, load_task, sample_items, task_file
    from ethos.graph.records import finite, load_prices

    methods = args.method
    if args.server and methods != ["ethosagents"]:
        raise EthosError("--server runs the graph, so it takes --method ethosagents only")
    if args.ablation and "ethosagents" not in methods:
        raise EthosError("--ablation switches off parts of ethosagents: use it with --method ethosagents or all")
    tasks = [get_task(name) for name in args.task]
    loaded = {}
    for task in tasks:  # every file is read and checked before any model loads
        items = load_task(task, task_file(task, args.data))
        loaded[task.name] = sample_items(items, args.limit, how=args.sample, seed=args.sample_seed) if args.limit else items
    context = _context(args)
    runs_dir = _runs_dir(args)
    _prepare_backends(context, args, runs_dir)
    prices = load_prices(args.prices) if args.prices else None
    # Each ablation is a run of its own, beside the full method.
    runs = [(method, context) for method in methods] + [("ethosagents", context.with_ablation(a)) for a in args.ablation]
    out = _writable_dir(args.out, "--out") if args.out else None
    tables = []
    for task in tasks:
        task_out = (out / task.name if len(tasks) > 1 else out) if out else runs_dir / "eval" / task.name
        rows = []
        for method, ctx in runs:
            out_dir = task_out / "+".join([method, *ctx.ablations])
            rows.append(evaluate(
                task, method, loaded[task.name], ctx, data=task_file(task, args.data), out_dir=out_dir,
                max_concurrency=args.max_concurrency or 1, nli_model=args.nli_model, progress=not (args.no_progress or args.quiet),
                runs_dir=runs_dir, prices=prices, server=args.server,
                scoring={"parser": args.parser, "include_single_option": args.include_single_option},
            ))
            _info(f"{task.name} {out_dir.name}: predictions in {out_dir / 'predictions.json'}")
        tables.append(rows)
        if not args.json:
            _print_metrics(rows)
    if args.json:
        print(json.dumps([finite(row) for rows in tables for row in rows]))
    failed = sum(r.get("failed") or 0 for rows in tables for r in rows)
    if failed:
        raise RunFailure(f"{failed} item(s) failed (see the table; errors in each folder's results.jsonl): rerun the same command to retry them")
    return 0


def score_command(args) -> int:
    from ethos.evaluation.scoring import score_items
    from ethos.evaluation.tasks import TASKS, check_item, get_task, task_of_file
    from ethos.evaluation.vital import load_items

    if not args.file.is_file():
        raise EthosError(f"predictions file not found: {args.file}" if not args.file.exists() else f"{args.file} is a folder: give a predictions file")
    config = _eval_config(args.file)  # eval's own output folder says its task and method
    if args.task:
        task = get_task(args.task)
    elif config.get("task") in TASKS:
        task = get_task(config["task"])
    else:
        task = task_of_file(args.file)
    items = load_items(args.file)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise EthosError(f"{args.file}: item {index}: not a JSON object")
        check_item(task, item, f"{args.file}: item {index} (id {item.get('id')})", prediction=True)
    metrics = score_items(task, items, nli_model=args.nli_model, parser=args.parser, include_single_option=args.include_single_option)
    if args.json:
        from ethos.graph.records import finite

        print(json.dumps(finite(metrics)))
    else:
        context = config.get("context") if isinstance(config.get("context"), dict) else {}
        _print_metrics([metrics | {"method": str(config.get("method") or args.file.stem), "ablations": context.get("ablations") or []}])
    return 0


def _eval_config(predictions: Path) -> dict:
    """The config.json `ethos eval` wrote beside a predictions file, or {}."""
    try:
        config = json.loads((predictions.parent / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def view_command(args) -> int:
    from ethos.view import write_view

    print(write_view(args.target, args.runs_dir or default_runs_dir(), args.out))
    return 0


def report_command(args) -> int:
    from ethos.evaluation.report import write_report

    report = write_report(args.run_dirs, args.out or args.run_dirs[0] / "report")
    print(report)
    return 0


COMMANDS = {"view": view_command, "run": run_command, "eval": eval_command, "score": score_command, "report": report_command, "runs": runs_command, "trace": trace_command,
            "personas": personas_command}


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 done; 1 a runtime failure (an endpoint, a model, failed eval items); 2 a usage
    or input error (a flag, a file, an item); 130 interrupted. `--debug` or ETHOS_DEBUG=1 also
    prints the traceback."""
    from ethos.redaction import redact

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("ETHOS_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    try:
        parser = build_parser()
        args = parser.parse_args(_with_config(argv, parser))  # the parser lists plugin modes: a broken plugin fails here
        _configure_output(args)
        if args.command in ("run", "eval"):
            _start_telemetry(args)
        return COMMANDS[args.command](args)
    except SystemExit as exc:  # argparse: --help (0) or a usage error it has printed (2)
        return exc.code if isinstance(exc.code, int) else 2
    except EthosError as exc:
        _debug_traceback(debug)
        print(f"ethos: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ethos: interrupted; finished work is saved (rerun the same command to continue)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a disk or permission problem outside the checked paths
        _debug_traceback(debug)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"ethos: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, and the way to the traceback
        _debug_traceback(debug)
        print(f"ethos: internal error: {exc.__class__.__name__}: {redact(str(exc))[:300]} "
              f"(a bug in EthosAgents: rerun with --debug and report the traceback)", file=sys.stderr)
        return 1
    finally:
        if "ethos.telemetry" in sys.modules:
            sys.modules["ethos.telemetry"].flush()  # spans of a failed run are sent too


def _start_telemetry(args) -> None:
    from ethos.telemetry import export_traces, traces_endpoint

    endpoint = traces_endpoint(args.otel)
    if endpoint:
        export_traces(endpoint)


def _with_config(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`ethos eval --config FILE.toml ...`: the file's settings become flags placed before the
    command line's own, so that every value is checked as its flag is, and a flag given wins."""
    if "eval" not in argv:
        return argv
    at = argv.index("eval")
    rest = argv[at + 1:]
    paths = [rest[i + 1] for i, a in enumerate(rest[:-1]) if a == "--config"] + [a.split("=", 1)[1] for a in rest if a.startswith("--config=")]
    if not paths:
        return argv
    import tomllib

    path = Path(paths[-1])
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EthosError(f"--config {path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    evaluate = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(" eval"))
    actions = evaluate._option_string_actions
    tokens: list[str] = []
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        action = actions.get(flag)
        if action is None or flag in ("--config", "--help"):
            raise EthosError(f"--config {path}: unknown setting '{key}' (settings are eval's flags, e.g. task, method, data, n_personas)")
        if isinstance(action, argparse._StoreTrueAction):
            if not isinstance(value, bool):
                raise EthosError(f"--config {path}: '{key}' must be true or false")
            tokens += [flag] if value else []
        elif isinstance(action, argparse._AppendAction):
            tokens += [t for v in (value if isinstance(value, list) else [value]) for t in (flag, str(v))]
        elif isinstance(value, list):  # --task and --method take comma lists
            tokens += [flag, ",".join(map(str, value))]
        elif isinstance(value, (dict, bool)):
            raise EthosError(f"--config {path}: '{key}' must be a single value")
        else:
            tokens += [flag, str(value)]
    return argv[: at + 1] + tokens + rest


def _debug_traceback(debug: bool) -> None:
    if debug:
        import traceback

        from ethos.redaction import redact

        print(redact(traceback.format_exc()), file=sys.stderr, end="")


if __name__ == "__main__":
    sys.exit(main())
