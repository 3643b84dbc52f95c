"""A resumable evaluation runner: one method on one task's items, then its predictions, per-item
scores and metrics.

Its parts live apart: the folder's identity (`identity.py`), one item's run and the books of all
of them (`items.py`), where items run (`executors.py`: threads; `ray_pool.py`: Ray actors). Each
finished item is appended to the folder's results store (see `store.py`) as soon as it ends, so an
interrupted or killed run loses nothing it finished. Starting the same command again skips items
that succeeded, re-runs failed ones, and never duplicates one.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from tqdm import tqdm

from ethos.errors import EthosError
from ethos.evaluation.executors import Executor, Threads
from ethos.evaluation.identity import check_config, run_config
from ethos.evaluation.items import ItemRuns
from ethos.evaluation.log import read_config
from ethos.evaluation.scoring import SCORES_FILE, score
from ethos.evaluation.store import ResultStore
from ethos.evaluation.tasks import Task
from ethos.graph.context import Context
from ethos.graph.methods import STAND_IN_NOTE
from ethos.inputs import write_json
from ethos.redaction import raw


def evaluate(
    task: Task,
    method: str,
    loaded: list[tuple[dict, dict]],
    ctx: Context,
    *,
    data: Path,
    out_dir: Path,
    max_concurrency: int = 1,
    nli_model: str | None = None,
    progress: bool = True,
    runs_dir: Path | None = None,
    prices: dict | None = None,
    server: str | None = None,
    scoring: dict | None = None,
    ray_pool: Executor | None = None,
    every: list[tuple[dict, dict]] | None = None,
    selection: dict | None = None,
) -> dict:
    """Run `method` on every item of `loaded` not yet done (in threads, or on `ray_pool`), then write
    predictions and metrics; returns the metrics. The summary covers every item the folder holds
    (`every`: the task file's items, of which `loaded` is this command's selection), so a smaller
    selection never rewrites a larger one's; `selection` says what this command asked for."""
    ctx = ctx.replace(method=method)  # the graph runs the method its context names
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EthosError(f"--out {out_dir}: cannot create the folder ({exc.strerror})") from None
    store = ResultStore(out_dir, runs_dir, distributions=task.distribution)  # refuses a second writer before anything is touched
    try:
        check_config(out_dir, run_config(task, method, data, ctx))
        repaired = store.report()
        if repaired:
            print(f"ethos: {repaired}", file=sys.stderr)
        ran = _run_items(
            loaded, ItemRuns(task, ctx, store, runs_dir, prices, server), ray_pool or Threads(max_concurrency), progress=progress
        )
        held = held_items(loaded, every or loaded, store)
        if len(held) > len(loaded):
            print(
                f"ethos: {out_dir} holds {len(held)} items (this command selected {len(loaded)}): its summary covers all {len(held)}",
                file=sys.stderr,
            )
        selection = (selection or {}) | {"selected": len(loaded), "held": len(held)}
        metrics = finish(
            task, method, held, store, out_dir, nli_model=nli_model, ablations=ctx.ablations, selection=selection, **(scoring or {})
        )
        return metrics | {"ran": ran}  # items this call ran (0: every one was done before), not written to the folder
    finally:
        store.close()


def _run_items(loaded: list[tuple[dict, dict]], runs: ItemRuns, executor: Executor, *, progress: bool) -> int:
    done = runs.store.succeeded()
    todo = [(item, request) for item, request in loaded if str(item["id"]) not in done]
    # the bar's own escapes are meant
    bar = tqdm(
        total=len(loaded),
        initial=len(loaded) - len(todo),
        desc=f"{runs.task.name} {runs.method}",
        unit="item",
        file=raw(sys.stderr),
        disable=not progress,
    )
    try:
        executor.run(todo, runs, bar)
    finally:
        bar.close()
    return len(todo)


def held_items(loaded: list[tuple[dict, dict]], every: list[tuple[dict, dict]], store: ResultStore) -> list[tuple[dict, dict]]:
    """The items a folder's summary covers: this selection and every item an earlier one left in the
    folder's results, in the task file's order."""
    wanted = {str(item["id"]) for item, _ in loaded} | set(store.records)
    return [(item, request) for item, request in every if str(item["id"]) in wanted]


def finish(
    task: Task,
    method: str,
    loaded: list[tuple[dict, dict]],
    store: ResultStore,
    out_dir: Path,
    *,
    nli_model: str | None,
    ablations: list[str] = (),
    selection: dict | None = None,
    **scoring,
) -> dict:
    predictions = []
    seconds, fallbacks, usage = [], {}, {}
    for item, _ in loaded:
        record = store.records.get(str(item["id"]))
        out = copy.deepcopy(item)
        if record and record["status"] == "ok":
            out = task.with_prediction(out, record["output"], record["distribution"])
            seconds.append(record["seconds"])
            for key, value in record["fallbacks"].items():
                fallbacks[key] = fallbacks.get(key, 0) + value
            for key, value in (record.get("usage") or {}).items():
                usage[key] = round(usage.get(key, 0) + value, 6)
        predictions.append(out)
    write_json(out_dir / "predictions.json", predictions)
    context = read_config(out_dir / "config.json")["context"]
    protocol = context["protocol"]
    scores = score(task, predictions, nli_model=nli_model, protocol=protocol, **scoring)
    write_json(out_dir / SCORES_FILE, scores.by_item(), indent=None)  # what paired comparisons read
    metrics = scores.metrics
    failed = sum(1 for item, _ in loaded if (store.records.get(str(item["id"])) or {}).get("status") == "failed")
    metrics |= {
        "method": method,
        "ablations": list(ablations),
        "failed": failed,
        "fallbacks": fallbacks,
        "seconds_per_item": round(sum(seconds) / len(seconds), 2) if seconds else None,
        "usage": usage,  # the items' model calls, tokens and cost, summed
        "model": context["moderator_model"],
        "protocol": protocol,
        "selection": selection or {"selected": len(loaded), "held": len(loaded)},
    }
    if method in ("moe", "modplural"):
        metrics["note"] = STAND_IN_NOTE
    write_json(out_dir / "metrics.json", metrics, indent=2)
    return metrics
