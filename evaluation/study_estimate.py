"""What a study costs: before it runs (`ethos study FILE --dry-run`: per model, task, method and
ablation row, its items, model calls, tokens, cost and time, from the call plan on the fake model
and from earlier results of the same model and method), and while it runs (its progress line and
the time to go)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ethos.evaluation.study import Study, StudyModel
from ethos.errors import EthosError
from ethos.graph.tokens import load_prices


@dataclass
class Progress:
    """What the study has done so far, for its one progress line. The time to go: each cell left
    takes what the finished cells of its model and method took (a cell reused from an earlier run,
    done in no time, counts as it did), and models run at the same time, so the slowest model's rest is the study's."""

    cells: list
    done: dict = field(default_factory=dict)  # cell -> its seconds
    items: int = 0
    reused: int = 0
    shared: int = 0  # seed-independent cells: their first seed's run stands for them
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, cell, rows: list[dict], seconds: float) -> str:
        with self.lock:
            self.done[cell] = seconds
            if any(row.get("seed_independent") for row in rows):
                self.shared += 1
                rows = []
            elif not any(row.get("ran") for row in rows):
                self.reused += 1  # done before: its calls and tokens are not this study's
                rows = []
            for row in rows:  # the method's row and one per ablation
                usage = row.get("usage") or {}
                self.items += int(row.get("n") or 0)
                self.calls += int(usage.get("calls", 0))
                self.tokens += int(usage.get("input_tokens", 0) + usage.get("output_tokens", 0))
                self.cost += float(usage.get("cost_usd", 0.0))
            elapsed = time.perf_counter() - self.started
            return (
                f"{len(self.done)}/{len(self.cells)} cells ({self.reused} reused"
                + (f", {self.shared} seed-independent" if self.shared else "")
                + f"), {self.items} items run, {self.calls} calls, "
                f"{self.tokens:,} tokens, ${self.cost:.4f}; {elapsed:.0f} s elapsed, {self._to_go()}"
            )

    def _to_go(self) -> str:
        left: dict = {}
        for cell in (c for c in self.cells if c not in self.done):
            alike = [s for c, s in self.done.items() if (c.model, c.method) == (cell.model, cell.method)]
            if not alike:
                return "time to go unknown until a cell of each model and method is done"
            left[cell.model] = left.get(cell.model, 0.0) + statistics.mean(alike)
        return f"about {max(left.values(), default=0.0):.0f} s to go"


def estimate(study: Study, runs_dir: Path, plan_items: int = 2) -> list[dict]:
    """Per model, task, method and ablation row: items, model calls and tokens the study's cells will
    make, their cost, and their time. Calls and prompt tokens come from the row's call plan, run
    with the fake model in every role on `plan_items` items (no model is loaded and no request
    leaves the process, whatever the study's models and their order); output tokens are the calls'
    budgets (an upper bound); time comes from earlier results of the same model and method
    (seconds per item; over the items in flight at once for an endpoint), where there are some."""
    from ethos.evaluation.items import execute
    from ethos.evaluation.tasks import get_task, load_task, sample_items, task_file

    out = []
    args = study.spec(study.cells()[0]).planned()
    plan = args.context
    for task_name in study.tasks:
        task = get_task(task_name)
        items = load_task(task, task_file(task, args.data))
        n = min(len(items), args.limit or len(items))
        sample = sample_items(items, min(plan_items, n), how=args.sample, seed=args.sample_seed, question=task.question)
        for method, ablation in ((m, a) for m in study.methods for a in study.rows_per_cell(m)):
            ctx = plan.replace(method=method)
            ctx = ctx.with_ablation(ablation) if ablation else ctx
            calls = prompt = budget = 0
            for _, request in sample:
                for exchange in execute(task, request, ctx).conversation:
                    calls += 1
                    prompt += (exchange.get("usage") or {}).get("input_tokens", 0)
                    budget += int((exchange.get("params") or {}).get("max_tokens") or 0)
            per = len(sample) or 1
            for model in study.models:
                cells = n * (len(study.seeds) if ablation else study.seeds_run(model, task_name, method))
                row = {
                    "model": model.name,
                    "task": task_name,
                    "method": method + (f" [{ablation}]" if ablation else ""),
                    "items": cells,
                    "calls": round(calls / per * cells),
                    "input_tokens": round(prompt / per * cells),
                    "output_tokens_at_most": round(budget / per * cells),
                }
                price = _price(study, model)
                if price:
                    row["cost_usd_at_most"] = round(
                        (row["input_tokens"] * price["input"] + row["output_tokens_at_most"] * price["output"]) / 1e6, 4
                    )
                seconds = earlier_seconds(runs_dir, model, task, method)
                if seconds is not None:
                    row["seconds"] = round(seconds * cells / _overlap(study, model))
                out.append(row)
    return out


def _overlap(study: Study, model: StudyModel) -> float:
    """How many items of a model run in the time of one: an endpoint's items wait on the network,
    so they overlap up to the concurrency; a local model's items share its cores (4 in flight are
    ×1.1 faster than 1 on the embedded model, bench/bench_eval_concurrency.py), so they do not."""
    if not model.spec.startswith("openai:"):
        return 1.0
    from ethos.evaluation.spec import EVAL_CONCURRENCY

    return float(dict(model.options).get("max_concurrency") or study.options.get("max_concurrency") or EVAL_CONCURRENCY)


def _price(study: Study, model: StudyModel) -> dict | None:
    """The model's prices (USD per million tokens) from its price table, if the study gives one."""

    path = dict(model.options).get("prices") or study.options.get("prices")
    if not path:
        return None
    return load_prices(Path(path)).get(model.spec.partition(":")[2] or model.spec)


def earlier_seconds(runs_dir: Path, model: StudyModel, task, method: str) -> float | None:
    """The median seconds per item of earlier evaluations of this model, task and method under the runs folder."""
    from ethos.evaluation.identity import model_name
    from ethos.evaluation.log import read_results
    from ethos.graph.context import Context

    folder = runs_dir / "eval" / model_name(Context(model=model.spec))
    seconds = []
    for path in sorted(folder.glob(f"*/{task.name}/{method}/results.jsonl"))[:50]:
        try:
            records, _ = read_results(path, distributions=task.distribution)
        except EthosError:  # a link, a file too large: no estimate from it
            continue
        seconds += [r["seconds"] for r in records.values() if r.get("status") == "ok" and r.get("seconds")]
    return statistics.median(seconds) if seconds else None


def power(study: Study, runs_dir: Path, detect: float | None = None) -> list[dict]:
    """Per task, model and method, its paired comparison with `against`: the variance components
    measured on earlier cells of the same model, task and the two methods under the runs folder
    (each configuration folder holding both is one seed), the half-width of the 95% interval
    expected at the study's questions and seeds, and with `detect`, the questions needed."""
    from ethos.evaluation.identity import model_name, run_name
    from ethos.evaluation.power import components, difference_matrix
    from ethos.evaluation.tasks import get_task, load_task, sample_items, task_file

    if not study.against:
        return []
    out = []
    spec = study.spec(study.cells()[0])
    for task_name in study.tasks:
        task = get_task(task_name)
        items = load_task(task, task_file(task, spec.data))
        chosen = sample_items(items, spec.limit, how=spec.sample, seed=spec.sample_seed, question=task.question) if spec.limit else items
        n_questions = len({task.question(item) for item, _ in chosen})
        metric = task.primary({})[0]
        for model in study.models:
            ctx = study.model_specs[model].context
            folders = sorted(Path(runs_dir).glob(f"eval/{model_name(ctx)}/*/{task_name}"))[:200]
            theirs = _by_seed(folders, task, metric, run_name(study.against, ctx))
            for method in (m for m in study.methods if m != study.against):
                ours = _by_seed(folders, task, metric, run_name(method, ctx))
                for one, other, name in ((theirs, ours, study.against), (ours, theirs, method)):
                    if one and study.seed_independent(model, task_name, name):
                        one.update({seed: next(iter(one.values())) for seed in other if seed not in one})
                common = sorted(set(ours) & set(theirs))
                found = difference_matrix({s: theirs[s] for s in common}, {s: ours[s] for s in common})
                parts = components(found) if found is not None else None
                row = {"model": model.name, "task": task_name, "comparison": f"{method} − {study.against}", "questions": n_questions,
                       "seeds": len(study.seeds), "earlier": f"{found.shape[0]} × {found.shape[1]}" if found is not None else "none"}  # fmt: skip
                if parts is not None:
                    row["half_width"] = parts.half_width(n_questions, len(study.seeds))
                    if detect:
                        row["needed"] = parts.needed(detect, len(study.seeds))
                        row["seeds_needed"] = parts.seeds_needed(detect)
                out.append(row)
    return out


def _by_seed(folders: list[Path], task, metric: str, name: str) -> dict:
    """A row's earlier item scores by seed, from the configuration folders holding it (`name`: its folder)."""
    from ethos.evaluation.compare import item_scores
    from ethos.evaluation.log import read_config

    found = {}
    for folder in (f / name for f in folders):
        if (folder / "scores.json").is_file():
            try:
                found[read_config(folder / "config.json")["context"].get("seed", 0)] = item_scores(task, metric, folder)
            except EthosError:
                continue
    return found
