"""Score predictions in the VITAL schema: the task's metrics, intervals and per-group breakdowns.

Every interval is a 95% bootstrap that resamples whole questions (see `metrics.bootstrap_ci`), and
comes with the number of items and of distinct questions behind it. Single-option items are
counted in most-likely correctness, as the reference counts them; the figure without them
(`most_likely_correct_multi`, every method gets a single-option item right) is reported beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ethos.errors import EthosError
from ethos.evaluation.coverage import ACCURACY_THRESHOLD, EmbeddingScorer, NLIScorer
from ethos.evaluation.groups import item_groups, question_key
from ethos.evaluation.metrics import UNPARSEABLE, VK_PARSERS, bootstrap_ci, js_distance, most_likely_correct, steerable_vk_scores
from ethos.evaluation.tasks import Task

# The metric each task is ranked by, and whether higher is better.
PRIMARY = {
    "overton": ("coverage", True),
    "steerable_vk": ("accuracy", True),
    "distribution": ("jsd", False),
}

# What a missing `protocol` means: results recorded before the setting existed ran this project's.
LEGACY_PROTOCOL = "ethos"
SCORES_FILE = "scores.json"  # beside predictions.json: every item's value of every metric, as the table scored it


def protocol_of(record: dict) -> str:
    protocol = record.get("protocol")
    return protocol if isinstance(protocol, str) else LEGACY_PROTOCOL


def primary_metric(task: Task, metrics: dict) -> tuple[str, bool]:
    """The metric a task's table is ranked by. Overton: under the reference protocol the reference's
    headline, accuracy at 0.33 of NLI coverage; under this project's, the mean NLI coverage; without
    an NLI model, the embedding proxy (named as one wherever it is shown)."""
    if task.name == "steerable-opinionqa":
        return "most_likely_correct", True
    if task.kind == "overton":
        if "nli_coverage" in metrics:
            return ("nli_coverage_acc@0.33" if protocol_of(metrics) == "reference" else "nli_coverage"), True
        return "embedding_coverage", True
    return PRIMARY[task.kind]


def _has_prediction(task: Task, item: dict) -> bool:
    if task.kind == "distribution":
        pred = item.get("pred_distribution")
        return isinstance(pred, list) and len(pred) == len(item["options"]) and sum(pred) > 0
    return item.get("output") is not None


def _per_item(task: Task, metric: str, score, items: list[dict]) -> list[float]:
    """`score(gold, pred)` for every item. A value that is not a finite number stops the scoring
    with the item's name: one `nan` would otherwise turn the task's mean into nothing."""
    values = []
    for item in items:
        try:
            value = score(item["gold_distribution"], item["pred_distribution"])
        except ValueError as exc:
            value, why = float("nan"), str(exc)
        else:
            why = f"the {metric} is {value}"
        if not np.isfinite(value):
            raise EthosError(f"{task.name} item {item.get('id', '?')}: {why}: check its gold and predicted distributions")
        values.append(value)
    return values


def _summary(name: str, values: list[float], items: list[dict]) -> dict:
    """The mean, its cluster-bootstrap interval, and the items and questions behind them."""
    keys = [question_key(i) for i in items]
    return {
        name: float(np.mean(values)) if values else float("nan"),
        f"{name}_ci": list(bootstrap_ci(values, clusters=keys)),
        f"{name}_n": {"items": len(values), "questions": len(set(keys))},
    }


@dataclass
class Scores:
    """A task's figures over a set of items: the metrics (`metrics.json`) and every item's value of
    every per-item metric, which paired comparisons and group roll-ups read, so that they measure
    exactly what the table shows."""

    metrics: dict
    values: dict[str, tuple[list[float], list[dict]]] = field(default_factory=dict)  # metric -> (values, their items)

    def by_item(self) -> dict:
        """The stored form (`scores.json`): {metric: {item id: value}}, and each item's question."""
        return {"metrics": {name: {str(i.get("id")): v for v, i in zip(values, items)} for name, (values, items) in self.values.items()},
                "questions": {str(i.get("id")): question_key(i) for _, items in self.values.values() for i in items}}


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
    every item's values. `protocol` decides the reference's edge rules (an empty Overton response
    scores -1 under the reference protocol) and the Overton headline (`primary_metric`)."""
    scored = [item for item in items if _has_prediction(task, item)]
    metrics: dict = {"task": task.name, "n": len(scored), "missing": len(items) - len(scored),
                     "n_items": len(scored), "n_questions": len({question_key(i) for i in scored}), "protocol": protocol}
    per_item: dict[str, tuple[list[float], list[dict]]] = {}
    if task.kind == "distribution":
        per_item["jsd"] = (_per_item(task, "jsd", js_distance, scored), scored)
        correct = _per_item(task, "most-likely correctness", most_likely_correct, scored)
        per_item["most_likely_correct"] = (correct, scored)
        multi = [(value, item) for value, item in zip(correct, scored) if len(item["options"]) > 1]
        metrics["single_option_items"] = len(scored) - len(multi)
        if len(multi) < len(scored):  # beside the reference's figure, never instead of it
            per_item["most_likely_correct_multi"] = ([v for v, _ in multi], [i for _, i in multi])
    elif task.kind == "steerable_vk":
        preds = [VK_PARSERS[parser](i["output"]) for i in scored]
        metrics["parser"] = parser
        metrics |= steerable_vk_scores([i["label"] for i in scored], preds)
        metrics["unparseable_answers"] = preds.count(UNPARSEABLE)
        per_item["accuracy"] = ([float(p == i["label"]) for p, i in zip(preds, scored)], scored)
    else:
        scorers = ([NLIScorer(nli_model)] if nli_model else []) + ([EmbeddingScorer()] if embedding else [])
        empty = -1.0 if protocol == "reference" else 0.0
        for scorer in scorers:
            values = [scorer.coverage(i["explanation"], i["output"], empty=empty) for i in scored]
            per_item[scorer.name] = (values, scored)
            per_item[f"{scorer.name}_acc@{ACCURACY_THRESHOLD}"] = ([float(v > ACCURACY_THRESHOLD) for v in values], scored)
    for name, (values, among) in per_item.items():
        metrics |= _summary(name, values, among)  # for steerable VK the mean equals scikit-learn's accuracy
    if task.group_field:
        name = primary_metric(task, metrics)[0]
        metrics["groups"], metrics["categories"] = _groups(task, *per_item[name], name)
    return Scores(metrics, per_item)


def score_items(task: Task, items: list[dict], **settings) -> dict:
    """The metrics of `score` alone."""
    return score(task, items, **settings).metrics


def _groups(task: Task, values: list[float], items: list[dict], metric: str) -> tuple[dict, dict]:
    """The primary metric per exact group and per category, each with its items and questions."""
    by = {"group": defaultdict(list), "category": defaultdict(list)}
    for item, value in zip(items, values):
        groups = item_groups(task.name, item)
        if groups:
            by["group"][groups[0]].append((value, item))
            by["category"][groups[1]].append((value, item))

    def table(rows: dict) -> dict:
        return {key: {"n": len(pairs), "questions": len({question_key(i) for _, i in pairs}),
                      metric: float(np.mean([v for v, _ in pairs]))} for key, pairs in sorted(rows.items())}

    return table(by["group"]), table(by["category"])


def score_item(item: dict, state: dict) -> dict | None:
    """An `--item` run's gold beside its prediction, scored as eval scores it; None where the item
    has no gold this can score (an Overton item's explanation needs the coverage model)."""
    from ethos.evaluation.predictions import prediction_from_state
    from ethos.evaluation.tasks import TASKS

    result = state.get("result") or {}
    try:
        if isinstance(item.get("gold_distribution"), list) and result.get("distribution") is not None:
            # any task of the item's kind: a prediction is read by its task's kind
            pred = prediction_from_state(TASKS["distributional-globalopinionqa"], state).distribution
            gold = [float(g) for g in item["gold_distribution"]]
            return {"gold_distribution": gold, "jsd": round(js_distance(gold, pred), 4),
                    "most_likely_correct": most_likely_correct(gold, pred)}
        if isinstance(item.get("label"), str) and result.get("mode") == "steerable":
            output = prediction_from_state(TASKS["steerable-vk"], state).output
            answer = VK_PARSERS["reference"](output) if output is not None else None
            return {"gold_label": item["label"], "answer": answer, "correct": float(answer == item["label"])}
    except (KeyError, TypeError, ValueError):  # a gold that does not fit the prediction: nothing to show
        return None
    return None
