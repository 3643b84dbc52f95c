"""`ethos eval` (methods over a VITAL task, resumable) and `ethos score` (a predictions file)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

from ethos.cli.common import context_from, prepare_backends, runs_dir_of, writable_dir
from ethos.cli.flags import COMMAND_DEFAULTS
from ethos.cli.render import info, print_metrics
from ethos.errors import EthosError, RunFailure


def eval_command(args) -> int:
    from ethos.inputs import finite

    tables = evaluate_tasks(args)
    if args.json:
        print(json.dumps([finite(row) for rows in tables for row in rows]))
    failed = sum(r.get("failed") or 0 for rows in tables for r in rows)
    if failed:
        raise RunFailure(
            f"{failed} item(s) failed (see the table; errors in each folder's results.jsonl): rerun the same command to retry them"
        )
    return 0


def evaluate_tasks(args) -> list[list[dict]]:
    """Every task's rows (one metrics dict per method and ablation), as `ethos eval` prints them."""
    from ethos.evaluation.tasks import get_task, load_task, sample_items, task_file
    from ethos.graph.tokens import load_prices

    for flag in ("task", "data"):
        if getattr(args, flag) is None:
            raise EthosError(f"ethos eval needs --{flag} (or `{flag}` in the --config file)")
    methods = args.method or ["ethosagents"]
    if args.ray is None and (args.ray_actors or args.ray_cpus != 1.0 or args.ray_gpus):
        raise EthosError("--ray-actors, --ray-cpus and --ray-gpus size the Ray actors: add --ray")
    if args.ray is not None and args.max_concurrency:
        raise EthosError("--max-concurrency sets the items in flight in this process; with --ray, use --ray-actors")
    method_ablations = [a for a in args.ablation if not protocol_only(a)]
    if method_ablations and "ethosagents" not in methods:
        raise EthosError(f"--ablation {method_ablations[0]} switches off parts of ethosagents: use it with --method ethosagents or all")
    tasks = [get_task(name) for name in args.task]
    files = {task.name: task_file(task, args.data) for task in tasks}
    loaded, every = {}, {}
    for task in tasks:  # every file is read and checked before any model loads
        every[task.name] = load_task(task, files[task.name])
        loaded[task.name] = (
            sample_items(every[task.name], args.limit, how=args.sample, seed=args.sample_seed) if args.limit else every[task.name]
        )
    context = context_from(args, **COMMAND_DEFAULTS["eval"])  # the reference protocol: a table that can stand beside the published ones
    runs_dir = runs_dir_of(args)
    prices = load_prices(args.prices) if args.prices else None
    pool = None
    if args.server:
        context = _served_context(args, context)
    elif args.ray is not None:
        pool = _ray_pool(args, context, runs_dir)
    else:
        prepare_backends(context, args, runs_dir)
    # Each ablation is a run of its own, beside the full method; a protocol's ablation, of every method.
    runs = [(method, context) for method in methods] + [
        (method, context.with_ablation(a)) for a in args.ablation for method in (methods if protocol_only(a) else ["ethosagents"])
    ]
    out = writable_dir(args.out, "--out") if args.out else None
    tables = []
    with pool or nullcontext():
        for task in tasks:
            tables.append(
                _evaluate_task(args, task, runs, (loaded[task.name], every[task.name]), files[task.name], out, runs_dir, prices, pool)
            )
    return tables


def _served_context(args, context):
    """The context of an eval on a LangGraph server: the server's models answer, so its results are
    filed under them (the folder, `model` in the metrics), whatever --model says here."""
    from ethos.graph.served import server_models

    models = server_models(args.server)
    named = {role: getattr(context, role) for role in models}
    if named != models and (args.model or any(getattr(args, role, None) for role in models)):
        info(f"--server {args.server} runs {', '.join(dict.fromkeys(models.values()))}: results are filed under its models, not --model")
    return context.replace(**models)


def protocol_only(ablation: str) -> bool:
    """Whether an --ablation changes only the protocol (`ethos-NAME`, `reference-NAME`), so that every method gets its row."""
    from ethos.graph.ablations import PROTOCOL_ABLATIONS

    return all(name.strip() in PROTOCOL_ABLATIONS for name in ablation.split(",") if name.strip())


def _ray_pool(args, context, runs_dir: Path):
    from ethos.evaluation.ray_pool import RayPool
    from ethos.graph.telemetry import traces_endpoint
    from ethos.personas.library import load_library

    load_library(context.persona_files)  # the models load in the actors
    return RayPool(
        args.ray,
        context,
        actors=args.ray_actors,
        num_cpus=args.ray_cpus,
        num_gpus=args.ray_gpus,
        cache=None if args.no_cache else runs_dir / "cache.sqlite",
        otel=traces_endpoint(args.otel),
    )


def _evaluate_task(args, task, runs, selection, data: Path, out: Path | None, runs_dir: Path, prices, pool) -> list[dict]:
    from ethos.evaluation.identity import config_folder, run_name
    from ethos.evaluation.runner import EVAL_CONCURRENCY, evaluate

    # default: runs/eval/MODEL/CONFIG-ID/TASK, so another model or other settings never collide
    task_out = (out / task.name if len(args.task) > 1 else out) if out else runs_dir / "eval" / config_folder(runs[0][1]) / task.name
    rows = []
    for method, ctx in runs:
        out_dir = task_out / run_name(method, ctx)
        rows.append(
            {"path": str(out_dir)}
            | evaluate(
                task,
                method,
                selection[0],
                ctx,
                every=selection[1],
                selection={
                    "limit": args.limit,
                    "sample": args.sample if args.limit else None,
                    "sample_seed": args.sample_seed if args.limit else None,
                },
                data=data,
                out_dir=out_dir,
                max_concurrency=args.max_concurrency or EVAL_CONCURRENCY,
                nli_model=args.nli_model,
                progress=not (args.no_progress or args.quiet),
                runs_dir=runs_dir,
                prices=prices,
                server=args.server,
                ray_pool=pool,
                scoring={"parser": args.parser},
            )
        )
        info(f"{task.name} {out_dir.name}: predictions in {out_dir / 'predictions.json'}")
    if not args.json and getattr(args, "table", True):  # the Python API returns the rows instead
        print_metrics(rows)
    return rows


def score_command(args) -> int:
    from ethos.evaluation.scoring import score_items
    from ethos.evaluation.tasks import get_task, task_of_file, tasks
    from ethos.evaluation.vital import load_items

    if not args.file.is_file():
        raise EthosError(
            f"predictions file not found: {args.file}"
            if not args.file.exists()
            else f"{args.file} is a folder: give a predictions file"
            if args.file.is_dir()
            else f"{args.file}: not a regular file (a named pipe or a device): give a predictions file"
        )
    config = _eval_config(args.file)  # eval's own output folder says its task and method
    if args.task:
        task = get_task(args.task)
    elif config.get("task") in tasks():
        task = get_task(config["task"])
    else:
        task = task_of_file(args.file)
    items = load_items(args.file)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise EthosError(f"{args.file}: item {index}: not a JSON object")
        task.check_item(item, f"{args.file}: item {index} (id {item.get('id')})", prediction=True)
    context = config.get("context") or {}
    protocol = context.get("protocol") if isinstance(context.get("protocol"), str) else "reference"  # eval's, else the reference's rules
    metrics = score_items(task, items, nli_model=args.nli_model, parser=args.parser, protocol=protocol)
    if not metrics["n"]:
        raise RunFailure(
            f"{args.file}: none of its {len(items)} items has a prediction to score (eval fills `output` or `pred_distribution`)"
        )
    if args.json:
        from ethos.inputs import finite

        print(json.dumps(finite(metrics)))
    else:
        print_metrics([metrics | {"method": str(config.get("method") or args.file.stem), "ablations": context.get("ablations") or []}])
    return 0


def _eval_config(predictions: Path) -> dict:
    """The config.json `ethos eval` wrote beside a predictions file, or {}."""
    from ethos.evaluation.log import read_config

    try:
        return read_config(predictions.parent / "config.json")
    except EthosError:
        return {}
