"""Running a study (`study.py` says what it is): each model's cells in a thread of their own,
a seed-independent cell's first seed standing for the rest, and with `ray`, one connection and
each model's actors serving all its cells."""

from __future__ import annotations

import threading
import time

from ethos.errors import EthosError
from ethos.evaluation.study import Cell, Study, StudyModel
from ethos.evaluation.study_estimate import Progress


def run_study(study: Study, say, stop: threading.Event) -> tuple[dict[Cell, list[dict]], list[str]]:
    """Every cell, each model's cells in a thread of their own (models run at the same time; one
    model's cells one after another, its items within its own concurrency). Returns each finished
    cell's rows, and why each model that stopped early stopped (its other cells are missing); `stop`
    set (Ctrl-C) ends each model's thread after the cell it is in."""
    from ethos.evaluation.evaluate import evaluate
    from ethos.evaluation.ray_pool import connect

    cells = study.cells()
    progress, results, failures = Progress(cells), {}, []
    address = study.options.get("ray")
    ray = connect(address) if address is not None else None  # one connection; each model's actors on its share

    def model_cells(model: StudyModel) -> None:
        try:
            pool = _model_pool(study, model) if ray else None
        except EthosError as exc:
            failures.append(f"{model.name}: {exc}")
            return
        try:
            cells_of(model, pool)
        finally:
            if pool:
                pool.close()

    def cells_of(model: StudyModel, pool) -> None:
        for cell in (c for c in cells if c.model == model):
            if stop.is_set():
                return
            started = time.perf_counter()
            stand_in = study.stand_in(cell)
            if stand_in is not None and stand_in in results:  # one run for every seed, marked as such
                results[cell] = [row | {"seed_independent": True, "ran": False} for row in results[stand_in]]
                say(f"[{progress.add(cell, results[cell], 0.0)}] {cell} (seed-independent: seed {stand_in.seed}'s run stands for it)")
                continue
            try:
                rows = evaluate(study.spec(cell), ray_pool=pool)[0]
            except EthosError as exc:  # an endpoint down, a failed item: this model stops; the others go on
                failures.append(f"{cell}: {exc}")
                return
            except Exception as exc:  # never lost in a thread: the study reports it as the CLI would
                failures.append(f"{cell}: internal error: {exc.__class__.__name__}: {exc}")
                return
            results[cell] = rows
            failed = sum(r.get("failed") or 0 for r in rows)
            reused = "" if any(r.get("ran") for r in rows) else " (done before: reused)"
            say(
                f"[{progress.add(cell, rows, time.perf_counter() - started)}] {cell}{reused}"
                + (f": {failed} item(s) failed" if failed else "")
            )

    threads = [threading.Thread(target=model_cells, args=(m,), daemon=True, name=f"study {m.name}") for m in study.models]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)  # a short join: the main thread still takes Ctrl-C
    finally:
        if ray:
            ray.shutdown()
    if progress.reused + progress.shared == len(cells):
        say("study: nothing ran: every cell was done before (its results are reused as they are)")
    return results, failures


def _model_pool(study: Study, model: StudyModel):
    """A model's Ray actors for all its cells: its models load once per actor, not once per cell."""
    from ethos.evaluation.evaluate import ray_pool_for

    spec = study.spec(next(c for c in study.cells() if c.model == model))
    cache = spec.runs_dir / "cache.sqlite" if spec.cache else None
    return ray_pool_for(spec, cache, connected=True, share=len(study.models))
