"""One evaluation item as a run: `execute` runs it (here, or in a Ray actor) and returns its
`Outcome`; `ItemRuns` keeps the books of an evaluation's items, whichever executor runs them: each
item's run record, started before it runs, its line in the results store, written as soon as it
ends, and, when the evaluation stops (Ctrl-C, a fatal error), the items still in flight recorded as
interrupted, with no results line, so the next run runs them again."""

from __future__ import annotations

import signal
import sys
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ethos.agents.models.recording import Exchange
from ethos.errors import EthosError, RunFailure
from ethos.evaluation.store import ResultStore
from ethos.evaluation.tasks import Prediction, Task
from ethos.graph.context import Context
from ethos.graph.graph_run import GraphRun
from ethos.graph.records import RunRecord
from ethos.graph.tokens import token_summary
from ethos.inputs import append_text


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


def item_usage(conversation: list[dict], prices: dict | None) -> dict:
    """An item's model calls, tokens and (with a price table) cost: what a study's progress and estimates add up."""

    return {k: v for k, v in token_summary(conversation, prices).items() if k not in ("by_role", "by_model")}


_LIVE: weakref.WeakSet[ItemRuns] = weakref.WeakSet()  # this process's evaluations while they run


def stop_all(exc: BaseException) -> None:
    """Every evaluation of this process stops (a study's, in its models' threads): the items in flight
    are recorded as interrupted at once, not when the next run finds them."""
    for runs in list(_LIVE):
        runs.stop(exc)


class ItemRuns:
    """The items of one evaluation (a task, and the method and settings in `ctx`), seen from the
    executor that runs them. Thread-safe: items start and finish from any thread."""

    def __init__(self, task: Task, ctx: Context, store: ResultStore, runs_dir: Path | None, prices: dict | None, server: str | None):
        self.task, self.ctx, self.store, self.runs_dir, self.prices, self.server = task, ctx, store, runs_dir, prices, server
        self.method = ctx.method
        self.in_flight: dict[int, list[Exchange]] = {}  # what `execute` has recorded so far, for the progress line
        self._active: dict[str, RunRecord | None] = {}  # item id -> its record, while it runs
        self._lock = threading.Lock()
        self._stopped = False
        _LIVE.add(self)

    def start(self, item: dict, request: dict) -> RunRecord | None:
        # Each item is a run of its own, with a record holding its whole agent conversation. Under the
        # lock: an evaluation stopped from another thread (a study's) starts nothing more, and never
        # misses an item whose record is being written.
        with self._lock:
            if self._stopped:
                raise RunFailure("the evaluation was stopped")
            run = RunRecord(self.runs_dir) if self.runs_dir else None
            if run:
                self.store.started(run.run_id)  # first, so that a kill at any later moment leaves no record "running"
                run.start(
                    "eval",
                    request,
                    {"context": self.ctx.model_dump()},
                    eval={"task": self.task.name, "method": self.method, "item_id": item["id"]},
                )
            self._active[str(item["id"])] = run
        return run

    def finish(self, item: dict, run: RunRecord | None, outcome: Outcome) -> None:
        with self._lock:  # an item still running when the evaluation stopped stays interrupted
            self._active.pop(str(item["id"]), None)
            if not self._stopped:
                self._record(item, run, outcome)

    def _record(self, item: dict, run: RunRecord | None, outcome: Outcome) -> None:
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
        self.store.add(
            result | {**asdict(prediction), "seconds": round(outcome.seconds, 3), "usage": item_usage(outcome.conversation, self.prices)}
        )

    def stop(self, exc: BaseException) -> None:
        """The evaluation stops: every item still in flight is recorded as interrupted, and nothing
        that ends later is recorded. A second Ctrl-C cannot cut this short."""
        with second_interrupt_ignored(), self._lock:
            self._stopped = True
            why = (
                "KeyboardInterrupt: stopped by the user"
                if isinstance(exc, KeyboardInterrupt)
                else f"stopped: another item failed ({exc.__class__.__name__})"
            )
            for run in self._active.values():
                if run is not None:
                    run.finish({}, [], status="interrupted", seconds=0.0, error=why)
            self._active.clear()

    def progress(self) -> str:
        """What the items in flight have done so far: model calls, new tokens, the latest stage."""
        return in_flight_summary(list(self.in_flight.values()))


def in_flight_summary(items: list[list[Exchange]]) -> str:
    if not items:
        return ""
    exchanges = [e for item in items for e in list(item)]
    tokens = sum(e.usage.get("output_tokens", 0) for e in exchanges)
    stage = exchanges[-1].role.replace("_", " ") if exchanges else "starting"
    return f"{len(items)} in flight: {len(exchanges)} model calls, {tokens} new tokens, last: {stage}"


@contextmanager
def second_interrupt_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


STOPPING = "\nethos: stopping; the items in flight are recorded as interrupted ..."


def say_stopping(exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt):
        print(STOPPING, file=sys.stderr)
