"""Evaluation items on a Ray cluster (`ethos eval --ray [ADDRESS]`; the `ray` extra).

One actor per worker holds its backends, so a model loads once per worker, not once per item; each
item is one graph invocation inside an actor. The driver keeps the one resumable results store: it
starts each item's run record, and writes the item's line and record as soon as its actor returns.
An actor whose process dies is restarted and its item run again (Ray's actor restarts and task
retries); an item whose retries run out is recorded as failed, so the next run retries it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections import deque
from pathlib import Path

from ethos.errors import EthosError, RunFailure
from ethos.evaluation.executors import GRACE_SECONDS
from ethos.evaluation.items import Outcome, execute, say_stopping, second_interrupt_ignored
from ethos.graph.context import Context
from ethos.graph.telemetry import export_traces, flush

RETRIES = 3  # restarts of a dead actor, and runs of the item it held


class ItemWorker:
    """A Ray actor: one process with its own backends (and model-call cache, on a shared disk)."""

    def __init__(self, ctx: Context, cache: str | None, otel: str | None):

        if otel:
            export_traces(otel)  # the actor's runs are exported as the driver's would be
        ctx.load_models(Path(cache) if cache else None)  # once, before the first item

    def pid(self) -> int:
        return os.getpid()

    def run(self, task, request: dict, ctx: Context, server: str | None, run_id: str | None = None):

        with tempfile.TemporaryDirectory(prefix="ethos-item-") as tmp:
            trace = Path(tmp) / "trace.jsonl"
            outcome = execute(task, request, ctx, server, trace_path=trace, run_id=run_id)
            outcome.trace = trace.read_text(encoding="utf-8") if trace.exists() else ""
        flush()  # --otel: the item's spans leave before the actor may be stopped
        return outcome


def _import_ray():
    try:
        import ray
    except ImportError:
        raise EthosError("--ray needs Ray: bash scripts/setup.sh --ray (or, in a checkout, .venv/bin/pip install -e '.[ray]')") from None
    return ray


def connect(address: str):
    """Ray, started (`local`: a cluster on this machine) or joined (`HOST:PORT`, `ray://HOST:PORT`,
    `auto`) once for this process."""
    ray = _import_ray()
    options = {"include_dashboard": False, "configure_logging": False, "log_to_driver": False}
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RunFailure(f"--ray {address}: cannot start or join the Ray cluster ({' '.join(str(exc).split())[:200]})") from None
    return ray


class RayPool:
    """Actors on a Ray cluster: `local` starts one on this machine for the pool's lifetime; an
    address (`HOST:PORT`, `ray://HOST:PORT`, `auto`) joins a running cluster. A study's pools share
    one connection (`connected`), one per model, each with its `share` of the cluster's CPUs."""

    def __init__(
        self,
        address: str,
        ctx: Context,
        *,
        actors: int | None = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        cache: Path | None = None,
        otel: str | None = None,
        connected: bool = False,
        share: int = 1,
    ):
        self.owns = not connected  # a study's pool leaves the connection to the study
        ray = self.ray = _import_ray() if connected else connect(address)
        cpus = ray.cluster_resources().get("CPU", 0)
        count = actors or max(1, int(cpus // num_cpus // share) if num_cpus else 1)  # actors beyond the CPUs would never start
        # The cache is a file: it is shared only by workers on this machine (a local cluster).
        shared_cache = str(cache) if cache and address == "local" else None
        worker = ray.remote(ItemWorker).options(num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=RETRIES, max_task_retries=RETRIES)
        self.actors = [worker.remote(ctx, shared_cache, otel) for _ in range(count)]
        try:
            self.pids()  # every actor has loaded its models: a bad spec or a missing model fails here, named
        except ray.exceptions.RayError as exc:
            found = re.findall(r"(?:EthosError|RunFailure): (.*)", str(exc))
            self.close()
            raise RunFailure(f"--ray: a worker could not load its models: {found[-1] if found else exc.__class__.__name__}") from None
        print(
            f"ethos: {count} Ray actor(s) on {address} ({cpus:g} CPUs in the cluster; {num_cpus:g} CPU and {num_gpus:g} GPU each)",
            file=sys.stderr,
        )

    def pids(self) -> list[int]:
        return self.ray.get([a.pid.remote() for a in self.actors])

    def run(self, todo, runs, bar) -> None:
        """Run `todo` on the actors, one item per actor at a time; `runs` (items.ItemRuns) records
        each as it ends, and on a stop the items still in flight after a moment as interrupted."""

        ray, queue, idle, pending = self.ray, deque(todo), list(self.actors), {}
        fatal = None

        def finish(ref) -> Outcome:
            item, run, actor = pending.pop(ref)
            try:
                outcome = ray.get(ref)
                idle.append(actor)
            except ray.exceptions.RayError as exc:  # the worker died more often than it may be restarted
                outcome = Outcome(status="failed", error=f"the Ray worker died running this item ({exc.__class__.__name__})")
                if not isinstance(exc, ray.exceptions.ActorDiedError):
                    idle.append(actor)
            runs.finish(item, run, outcome)
            bar.update()
            return outcome

        try:
            while queue or pending:
                while idle and queue and not fatal:
                    item, request = queue.popleft()
                    actor = idle.pop()
                    run = runs.start(item, request)
                    ref = actor.run.remote(runs.task, request, runs.ctx, runs.server, run.run_id if run else None)
                    pending[ref] = (item, run, actor)
                if not pending:
                    if queue and not fatal:
                        raise RunFailure(f"every Ray actor died; {len(queue)} item(s) were not run: rerun the same command to run them")
                    break
                done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in done:
                    fatal = fatal or finish(ref).fatal
                bar.set_postfix_str(f"{len(pending)} in flight on {len(self.actors)} Ray actor(s)" if pending else "", refresh=True)
        except BaseException as exc:
            with second_interrupt_ignored():  # the same stop as the threads': a moment, then the rest interrupted
                say_stopping(exc)
                done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=GRACE_SECONDS) if pending else ([], [])
                for ref in done:
                    finish(ref)
                runs.stop(exc)  # the actors still running are stopped with the pool
            raise
        if fatal:
            raise fatal

    def close(self) -> None:
        if self.owns:
            self.ray.shutdown()  # a local cluster stops with it; a joined one keeps running
        else:
            for actor in self.actors:
                self.ray.kill(actor)

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
