"""Methods compared on the same items: per-item scores of a task's primary metric, and the paired
difference of one row against another with a 95% bootstrap that resamples whole questions.

Unpaired intervals of two methods overlap on small samples even where one method is better on most
items; the paired difference is the figure that says whether a difference holds.
"""

from __future__ import annotations

from pathlib import Path

from ethos.errors import EthosError
from ethos.evaluation.log import read_predictions, read_results, read_scores
from ethos.evaluation.presentation import method_label, row_label
from ethos.evaluation.scoring import SCORES_FILE, score
from ethos.evaluation.statistics import paired
from ethos.evaluation.tasks import Task, protocol_of
from ethos.graph.records import is_run_id


def item_scores(task: Task, metric: str, folder: Path, row: dict | None = None) -> dict[str, tuple[float, str]]:
    """`metric` for every item of the evaluation in `folder` that has a prediction: {id: (value, question)}.

    The values are the ones the folder's table was made from (`scores.json`, written with its
    metrics), so a paired difference measures exactly the table's metric, parser and protocol. A
    folder written before that file existed is scored again from its predictions with the parser
    and protocol its metrics record; a coverage metric that needs the NLI model is then left out."""
    stored = read_scores(folder / SCORES_FILE, task.name)
    if stored is not None:
        return stored.values(metric)
    items = read_predictions(folder / "predictions.json")
    row = row or {}
    try:
        found = score(
            task, items, parser=row.get("parser") or "reference", protocol=protocol_of(row), embedding=metric.startswith("embedding")
        ).values
    except (EthosError, KeyError, TypeError, ValueError):
        return {}  # predictions the scorer refuses: nothing to pair
    values, among = found.get(metric, ([], []))
    return {str(i.get("id")): (float(v), task.question(i)) for v, i in zip(values, among)}


def run_ids(folder: Path) -> dict[str, str]:
    """{item id: the run id of its last run} from `folder/results.jsonl` (read only; bad lines skipped)."""
    records, _ = read_results(folder / "results.jsonl", distributions=False)
    return {key: r["run_id"] for key, r in records.items() if isinstance(r.get("run_id"), str) and is_run_id(r["run_id"])}


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
        found += [
            (reference, r, paired({0: base}, {0: item_scores(task, metric, Path(r["path"]), r)}, higher))
            for r in group
            if r is not reference
        ]
    return found


def _names(row: dict, rows: list[dict], against: str) -> bool:
    return method_label(row) == against or row_label(row, rows) == against


PAIRED_NOTE = "row minus reference, on the same items; 95% bootstrap over questions; holds: the interval leaves out 0"
