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
from ethos.evaluation.groups import question_key
from ethos.evaluation.metrics import bootstrap_ci
from ethos.evaluation.presentation import method_label, row_label
from ethos.evaluation.scoring import SCORES_FILE, score
from ethos.evaluation.tasks import Task, protocol_of
from ethos.graph.records import is_run_id
from ethos.inputs import read_text, stored_number


def item_scores(task: Task, metric: str, folder: Path, row: dict | None = None) -> dict[str, tuple[float, str]]:
    """`metric` for every item of the evaluation in `folder` that has a prediction: {id: (value, question)}.

    The values are the ones the folder's table was made from (`scores.json`, written with its
    metrics), so a paired difference measures exactly the table's metric, parser and protocol. A
    folder written before that file existed is scored again from its predictions with the parser
    and protocol its metrics record; a coverage metric that needs the NLI model is then left out."""
    stored = _stored_scores(folder / SCORES_FILE)
    if stored is not None:
        values, questions = stored
        return {i: (v, questions.get(i, i)) for i, v in (values.get(metric) or {}).items()}
    items = _read_list(folder / "predictions.json")
    row = row or {}
    try:
        found = score(
            task,
            [i for i in items if isinstance(i, dict)],
            parser=row.get("parser") or "reference",
            protocol=protocol_of(row),
            embedding=metric.startswith("embedding"),
        ).values
    except (EthosError, KeyError, TypeError, ValueError):
        return {}  # predictions the scorer refuses: nothing to pair
    values, among = found.get(metric, ([], []))
    return {str(i.get("id")): (float(v), question_key(i)) for v, i in zip(values, among)}


def _read_list(path: Path) -> list:
    try:
        data = json.loads(read_text(path))  # the project's bounded reader of outside files
    except (OSError, ValueError, RecursionError) as exc:
        raise EthosError(f"{path}: not readable predictions ({exc.__class__.__name__})") from None
    if not isinstance(data, list):
        raise EthosError(f"{path}: not a list of items")
    return data


def _stored_scores(path: Path) -> tuple[dict, dict] | None:
    """`scores.json` as ({metric: {id: value}}, {id: question}), its bad entries left out; None when
    the file is missing or unreadable."""
    try:
        data = json.loads(read_text(path))
    except (OSError, ValueError, RecursionError, EthosError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        return None
    questions = {str(k): str(v) for k, v in (data.get("questions") or {}).items()} if isinstance(data.get("questions"), dict) else {}
    values = {
        str(name): {str(i): float(v) for i, v in by_item.items() if stored_number(v)}
        for name, by_item in data["metrics"].items()
        if isinstance(by_item, dict)
    }
    return values, questions


def paired(reference: dict[str, tuple[float, str]], other: dict[str, tuple[float, str]], higher: bool) -> dict:
    """other minus reference over their common items: the mean, its interval over questions, the
    items, how many items `other` does better on, and whether the interval leaves out 0."""
    ids = sorted(set(reference) & set(other))
    diffs = [other[i][0] - reference[i][0] for i in ids]
    if len(ids) < 2:
        return {"n": len(ids), "mean": float("nan"), "ci": [float("nan")] * 2, "better": 0, "worse": 0, "holds": False}
    low, high = bootstrap_ci(diffs, clusters=[reference[i][1] for i in ids])
    sign = 1 if higher else -1
    return {
        "n": len(ids),
        "mean": float(np.mean(diffs)),
        "ci": [low, high],
        "better": sum(sign * d > 0 for d in diffs),
        "worse": sum(sign * d < 0 for d in diffs),
        "holds": bool(low > 0 or high < 0),
    }


def run_ids(folder: Path) -> dict[str, str]:
    """{item id: the run id of its last run} from `folder/results.jsonl` (read only; bad lines skipped)."""

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


def paired_rows(task: Task, rows: list[dict], metric: str, higher: bool, against: str | None) -> list[tuple[dict, dict, dict]]:
    """Every row's paired difference from its reference row, as (reference, row, difference), on the
    items both predicted, with intervals over questions. Rows are paired within their model: the
    reference of a model's rows is its row that `against` names (a method with its ablations, or a
    whole row label), else its vanilla row, else its first. An `against` that names no row is
    refused with the rows there are."""
    if against is not None and not any(_names(r, rows, against) for r in rows):
        choices = ", ".join(dict.fromkeys([*(method_label(r) for r in rows), *(row_label(r, rows) for r in rows)]))
        raise EthosError(f"--against {against[:60]!r} names no row: choose one of {choices}")
    found = []
    for model in dict.fromkeys(str(r.get("model")) for r in rows):
        group = [r for r in rows if str(r.get("model")) == model and "path" in r]
        if against is not None:
            reference = next((r for r in group if _names(r, rows, against)), None)
        else:
            reference = next((r for r in group if r["method"] == "vanilla"), group[0] if group else None)
        if reference is None or len(group) < 2:
            continue
        base = item_scores(task, metric, Path(reference["path"]), reference)
        found += [(reference, r, paired(base, item_scores(task, metric, Path(r["path"]), r), higher)) for r in group if r is not reference]
    return found


def _names(row: dict, rows: list[dict], against: str) -> bool:
    return method_label(row) == against or row_label(row, rows) == against


PAIRED_NOTE = "row minus reference, on the same items; 95% bootstrap over questions; holds: the interval leaves out 0"
