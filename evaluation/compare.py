"""Methods compared on the same items: per-item scores of a task's primary metric, and the paired
difference of one row against another with a 95% bootstrap that resamples whole questions.

Unpaired intervals of two methods overlap on small samples even where one method is better on most
items; the paired difference is the figure that says whether a difference holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ethos.errors import EthosError
from ethos.inputs import read_text
from ethos.evaluation.groups import question_key
from ethos.evaluation.metrics import VK_PARSERS, bootstrap_ci, js_distance, most_likely_correct
from ethos.evaluation.tasks import Task


def item_scores(task: Task, metric: str, folder: Path) -> dict[str, tuple[float, str]]:
    """`metric` for every item of `folder/predictions.json` that has a prediction: {id: (value, question)}."""
    path = folder / "predictions.json"
    try:
        items = json.loads(read_text(path))  # the project's bounded reader of outside files
    except (OSError, ValueError, RecursionError) as exc:
        raise EthosError(f"{path}: not readable predictions ({exc.__class__.__name__})") from None
    if not isinstance(items, list):
        raise EthosError(f"{path}: not a list of items")
    scorer = None
    if metric.endswith("coverage"):
        from ethos.evaluation.coverage import EmbeddingScorer

        scorer = EmbeddingScorer()
    scores = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            if task.kind == "distribution":
                if not item.get("pred_distribution"):
                    continue
                score = js_distance if metric == "jsd" else most_likely_correct
                value = score(item["gold_distribution"], item["pred_distribution"])
            elif task.kind == "steerable_vk":
                if item.get("output") is None:
                    continue
                value = float(VK_PARSERS["reference"](item["output"]) == item["label"])
            else:
                if item.get("output") is None:
                    continue
                value = scorer.coverage(item["explanation"], item["output"])
        except (KeyError, TypeError, ValueError):
            continue  # an item the scorer already refuses by name; left out here
        scores[str(item.get("id"))] = (float(value), question_key(item))
    return scores


def paired(reference: dict[str, tuple[float, str]], other: dict[str, tuple[float, str]], higher: bool) -> dict:
    """other minus reference over their common items: the mean, its interval over questions, the
    items, how many items `other` does better on, and whether the interval leaves out 0."""
    ids = sorted(set(reference) & set(other))
    diffs = [other[i][0] - reference[i][0] for i in ids]
    if len(ids) < 2:
        return {"n": len(ids), "mean": float("nan"), "ci": [float("nan")] * 2, "better": 0, "worse": 0, "holds": False}
    low, high = bootstrap_ci(diffs, clusters=[reference[i][1] for i in ids])
    sign = 1 if higher else -1
    return {"n": len(ids), "mean": float(np.mean(diffs)), "ci": [low, high],
            "better": sum(sign * d > 0 for d in diffs), "worse": sum(sign * d < 0 for d in diffs),
            "holds": bool(low > 0 or high < 0)}


def run_ids(folder: Path) -> dict[str, str]:
    """{item id: the run id of its last run} from `folder/results.jsonl` (read only; bad lines skipped)."""
    from ethos.graph.records import is_run_id

    found = {}
    try:
        lines = read_text(folder / "results.jsonl").splitlines()
    except (OSError, ValueError, EthosError):
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and isinstance(record.get("run_id"), str) and is_run_id(record["run_id"]):
            found[str(record.get("id"))] = record["run_id"]
    return found


def paired_rows(task: Task, rows: list[dict], metric: str, higher: bool, against: str | None) -> tuple[dict | None, list[tuple[dict, dict]]]:
    """The reference row (`against`, else vanilla, else the first) and every other row's paired
    difference from it, on the items both predicted, with intervals over questions."""
    from ethos.evaluation.summary import method_label, row_label

    reference = next((r for r in rows if method_label(r) == against or row_label(r, rows) == against), None) or \
        next((r for r in rows if r["method"] == "vanilla"), rows[0])
    if len(rows) < 2 or "path" not in reference:
        return None, []
    base = item_scores(task, metric, Path(reference["path"]))
    return reference, [(r, paired(base, item_scores(task, metric, Path(r["path"])), higher)) for r in rows
                       if r is not reference and "path" in r]


PAIRED_NOTE = "row minus reference, on the same items; 95% bootstrap over questions; holds: the interval leaves out 0"
