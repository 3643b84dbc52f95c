"""Score predictions in the VITAL schema: the metrics a task scores per item (`Task.score`), their
means with intervals, and per-group breakdowns.

Every interval is a 95% bootstrap that resamples whole questions (see `statistics.py`), and
comes with the number of items and of distinct questions behind it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ethos.evaluation.statistics import mean_interval
from ethos.evaluation.tasks import Task, task_for_item

SCORES_FILE = "scores.json"  # beside predictions.json: every item's value of every metric, as the table scored it


def primary_metric(task: Task, metrics: dict) -> tuple[str, bool]:
    """The metric a task's table is ranked by, and whether higher is better (the task says)."""
    return task.primary(metrics)


def _summary(task: Task, name: str, values: list[float], items: list[dict]) -> dict:
    """The mean, its cluster-bootstrap interval, and the items and questions behind them."""
    keys = [task.question(i) for i in items]
    mean, ci = mean_interval(values, [(str(i.get("id")), q) for i, q in zip(items, keys)])
    return {name: mean, f"{name}_ci": ci, f"{name}_n": {"items": len(values), "questions": len(set(keys))}}


@dataclass
class Scores:
    """A task's figures over a set of items: the metrics (`metrics.json`) and every item's value of
    every per-item metric, which paired comparisons and group roll-ups read, so that they measure
    exactly what the table shows."""

    metrics: dict
    values: dict[str, tuple[list[float], list[dict]]] = field(default_factory=dict)  # metric -> (values, their items)
    questions: dict[str, str] = field(default_factory=dict)  # item id -> its question (the task's key)

    def by_item(self) -> dict:
        """The stored form (`scores.json`): {metric: {item id: value}}, and each item's question."""
        return {
            "metrics": {name: {str(i.get("id")): v for v, i in zip(values, items)} for name, (values, items) in self.values.items()},
            "questions": self.questions,
        }


def score(
    task: Task,
    items: list[dict],
    *,
    nli_model: str | None = None,
    embedding: bool = True,
    parser: str = "reference",
    protocol: str = "reference",
) -> Scores:
    """Metrics over the items that carry a prediction (the others are counted as missing), with
    every item's values, as the task scores them. `protocol` decides the reference's edge rules (an
    empty Overton response scores -1 under the reference protocol) and the Overton headline."""
    scored = [item for item in items if task.has_prediction(item)]
    metrics: dict = {
        "task": task.name,
        "n": len(scored),
        "missing": len(items) - len(scored),
        "n_items": len(scored),
        "n_questions": len({task.question(i) for i in scored}),
        "protocol": protocol,
    }
    per_item, extra = task.score(scored, nli_model=nli_model, embedding=embedding, parser=parser, protocol=protocol)
    metrics |= extra
    for name, (values, among) in per_item.items():
        metrics |= _summary(task, name, values, among)
    if any(task.groups(item) for item in scored):
        name = primary_metric(task, metrics)[0]
        metrics["groups"], metrics["categories"] = _groups(task, *per_item[name], name)
    questions = {str(i.get("id")): task.question(i) for _, among in per_item.values() for i in among}
    return Scores(metrics, per_item, questions)


def score_items(task: Task, items: list[dict], **settings) -> dict:
    """The metrics of `score` alone."""
    return score(task, items, **settings).metrics


def _groups(task: Task, values: list[float], items: list[dict], metric: str) -> tuple[dict, dict]:
    """The primary metric per exact group and per category, each with its items and questions."""
    by = {"group": defaultdict(list), "category": defaultdict(list)}
    for item, value in zip(items, values):
        groups = task.groups(item)
        if groups:
            by["group"][groups[0]].append((value, item))
            by["category"][groups[1]].append((value, item))

    def table(rows: dict) -> dict:
        return {
            key: {"n": len(pairs), "questions": len({task.question(i) for _, i in pairs}), metric: float(np.mean([v for v, _ in pairs]))}
            for key, pairs in sorted(rows.items())
        }

    return table(by["group"]), table(by["category"])


def score_item(item: dict, state: dict) -> dict | None:
    """An `--item` run's gold beside its prediction, scored as eval scores it by the item's task (the
    state holds the request); None where the item belongs to no task, or its task cannot show it
    (Overton needs the coverage model)."""
    task = task_for_item(item, state) if state.get("mode") else None
    shown = task.item_score(item, state) if task and state.get("result") else None
    return {"task": task.name, **shown} if shown else None
