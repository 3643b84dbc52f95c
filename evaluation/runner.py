"""A resumable evaluation runner.

Each finished item is appended to the folder's results store (see `store.py`) by the worker that
ran it, so an interrupted or killed run loses nothing it finished. Starting the same command again
skips items that succeeded, re-runs failed ones, and never duplicates one.
"""

from __future__ import annotations

import copy
import json
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from ethos.agents.models.recording import Exchange
from ethos.errors import EthosError
from ethos.evaluation.identity import check_config, run_config
from ethos.evaluation.scoring import SCORES_FILE, score
from ethos.evaluation.store import ResultStore
from ethos.evaluation.tasks import LEGACY_PROTOCOL, Prediction, Task
from ethos.graph.context import Context
from ethos.graph.graph_run import GraphRun
from ethos.graph.methods import STAND_IN_NOTE
from ethos.graph.records import RunRecord
from ethos.inputs import append_text, finite, write_file
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
    ray_pool=None,
) -> dict:
    """Run `method` on every item not yet done, then write predictions and metrics; returns the metrics."""
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
        _run_items(
            loaded,
            _Items(task, ctx, store, runs_dir, prices, server),
            max_concurrency=max_concurrency,
            progress=progress,
            ray_pool=ray_pool,
        )
        return finish(task, method, loaded, store, out_dir, nli_model=nli_model, ablations=ctx.ablations, **(scoring or {}))
    finally:
        store.close()


# Items in flight in `ethos eval` unless --max-concurrency says otherwise. Measured
# (bench/bench_concurrency.py, bench_eval_concurrency.py): 4 items are x1.1 faster than 1 on the
# embedded model (its agents already share batches within an item) and x2.8 faster on an endpoint
# that waits 0.25 s per request; 8 add little more, and hold more memory and rate-limit budget.
EVAL_CONCURRENCY = 4


@dataclass
class Outcome:
    """One item's run, wherever it ran: its prediction, its model exchanges, and how it ended."""

    prediction: Prediction = field(default_factory=Prediction)
    conversation: list = field(default_factory=list)  # the exchanges in their stored form
    status: str = "interrupted"  # stays so if a KeyboardInterrupt passes through
    error: str | None = None
    seconds: float = 0.0
    fatal: EthosError | None = None  # the user must fix something (an endpoint, a model): stop the run
    trace: str = ""  # the JSONL trace, when the item ran in another process (a Ray worker)


def execute(
    task: Task,
    request: dict,
    ctx: Context,
    server: str | None = None,
    *,
    trace_path: Path | None = None,
    run_id: str | None = None,
    in_flight: dict | None = None,
) -> Outcome:
    """Run one item; a failure is returned in the outcome, not raised."""
    outcome, started = Outcome(), time.perf_counter()
    state: dict = {}
    with GraphRun(trace=trace_path, run_id=run_id) as run:
        try:
            if in_flight is not None:
                in_flight[id(outcome)] = run.exchanges  # the progress line reads it while the item runs
            state = run.invoke(request, ctx, server)
            outcome.prediction = task.read_prediction(state)
            outcome.status = "ok"
        except EthosError as exc:
            outcome.status, outcome.error, outcome.fatal = "failed", str(exc), exc
        except Exception as exc:  # this item failed; the next run retries it
            outcome.status, outcome.error = "failed", f"{exc.__class__.__name__}: {exc}"
        finally:
            if in_flight is not None:
                in_flight.pop(id(outcome), None)
            outcome.conversation = run.conversation(state)
            outcome.seconds = time.perf_counter() - started
    return outcome


class _Items:
    """The items of one evaluation (a task, and the method and settings in `ctx`), seen from the
    driver: each item's run record (started before the item runs) and its line in the results store
    (written as soon as it ends)."""

    def __init__(self, task: Task, ctx: Context, store: ResultStore, runs_dir: Path | None, prices: dict | None, server: str | None):
        self.task, self.ctx, self.store, self.runs_dir, self.prices, self.server = task, ctx, store, runs_dir, prices, server
        self.method = ctx.method

    def start(self, item: dict, request: dict) -> RunRecord | None:
        # Each item is a run of its own, with a record holding its whole agent conversation.
        run = RunRecord(self.runs_dir) if self.runs_dir else None
        if run:
            self.store.started(run.run_id)  # first, so that a kill at any later moment leaves no record "running"
            run.start(
                "eval",
                request,
                {"context": self.ctx.model_dump()},
                eval={"task": self.task.name, "method": self.method, "item_id": item["id"]},
            )
        return run

    def finish(self, item: dict, run: RunRecord | None, outcome: Outcome) -> None:
        prediction = outcome.prediction
        if run:
            if outcome.trace:
                append_text(run.trace_path, outcome.trace)
            state = {**prediction.detail, "result": {"output": prediction.output, "pred_distribution": prediction.distribution}}
            run.finish(
                state,
                outcome.conversation,
                status=outcome.status,
                seconds=outcome.seconds,
                fallbacks=prediction.fallbacks,
                error=outcome.error,
                prices=self.prices,
            )
        if outcome.status == "interrupted":
            return  # no line: the next run runs the item again, as one that never ran
        result = {
            "id": item["id"],
            "method": self.method,
            "run_id": run.run_id if run else None,
            "status": outcome.status,
            **({"error": outcome.error} if outcome.error else {}),
        }
        self.store.add(result | {**asdict(prediction), "seconds": round(outcome.seconds, 3)})


def _run_items(loaded: list[tuple[dict, dict]], items: _Items, *, max_concurrency: int, progress: bool, ray_pool=None) -> None:
    done = items.store.succeeded()
    todo = [(item, request) for item, request in loaded if str(item["id"]) not in done]
    bar = tqdm(
        total=len(loaded),
        initial=len(loaded) - len(todo),
        desc=f"{items.task.name} {items.method}",
        unit="item",
        file=raw(sys.stderr),
        disable=not progress,
    )  # the bar's own escapes are meant
    try:
        if ray_pool is not None:
            ray_pool.run(todo, items, bar)
        else:
            _run_in_threads(todo, items, bar, max_concurrency)
    finally:
        bar.close()


@contextmanager
def _second_interrupt_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


GRACE_SECONDS = 2.0  # on Ctrl-C, items this close to done still keep their work


def _run_in_threads(todo, items: _Items, bar, max_concurrency: int) -> None:
    in_flight: dict[int, list[Exchange]] = {}
    active: dict[str, RunRecord | None] = {}  # item id -> its record, while it runs
    lock, stopped = threading.Lock(), threading.Event()

    def run_item(item: dict, request: dict) -> None:
        run = items.start(item, request)
        with lock:
            active[str(item["id"])] = run
        outcome = Outcome()
        try:
            outcome = execute(
                items.task,
                request,
                items.ctx,
                items.server,
                trace_path=run.trace_path if run else None,
                run_id=run.run_id if run else None,
                in_flight=in_flight,
            )
        finally:
            with lock:  # an item still running when the interrupt closed it stays interrupted
                active.pop(str(item["id"]), None)
                if not stopped.is_set():
                    items.finish(item, run, outcome)
        if outcome.fatal:
            raise outcome.fatal

    pool = ThreadPoolExecutor(max_workers=max_concurrency)
    pending: set = set()
    try:
        pending = {pool.submit(run_item, item, request) for item, request in todo}
        while pending:
            finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()
                bar.update()
            bar.set_postfix_str(in_flight_summary(list(in_flight.values())) if pending else "", refresh=True)
    except BaseException as exc:
        # Stop at once: nothing new starts, items about to end get a moment, and the rest are
        # recorded as interrupted (no results line: the next run runs them again as new). Their
        # calls are not waited for; the command's process exits without them (cli.main).
        pool.shutdown(wait=False, cancel_futures=True)
        with _second_interrupt_ignored():  # a second Ctrl-C must not cut this bookkeeping short
            if isinstance(exc, KeyboardInterrupt):
                print("\nethos: stopping; the items in flight are recorded as interrupted ...", file=sys.stderr)
            wait(pending, timeout=GRACE_SECONDS)
            with lock:
                stopped.set()
                for run in active.values():
                    if run is not None:
                        run.finish(
                            {},
                            [],
                            status="interrupted",
                            seconds=0.0,
                            error="KeyboardInterrupt: stopped by the user"
                            if isinstance(exc, KeyboardInterrupt)
                            else f"stopped: another item failed ({exc.__class__.__name__})",
                        )
                active.clear()
        raise
    pool.shutdown()


def in_flight_summary(items: list[list[Exchange]]) -> str:
    """What the items in flight have done so far: model calls, new tokens, the latest stage."""
    if not items:
        return ""
    exchanges = [e for item in items for e in list(item)]
    tokens = sum(e.usage.get("output_tokens", 0) for e in exchanges)
    stage = exchanges[-1].role.replace("_", " ") if exchanges else "starting"
    return f"{len(items)} in flight: {len(exchanges)} model calls, {tokens} new tokens, last: {stage}"


def finish(
    task: Task,
    method: str,
    loaded: list[tuple[dict, dict]],
    store: ResultStore,
    out_dir: Path,
    *,
    nli_model: str | None,
    ablations: list[str] = (),
    **scoring,
) -> dict:
    predictions = []
    seconds, fallbacks = [], {}
    for item, _ in loaded:
        record = store.records.get(str(item["id"]))
        out = copy.deepcopy(item)
        if record and record["status"] == "ok":
            out = task.with_prediction(out, record["output"], record["distribution"])
            seconds.append(record["seconds"])
            for key, value in record["fallbacks"].items():
                fallbacks[key] = fallbacks.get(key, 0) + value
        predictions.append(out)
    write_file(out_dir / "predictions.json", json.dumps(predictions, ensure_ascii=False, indent=1))
    context = json.loads((out_dir / "config.json").read_text())["context"]
    protocol = context.get("protocol", LEGACY_PROTOCOL)
    scores = score(task, predictions, nli_model=nli_model, protocol=protocol, **scoring)
    write_file(out_dir / SCORES_FILE, json.dumps(finite(scores.by_item()), ensure_ascii=False))  # what paired comparisons read
    metrics = scores.metrics
    failed = sum(1 for item, _ in loaded if (store.records.get(str(item["id"])) or {}).get("status") == "failed")
    metrics |= {
        "method": method,
        "ablations": list(ablations),
        "failed": failed,
        "fallbacks": fallbacks,
        "seconds_per_item": round(sum(seconds) / len(seconds), 2) if seconds else None,
        "model": context["moderator_model"],
        "protocol": protocol,
    }
    if method in ("moe", "modplural"):
        metrics["note"] = STAND_IN_NOTE
    write_file(out_dir / "metrics.json", json.dumps(finite(metrics), indent=2))
    return metrics
