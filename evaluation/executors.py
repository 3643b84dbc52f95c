"""Where an evaluation's items run: threads in this process, or actors on a Ray cluster
(`ray_pool.RayPool`). An executor has one method, `run(todo, runs, bar)`: it runs every item of
`todo`, starting and finishing each through `runs` (`items.ItemRuns`), and on a stop (Ctrl-C, a
fatal error) gives the items about to end a moment, then lets `runs.stop` record the rest as
interrupted, and re-raises."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Protocol

from ethos.evaluation.items import ItemRuns, Outcome, execute, say_stopping, second_interrupt_ignored

GRACE_SECONDS = 2.0  # on a stop, items this close to done still keep their work


def _serialised_ast_parse() -> None:
    """CPython before 3.13 builds AST objects with one interpreter-wide depth counter, so two threads
    parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
    (python/cpython#106905). LangChain parses a function's source when it wraps one, and items and
    a study's cells run in threads: one lock makes `ast.parse` take turns."""
    import ast
    import sys
    import threading

    if sys.version_info >= (3, 13) or getattr(ast.parse, "serialised", False):
        return
    lock, parse = threading.Lock(), ast.parse

    def serialised(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    serialised.serialised = True
    ast.parse = serialised


_serialised_ast_parse()


class Executor(Protocol):
    def run(self, todo: list[tuple[dict, dict]], runs: ItemRuns, bar) -> None: ...


class Threads:
    """Items on a thread pool in this process, `max_concurrency` at a time."""

    def __init__(self, max_concurrency: int):
        self.max_concurrency = max_concurrency

    def run(self, todo, runs: ItemRuns, bar) -> None:
        def run_item(item: dict, request: dict) -> None:
            run = runs.start(item, request)
            outcome = Outcome()
            try:
                outcome = execute(
                    runs.task,
                    request,
                    runs.ctx,
                    runs.server,
                    trace_path=run.trace_path if run else None,
                    run_id=run.run_id if run else None,
                    in_flight=runs.in_flight,
                )
            finally:
                runs.finish(item, run, outcome)
            if outcome.fatal:
                raise outcome.fatal

        pool = ThreadPoolExecutor(max_workers=self.max_concurrency)
        pending: set = set()
        try:
            pending = {pool.submit(run_item, item, request) for item, request in todo}
            while pending:
                finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                    bar.update()
                bar.set_postfix_str(runs.progress() if pending else "", refresh=True)
        except BaseException as exc:
            # Stop at once: nothing new starts, items about to end get a moment, the rest are
            # recorded as interrupted. Their calls are not waited for; the command's process exits
            # without them (cli.main).
            pool.shutdown(wait=False, cancel_futures=True)
            with second_interrupt_ignored():  # a second Ctrl-C must not cut this bookkeeping short
                say_stopping(exc)
                wait(pending, timeout=GRACE_SECONDS)
                runs.stop(exc)
            raise
        pool.shutdown()
