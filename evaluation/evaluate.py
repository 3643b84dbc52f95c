"""An evaluation from its spec (`spec.py`): every task's items read and checked first, the models
loaded (here, on a LangGraph server or in Ray actors), then each method and ablation row run into
its folder by the resumable runner. The command line, the Python API and a study all come here."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from ethos.errors import EthosError
from ethos.evaluation.identity import config_folder, run_name
from ethos.evaluation.runner import evaluate as run_method
from ethos.evaluation.spec import EVAL_CONCURRENCY, EvalSpec
from ethos.evaluation.tasks import get_task, load_task, sample_items, task_file
from ethos.graph.ablations import PROTOCOL_ABLATIONS
from ethos.graph.backends import prepare_backends
from ethos.graph.tokens import load_prices
from ethos.inputs import writable_dir


def evaluate(spec: EvalSpec, say=lambda message: None, ray_pool=None) -> list[list[dict]]:
    """Every task's rows (one metrics dict per method and ablation, each with its folder's `path`);
    `say` gets the notes a person would want (where the predictions went). `ray_pool`: a study's
    pool of its model's actors, used (and left open) for a spec with `ray`."""

    if spec.ray is None and (spec.ray_actors or spec.ray_cpus != 1.0 or spec.ray_gpus):
        raise EthosError("--ray-actors, --ray-cpus and --ray-gpus size the Ray actors: add --ray")
    if spec.ray is not None and spec.max_concurrency:
        raise EthosError("--max-concurrency sets the items in flight in this process; with --ray, use --ray-actors")
    method_ablations = [a for a in spec.ablations if not protocol_only(a)]
    if method_ablations and "ethosagents" not in spec.methods:
        raise EthosError(f"--ablation {method_ablations[0]} switches off parts of ethosagents: use it with --method ethosagents or all")
    tasks = [get_task(name) for name in spec.tasks]
    files = {task.name: task_file(task, spec.data) for task in tasks}
    every = {task.name: load_task(task, files[task.name]) for task in tasks}  # every file is checked before any model loads
    chosen = {
        task.name: sample_items(every[task.name], spec.limit, how=spec.sample, seed=spec.sample_seed, question=task.question)
        if spec.limit
        else every[task.name]
        for task in tasks
    }
    runs_dir = writable_dir(spec.runs_dir, "--runs-dir")
    prices = load_prices(spec.prices) if spec.prices else None
    context, pool = spec.context, None
    cache = runs_dir / "cache.sqlite" if spec.cache else None
    if spec.server:
        context = _served_context(spec.server, context, say)
    elif spec.ray is not None:
        pool = ray_pool or ray_pool_for(spec, cache)
    else:
        prepare_backends(context, cache, say)
    # Each ablation is a run of its own, beside the full method; a protocol's ablation, of every method.
    runs = [(method, context) for method in spec.methods] + [
        (method, context.with_ablation(a)) for a in spec.ablations for method in (spec.methods if protocol_only(a) else ["ethosagents"])
    ]
    out = writable_dir(spec.out, "--out") if spec.out else None
    selection = {
        "limit": spec.limit,
        "sample": spec.sample if spec.limit else None,
        "sample_seed": spec.sample_seed if spec.limit else None,
    }
    tables = []
    with nullcontext() if ray_pool else pool or nullcontext():
        for task in tasks:
            # default: runs/eval/MODEL/CONFIG-ID/TASK, so another model or other settings never collide
            task_out = (out / task.name if len(tasks) > 1 else out) if out else runs_dir / "eval" / config_folder(runs[0][1]) / task.name
            rows = []
            for method, ctx in runs:
                out_dir = task_out / run_name(method, ctx)
                row = run_method(
                    task, method, chosen[task.name], ctx, every=every[task.name], selection=selection, data=files[task.name],
                    out_dir=out_dir, max_concurrency=spec.max_concurrency or EVAL_CONCURRENCY, nli_model=spec.nli_model,
                    progress=spec.progress, runs_dir=runs_dir, prices=prices, server=spec.server, ray_pool=pool,
                    scoring={"parser": spec.parser},
                )  # fmt: skip
                rows.append({"path": str(out_dir)} | row)
                say(f"{task.name} {out_dir.name}: predictions in {out_dir / 'predictions.json'}")
            tables.append(rows)
    return tables


def protocol_only(ablation: str) -> bool:
    """Whether an ablation changes only the protocol (`ethos-NAME`, `reference-NAME`), so that every method gets its row."""
    return all(name.strip() in PROTOCOL_ABLATIONS for name in ablation.split(",") if name.strip())


def _served_context(server: str, context, say):
    """The context of an eval on a LangGraph server: the server's models answer, so its results are
    filed under them (the folder, `model` in the metrics), whatever the context names."""
    from ethos.graph.served import server_models

    models = server_models(server)
    if {role: getattr(context, role) for role in models} != models:
        say(f"--server {server} runs {', '.join(dict.fromkeys(models.values()))}: results are filed under its models, not --model")
    return context.replace(**models)


def ray_pool_for(spec: EvalSpec, cache: Path | None, **shared):
    """The spec's Ray actors (`shared`: a study's connection and its model's share of the cluster)."""
    from ethos.evaluation.ray_pool import RayPool
    from ethos.graph.telemetry import traces_endpoint
    from ethos.personas.library import load_library

    load_library(spec.context.persona_files)  # the models load in the actors
    return RayPool(
        spec.ray,
        spec.context,
        actors=spec.ray_actors,
        num_cpus=spec.ray_cpus,
        num_gpus=spec.ray_gpus,
        cache=cache,
        otel=traces_endpoint(spec.otel),
        **shared,
    )
