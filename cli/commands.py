"""The `ethos` commands: each turns parsed arguments into work and output."""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from ethos.cli.render import _info, _live_view, _print_metrics, _print_result, _print_score, _print_table, _show_update, item_score
from ethos.errors import EthosError, RunFailure


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


def _request(args) -> dict:
    from ethos.evaluation.vital import item_request, load_items

    if args.item is not None:
        if args.text:
            raise EthosError("give either the text or --item, not both")
        items = load_items(args.item)
        if not 0 <= args.index < len(items):
            raise EthosError(f"--index {args.index} is out of range: {args.item} has {len(items)} items")
        request = item_request(items[args.index], source=str(args.item), index=args.index)
        args.gold_item = items[args.index]  # shown and scored beside the result
    else:
        request = {"situation": args.text or ""}
    for key in ("mode", "options", "target", "attribute"):
        if getattr(args, key) is not None:  # flags override what an item says
            request[key] = getattr(args, key)
    return request


def _context(args, **defaults):
    """The run settings from the flags; `defaults` are the command's own (eval: the reference protocol)."""
    from dataclasses import fields

    from ethos.graph.context import Context

    values = defaults | {f.name: getattr(args, f.name) for f in fields(Context) if getattr(args, f.name, None) not in (None, [])}
    if isinstance(values.get("method"), list):  # eval's --method is a list: each method gets its own context
        del values["method"]
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


def _prepare_backends(context, args, runs_dir: Path) -> None:
    """Load every role's model and its cache, and the persona library: a bad spec, a missing
    model or a broken persona file fails before any work."""
    from ethos.personas.library import load_library

    load_library(context.persona_files)
    context.load_models(None if args.no_cache else runs_dir / "cache.sqlite")


def _resumed_record(runs_dir: Path, run_id: str, saver, spec: str | None):
    """The saved run's record: from the runs folder, or, for a run checkpointed in PostgreSQL from
    another machine, made from the settings saved with its checkpoints."""
    from ethos.graph.checkpoints import is_postgres, saved_run
    from ethos.graph.records import RunRecord, is_run_id, load_record

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
    from dataclasses import asdict

    from ethos.graph.builder import build_graph
    from ethos.graph.nodes import agents_at_once
    from ethos.graph.checkpoints import open_checkpointer, run_metadata
    from ethos.graph.records import RunRecord, alive, load_prices
    from ethos.graph.state import count_fallbacks, fallback_warning, validate_request
    from ethos.graph.tracing import tracing_to

    runs_dir = _runs_dir(args)
    prices = load_prices(args.prices) if args.prices else None
    spec = args.checkpointer or os.environ.get("ETHOS_CHECKPOINTER")
    saver = open_checkpointer(spec, runs_dir)
    if args.resume is not None:
        if args.text or args.item:
            raise EthosError("--resume continues a saved run: give no text or --item with it")
        record = _resumed_record(runs_dir, args.resume, saver, spec)
        status = record.data.get("status")
        if status == "ok":
            raise EthosError(f"run {record.run_id} finished: nothing to resume (`ethos trace {record.run_id}` shows it)")
        # another process still running it (a record made here from the checkpointer is this process's own)
        if status == "running" and record.data.get("host") == socket.gethostname() and record.data.get("pid") != os.getpid() \
                and alive(record.data.get("pid")):
            raise EthosError(f"run {record.run_id} is still running (pid {record.data.get('pid')}): wait for it, or stop it first")
        request, context = None, _resumed_context(record, args)
    else:
        request = validate_request(_request(args))
        context = _context(args)
    _prepare_backends(context, args, runs_dir)
    if not args.resume:
        record = RunRecord(runs_dir)
        record.start("run", request, {"context": asdict(context), "cache": not args.no_cache})
    graph = build_graph().compile(checkpointer=saver, name="ethos")
    config = {"configurable": {"thread_id": record.run_id}, "metadata": run_metadata(record.data["request"], record.data["config"])}
    started = time.perf_counter()
    quiet = args.json
    if not quiet:
        verb = ("Resuming" if args.resume else f"Running the {context.method} baseline for" if context.method != "ethosagents"
                else f"Choosing {context.n_personas} library personas for" if context.personas == "library"
                else f"Generating {context.n_personas} personas with {context.generator_model} for")
        _info(f"{verb} run {record.run_id} ...")
    state: dict = dict(graph.get_state(config).values) if args.resume else {}  # a finished thread streams nothing
    live = _live_view(args, context)  # on a terminal: each agent's text as it is written
    try:
        with tracing_to(record.trace_path), agents_at_once(args.max_concurrency), live or nullcontext():  # traced as eval items are
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
        raise KeyboardInterrupt(f"interrupted; {hint}") from None  # one hint: the way to continue this run
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
    score = item_score(args.gold_item, state) if getattr(args, "gold_item", None) else None
    if args.json:
        keys = ("method", "situation", "mode", "options", "target", "attribute", "personas", "persona_report", "comments", "result")
        out = {"run_id": record.run_id} | {k: state.get(k) for k in keys} | {
            "fallbacks": fallbacks,
            "usage": {"new_tokens": tokens["output_tokens"], "by_role": tokens["by_role"], "by_model": tokens["by_model"],
                      "cached_calls": tokens["cached_calls"], **({"cost_usd": tokens["cost_usd"]} if "cost_usd" in tokens else {})},
            "seconds": round(seconds, 2),
        } | ({"score": score} if score else {})
        print(json.dumps(out, ensure_ascii=False))
    else:
        _print_result(state)
        if score:
            _print_score(score, state.get("options") or [])
        if args.diversity:
            print(f"\nEmbedding diversity of the persona set: {state['persona_report']['diagnostics'].get('diversity')}")
        from ethos.graph.quality import SIGNS

        counted = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in fallbacks.items() if v and k not in SIGNS)
        signs = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in fallbacks.items() if v and k in SIGNS)
        print(f"\nFallbacks: {counted or 'none'}")
        print(f"Quality signs: {signs or 'none'}")
        cached = f", {tokens['cached_calls']} of {tokens['calls']} calls from the cache" if tokens["cached_calls"] else ""
        cost = f", ${tokens['cost_usd']:.4f}" if "cost_usd" in tokens else ""
        _info(f"Done in {seconds:.1f} s: {tokens['output_tokens']} new tokens{cached}{cost}. "
              f"Run {record.run_id}: `ethos trace {record.run_id}`")
    return 0


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
        shown = [p.model_dump(exclude_none=True) for p in matches]
        print(json.dumps(shown[0] if len(shown) == 1 else shown, indent=1, ensure_ascii=False))  # several: one JSON list
        return 0
    if args.json:
        print(json.dumps([p.model_dump(exclude_none=True) for p in library], ensure_ascii=False))
        return 0
    if args.roles:  # first, so the long persona table does not hide them
        from ethos.agents.moderators import moderators

        print(f"moderators (--mode): {', '.join(moderators())}")
        print(f"persona agents (--agent-variant): {', '.join(_persona_agents())}\n")
    print(f"{'name':<34} {'source':<8} {'stakeholder':<30} {'framework':<36} culture, religion, age")
    for p in library:
        who = ", ".join(v for v in (p.culture, p.religion, p.age_group) if v)
        print(f"{_cut(p.name, 33):<34} {p.source:<8} {_cut(p.stakeholder, 29):<30} {_cut(p.framework, 35):<36} {who}")
    _info(f"{len(library)} personas (curated library, {user_persona_dir()}, plugins, --persona-file)")
    return 0


def _cut(text: str, width: int) -> str:
    """`text` in `width` characters, with "…" where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def runs_command(args) -> int:
    from ethos.graph.records import finite, list_runs, started

    records = [r for r in list_runs(args.runs_dir or default_runs_dir()) if _wanted(r, args)][: args.limit]
    if args.json:
        print(json.dumps(finite([{k: r.get(k) for k in ("run_id", "kind", "status", "started", "seconds", "request", "tokens")} for r in records])))
        return 0
    if not records:
        _info("no runs yet")
        return 0
    header = ["run id", "time", "kind", "method", "mode", "status", "tokens", "seconds", "input"]
    table = []
    for r in records:
        request = r.get("request") if isinstance(r.get("request"), dict) else {}
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started(r))) if started(r) else "-"
        tokens = r["tokens"].get("output_tokens", "-") if isinstance(r.get("tokens"), dict) else "-"
        seconds = f"{r['seconds']:.1f}" if isinstance(r.get("seconds"), (int, float)) and math.isfinite(r["seconds"]) else "-"
        excerpt = _cut(" ".join(str(request.get("situation", "")).split()), 50)
        table.append([str(r.get("run_id")), when, str(r.get("kind", "-")), _run_context(r).get("method", "-"), str(request.get("mode", "-")),
                      str(r.get("status", "-")), str(tokens), seconds, excerpt])
    _print_table(header, table, ["{:<24}", "{:<17}", "{:<7}", "{:<12}", "{:<15}", "{:<12}", "{:>8}", "{:>9}", "  {}"], right=(6, 7))
    return 0


def _run_context(record: dict) -> dict:
    config = record.get("config")
    context = config.get("context") if isinstance(config, dict) else None
    return context if isinstance(context, dict) else {}


def _wanted(record: dict, args) -> bool:
    """`ethos runs --kind/--method/--status/--model`: every filter given must match."""
    context = _run_context(record)
    models = {context.get(k) for k in ("generator_model", "agent_model", "moderator_model")}
    return ((not args.kind or record.get("kind") == args.kind) and (not args.method or context.get("method") == args.method)
            and (not args.status or record.get("status") == args.status) and (not args.model or args.model in models))


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


def eval_command(args) -> int:
    from ethos.evaluation.tasks import get_task, load_task, sample_items, task_file
    from ethos.graph.records import finite, load_prices

    methods = args.method
    if args.ray is None and (args.ray_actors or args.ray_cpus != 1.0 or args.ray_gpus):
        raise EthosError("--ray-actors, --ray-cpus and --ray-gpus size the Ray actors: add --ray")
    if args.ray is not None and args.max_concurrency:
        raise EthosError("--max-concurrency sets the items in flight in this process; with --ray, use --ray-actors")
    if args.ablation and "ethosagents" not in methods:
        raise EthosError("--ablation switches off parts of ethosagents: use it with --method ethosagents or all")
    tasks = [get_task(name) for name in args.task]
    files = {task.name: task_file(task, args.data) for task in tasks}
    loaded = {}
    for task in tasks:  # every file is read and checked before any model loads
        items = load_task(task, files[task.name])
        loaded[task.name] = sample_items(items, args.limit, how=args.sample, seed=args.sample_seed) if args.limit else items
    context = _context(args, protocol="reference")  # a table that can stand beside the published ones
    runs_dir = _runs_dir(args)
    prices = load_prices(args.prices) if args.prices else None
    pool = None
    if args.ray is not None:
        pool = _ray_pool(args, context, runs_dir)
    else:
        _prepare_backends(context, args, runs_dir)
    # Each ablation is a run of its own, beside the full method.
    runs = [(method, context) for method in methods] + [("ethosagents", context.with_ablation(a)) for a in args.ablation]
    out = _writable_dir(args.out, "--out") if args.out else None
    tables = []
    with pool or nullcontext():
        for task in tasks:
            tables.append(_evaluate_task(args, task, runs, loaded[task.name], files[task.name], out, runs_dir, prices, pool))
    if args.json:
        print(json.dumps([finite(row) for rows in tables for row in rows]))
    failed = sum(r.get("failed") or 0 for rows in tables for r in rows)
    if failed:
        raise RunFailure(f"{failed} item(s) failed (see the table; errors in each folder's results.jsonl): rerun the same command to retry them")
    return 0


def _ray_pool(args, context, runs_dir: Path):
    from ethos.evaluation.ray_pool import RayPool
    from ethos.personas.library import load_library
    from ethos.telemetry import traces_endpoint

    load_library(context.persona_files)  # the models load in the actors
    return RayPool(args.ray, context, actors=args.ray_actors, num_cpus=args.ray_cpus, num_gpus=args.ray_gpus,
                   cache=None if args.no_cache else runs_dir / "cache.sqlite", otel=traces_endpoint(args.otel))


def _evaluate_task(args, task, runs, loaded, data: Path, out: Path | None, runs_dir: Path, prices, pool) -> list[dict]:
    from ethos.evaluation.runner import EVAL_CONCURRENCY, config_folder, evaluate, run_name

    # default: runs/eval/MODEL/CONFIG-ID/TASK, so another model or other settings never collide
    task_out = (out / task.name if len(args.task) > 1 else out) if out else runs_dir / "eval" / config_folder(runs[0][1]) / task.name
    rows = []
    for method, ctx in runs:
        out_dir = task_out / run_name(method, ctx)
        rows.append(evaluate(
            task, method, loaded, ctx, data=data, out_dir=out_dir,
            max_concurrency=args.max_concurrency or EVAL_CONCURRENCY, nli_model=args.nli_model, progress=not (args.no_progress or args.quiet),
            runs_dir=runs_dir, prices=prices, server=args.server, ray_pool=pool,
            scoring={"parser": args.parser},
        ))
        _info(f"{task.name} {out_dir.name}: predictions in {out_dir / 'predictions.json'}")
    if not args.json:
        _print_metrics(rows)
    return rows


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
    metrics = score_items(task, items, nli_model=args.nli_model, parser=args.parser)
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
    from ethos.cli.view import write_view

    print(write_view(args.targets, args.runs_dir or default_runs_dir(), args.out, against=args.against))
    return 0


def report_command(args) -> int:
    from ethos.evaluation.report import write_report

    report = write_report(args.run_dirs, args.out or args.run_dirs[0] / "report", against=args.against)
    print(report)
    return 0


def data_command(args) -> int:
    from ethos.evaluation.data import check, fetch

    if args.action == "check":
        rows = check(args.into)
        for row in rows:
            print(f"{row['status']:<8} {row['file']}")
        bad = [r["file"] for r in rows if r["status"] != "ok"]
        if bad:
            raise EthosError(f"{args.into}: {len(bad)} file(s) missing or changed: {', '.join(bad)}")
        return 0
    _info(f"Fetching VITAL into {args.into} ...")
    for row in fetch(args.into, source=args.source, timeout=args.timeout):
        print(f"{row['status']:<8} {row['file']} ({row['bytes'] / 1e6:.1f} MB, sha256 {row['sha256'][:16]}…)")
    _info(f"Done: use it with `ethos eval --data {args.into} --task ...`")
    return 0


COMMANDS = {"run": run_command, "eval": eval_command, "score": score_command, "report": report_command, "view": view_command,
            "runs": runs_command, "trace": trace_command, "personas": personas_command,
            "data": data_command}


def _start_telemetry(args) -> None:
    from ethos.telemetry import export_traces, traces_endpoint

    endpoint = traces_endpoint(args.otel)
    if endpoint:
        export_traces(endpoint)
