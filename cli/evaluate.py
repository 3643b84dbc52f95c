"""`ethos eval` (methods over a VITAL task, resumable) and `ethos score` (a predictions file)."""

from __future__ import annotations

import json
from pathlib import Path

from ethos.cli.common import context_from, runs_dir_of
from ethos.cli.render import info, print_metrics
from ethos.errors import EthosError, RunFailure
from ethos.inputs import finite


def eval_command(args) -> int:
    from ethos.evaluation.evaluate import evaluate

    tables = evaluate(spec_from(args), say=info)
    if args.json:
        print(json.dumps([finite(row) for rows in tables for row in rows]))
    else:
        for rows in tables:
            print_metrics(rows)
    failed = sum(r.get("failed") or 0 for rows in tables for r in rows)
    if failed:
        raise RunFailure(
            f"{failed} item(s) failed (see the table; errors in each folder's results.jsonl): rerun the same command to retry them"
        )
    return 0


def spec_from(args):
    """The evaluation the flags describe (`evaluation/spec.py`)."""
    from ethos.evaluation.spec import EvalSpec
    from ethos.graph.context import EVAL_DEFAULTS

    for flag in ("task", "data"):
        if getattr(args, flag) is None:
            raise EthosError(f"ethos eval needs --{flag} (or `{flag}` in the --config file)")
    return EvalSpec(
        tasks=args.task,
        methods=args.method or ["ethosagents"],
        data=args.data,
        context=context_from(args, **EVAL_DEFAULTS),
        ablations=args.ablation,
        limit=args.limit,
        sample=args.sample,
        sample_seed=args.sample_seed,
        out=args.out,
        runs_dir=runs_dir_of(args),
        max_concurrency=args.max_concurrency,
        prices=args.prices,
        server=args.server,
        ray=args.ray,
        ray_actors=args.ray_actors,
        ray_cpus=args.ray_cpus,
        ray_gpus=args.ray_gpus,
        nli_model=args.nli_model,
        otel=args.otel,
        parser=args.parser,
        cache=not args.no_cache,
        progress=not (args.no_progress or args.quiet),
    )


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
