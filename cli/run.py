"""`ethos run`: one situation or item through the persona graph, streamed, traced, checkpointed and
resumable."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from ethos import settings
from ethos.cli.common import context_from, prepare_backends, runs_dir_of
from ethos.cli.render import info, live_view, print_result, show_update
from ethos.errors import EthosError, RunFailure
from ethos.evaluation.tasks import get_task
from ethos.graph.checkpoints import is_postgres, open_checkpointer, run_metadata, saved_run
from ethos.graph.records import RunRecord, alive, is_run_id, load_record
from ethos.graph.state import count_fallbacks, fallback_warning, validate_request
from ethos.graph.tokens import load_prices, usage
from ethos.redaction import MASK


def request_from(args) -> dict:
    from ethos.evaluation.vital import item_request, load_items

    if args.item is not None:
        if args.text:
            raise EthosError("give either the text or --item, not both")
        items = load_items(args.item)
        if not 0 <= args.index < len(items):
            raise EthosError(f"--index {args.index} is out of range: {args.item} has {len(items)} item{'' if len(items) == 1 else 's'}")
        request = item_request(items[args.index], source=str(args.item), index=args.index)
        args.gold_item = items[args.index]  # shown and scored beside the result
    else:
        request = {"situation": args.text or ""}
    for key in ("mode", "options", "target", "attribute"):
        if getattr(args, key) is not None:  # flags override what an item says
            request[key] = getattr(args, key)
    return request


def _resumed_context(record, args):
    """The saved run's settings. Endpoint credentials are never saved, so a run whose URL held
    some takes the URL again from --base-url or $ETHOS_BASE_URL."""
    from ethos.graph.context import RENAMED, Context

    try:
        saved = record.data["config"]["context"]
        context = Context(
            **{k: v for k, v in saved.items() if RENAMED.get(k, k) in Context.model_fields}
        )  # a setting since removed is dropped
    except (KeyError, TypeError, AttributeError, EthosError) as exc:
        raise EthosError(f"{record.path}: not a resumable run record ({exc.__class__.__name__}: {exc})") from None
    if context.base_url and MASK in context.base_url:
        fresh = args.base_url or settings.env("ETHOS_BASE_URL")
        if not fresh:
            raise EthosError(f"run {record.run_id} used an endpoint with credentials, which are not saved: pass --base-url again")
        context = context.replace(base_url=fresh)
    return context


def _resumed_record(runs_dir: Path, run_id: str, saver, spec: str | None):
    """The saved run's record: from the runs folder, or, for a run checkpointed in PostgreSQL from
    another machine, made from the settings saved with its checkpoints."""

    try:
        return load_record(runs_dir, run_id)
    except EthosError:
        if not (is_postgres(spec) and is_run_id(run_id)):
            raise
    saved = saved_run(saver, run_id)
    if saved is None:
        raise EthosError(f"no run {run_id!r} in {runs_dir / 'runs'} or in the --checkpointer database (give the whole run id)")
    record = RunRecord(runs_dir, run_id)
    record.start("run", saved["request"], saved["config"], resumed_from="checkpointer")
    return record


def run_command(args) -> int:
    out = execute_run(args)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print_result(out)
    if out.get("score"):
        print("\n" + "\n".join(get_task(out["score"]["task"]).describe_score(out["score"], out.get("options") or [])))
    if args.diversity:
        print(f"\nEmbedding diversity of the persona set: {out['persona_report']['diagnostics'].get('diversity')}")
    from ethos.graph.quality import SIGNS

    fallbacks, tokens = out["fallbacks"], out["usage"]
    counted = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in fallbacks.items() if v and k not in SIGNS)
    signs = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in fallbacks.items() if v and k in SIGNS)
    print(f"\nFallbacks: {counted or 'none'}")
    print(f"Quality signs: {signs or 'none'}")
    cached = f", {tokens['cached_calls']} of {tokens['calls']} calls from the cache" if tokens["cached_calls"] else ""
    cost = f", ${tokens['cost_usd']:.4f}" if "cost_usd" in tokens else ""
    info(
        f"Done in {out['seconds']:.1f} s: {tokens['new_tokens']} new tokens{cached}{cost}. Run {out['run_id']}: `ethos trace {out['run_id']}`"
    )
    return 0


def execute_run(args) -> dict:
    """One run as `ethos run` makes it (its record written, its live view on a terminal unless
    `--json` or quiet), returned as `ethos run --json` prints it."""
    from ethos.graph.builder import build_graph
    from ethos.graph.graph_run import GraphRun

    runs_dir = runs_dir_of(args)
    prices = load_prices(args.prices) if args.prices else None
    spec = args.checkpointer or settings.env("ETHOS_CHECKPOINTER")
    saver = open_checkpointer(spec, runs_dir)
    if args.resume is not None:
        if args.text or args.item:
            raise EthosError("--resume continues a saved run: give no text or --item with it")
        record = _resumed_record(runs_dir, args.resume, saver, spec)
        status = record.data.get("status")
        if status == "ok":
            raise EthosError(f"run {record.run_id} finished: nothing to resume (`ethos trace {record.run_id}` shows it)")
        # another process still running it (a record made here from the checkpointer is this process's own)
        if (
            status == "running"
            and record.data.get("host") == socket.gethostname()
            and record.data.get("pid") != os.getpid()
            and alive(record.data.get("pid"))
        ):
            raise EthosError(f"run {record.run_id} is still running (pid {record.data.get('pid')}): wait for it, or stop it first")
        request, context = None, _resumed_context(record, args)
    else:
        request = validate_request(request_from(args))
        context = context_from(args)
    prepare_backends(context, args, runs_dir)
    if not args.resume:
        record = RunRecord(runs_dir)
        record.start("run", request, {"context": context.model_dump(), "cache": not args.no_cache})
    graph = build_graph().compile(checkpointer=saver, name="ethos")
    config = {"configurable": {"thread_id": record.run_id}, "metadata": run_metadata(record.data["request"], record.data["config"])}
    started = time.perf_counter()
    quiet = args.json or getattr(args, "api", False)  # the Python API shows nothing
    if not quiet:
        verb = (
            "Resuming"
            if args.resume
            else f"Running the {context.method} baseline for"
            if context.method != "ethosagents"
            else f"Choosing {context.n_personas} library personas for"
            if context.persona_source == "library"
            else f"Generating {context.n_personas} personas with {context.generator_model} for"
        )
        info(f"{verb} run {record.run_id} ...")
    state: dict = dict(graph.get_state(config).values) if args.resume else {}  # a finished thread streams nothing
    earlier = list(record.data.get("conversation") or []) if args.resume else []  # what ran before the run stopped
    live = None if quiet else live_view(args, context)  # on a terminal: each agent's text as it is written
    run = GraphRun(trace=record.trace_path, max_concurrency=args.max_concurrency, graph=graph)
    try:
        with run, live or nullcontext():
            modes = ["updates", "values", *(["messages"] if live else [])]
            for stream_mode, chunk in run.stream(request, context, config, modes):
                if stream_mode == "messages":
                    message, metadata = chunk
                    live.token(message.content if isinstance(message.content, str) else "", metadata)
                elif stream_mode == "values":
                    state = chunk
                elif not quiet:
                    if live:
                        live.finished(chunk)
                    try:
                        show_update(chunk, state, context, run.exchanges if args.trace else None)
                    except BrokenPipeError:  # `ethos run ... | head` read enough: the run goes on, unseen, to its end
                        sys.stdout = open(os.devnull, "w")  # until the process ends
                        quiet = True
    except BaseException as exc:
        state = graph.get_state(config).values or state
        status = "interrupted" if isinstance(exc, (KeyboardInterrupt, BrokenPipeError)) else "failed"  # `| head` closed the pipe
        record.finish(
            state,
            earlier + run.conversation(),
            status=status,
            seconds=time.perf_counter() - started,
            error=f"{exc.__class__.__name__}: {exc}",
            prices=prices,
        )
        hint = f"run {record.run_id} is saved: continue it with `ethos run --resume {record.run_id}`"
        if isinstance(exc, BrokenPipeError):
            raise
        if isinstance(exc, EthosError):
            raise exc.__class__(f"{exc} ({hint})") from exc
        if isinstance(exc, Exception):
            raise RunFailure(f"{exc.__class__.__name__}: {exc} ({hint})") from exc
        raise type(exc)(f"interrupted; {hint}") from None  # one hint: the way to continue this run (Ctrl-C or SIGTERM)
    seconds = time.perf_counter() - started
    if args.diversity and state.get("persona_report"):
        from ethos.personas.schema import Persona
        from ethos.personas.selection import embedding_diversity

        state["persona_report"]["diagnostics"]["diversity"] = embedding_diversity([Persona.model_validate(p) for p in state["personas"]])
    fallbacks = count_fallbacks(state)
    record.finish(state, earlier + run.conversation(), status="ok", seconds=seconds, fallbacks=fallbacks, prices=prices)
    warning = fallback_warning(state)
    if warning:
        print(f"ethos: warning: {warning}", file=sys.stderr)
    tokens = record.data["tokens"]
    from ethos.evaluation.scoring import score_item

    score = score_item(args.gold_item, state) if getattr(args, "gold_item", None) else None
    keys = ("method", "situation", "mode", "options", "target", "attribute", "personas", "persona_report", "comments", "result")
    return (
        {"run_id": record.run_id}
        | {k: state.get(k) for k in keys}
        | {"fallbacks": fallbacks, "usage": usage(tokens) | {"calls": tokens["calls"]}, "seconds": round(seconds, 2)}
        | ({"score": score} if score else {})
    )
