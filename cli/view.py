"""`ethos view`: a run or evaluations as one self-contained HTML page (inline CSS and SVG; no script,
no font, no request to anywhere), to open in any browser, offline. The pages are Jinja2 templates
(`cli/templates/`) with autoescaping on: every text from a model, a data file or a record is escaped.

- A run (`run_page.py`): its input, the personas with their slots and sources, every comment with
  its choice, the moderator's result, and the distributions as bar charts (per persona and combined).
- Evaluation folders: per task, the evaluation summary (`evaluation/summary.py`: the model, every
  metric with its interval, one colour per row), each row paired against a reference row, the
  per-category breakdown, the first items with their gold, predictions, scores and runs (each run's
  page beside it), and every item's score in a CSV.
"""

from __future__ import annotations

import os
from pathlib import Path

from ethos.cli.run_page import run_page, templates
from ethos.errors import EthosError
from ethos.graph.records import load_record
from ethos.inputs import write_file
from ethos.redaction import outward


def eval_page(folders: list[Path], metrics: list[dict], against: str | None = None, stem: str = "view") -> tuple[str, dict[str, str]]:
    """Every metrics.json under the evaluation folders, by task, drawn from the evaluation summary;
    with the files that go beside the page (named from its `stem`): each linked item run's page
    (`STEM-runs/RUN_ID.html`, linked relatively, so the folder can be shared) and every item's
    score of every row (`STEM-items.csv`)."""
    from ethos.evaluation.compare import PAIRED_NOTE
    from ethos.evaluation.presentation import counted, fmt
    from ethos.evaluation.summary import task_summaries

    tasks, beside, csv_rows = [], {}, [["task", "item", "row", "metric", "value"]]
    for s in task_summaries(metrics):
        reference, found = s.paired(against)
        scores = _item_scores(s)
        csv_rows += [
            [s.task.name, key, label, s.metric, f"{value:.6g}"] for label, by_item in scores.items() for key, value in by_item.items()
        ]
        categories = sorted({c for r in s.rows for c in (r.get("categories") or {})})
        tasks.append(
            {
                "name": s.task.name,
                "models": ", ".join(s.models),
                "metric": s.metric,
                "higher": s.higher,
                "chart": s.chart(),
                "headings": [heading for heading, _ in s.columns],
                "notes": "; ".join(s.notes).capitalize() + ".",
                "rows": [
                    {
                        "label": label,
                        "colour": s.colour(i),
                        "model": r.get("model"),
                        "n": r.get("n"),
                        "questions": r.get("n_questions"),
                        "cells": [fmt(r.get(key), r.get(f"{key}_ci")) for _, key in s.columns],
                        "seconds": r.get("seconds_per_item"),
                        "counted": counted(r),
                    }
                    for i, (r, label) in enumerate(zip(s.rows, s.labels))
                ],
                "reference": reference,
                "paired": [
                    {
                        "label": label,
                        "against": d["against"],
                        "n": d["n"],
                        "difference": fmt(d["mean"], d["ci"]),
                        "better": d["better"],
                        "worse": d["worse"],
                        "holds": d["holds"],
                    }
                    for label, d in found
                ],
                "categories": s.breakdown("categories", categories) if categories else "",
                "first_items": _items(s.task, s.rows, s.labels, s.colours, scores, f"{stem}-runs", beside),
                "metric_name": s.metric_name().rstrip(" ↑↓"),
            }
        )
    return (
        templates()
        .get_template("eval.html.j2")
        .render(
            title=f"EthosAgents evaluation {', '.join(map(str, folders))}",
            folders=", ".join(map(str, folders)),
            tasks=tasks,
            paired_note=PAIRED_NOTE,
            items_csv=f"{stem}-items.csv",
        )
    ), beside | {f"{stem}-items.csv": _csv(csv_rows)}


def _item_scores(s) -> dict[str, dict[str, float]]:
    """Every row's value of the primary metric for each item, as its table scored it: {label: {id: value}}."""
    from ethos.evaluation.compare import item_scores

    out = {}
    for r, label in zip(s.rows, s.labels):
        try:
            out[label] = {key: value for key, (value, _) in item_scores(s.task, s.metric, Path(r["path"]), r).items()}
        except EthosError:
            out[label] = {}
    return out


def _csv(rows: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[outward(cell, "csv") for cell in row] for row in rows])
    return buffer.getvalue()


def _items(
    task, rows: list[dict], labels: list[str], colours: list[str], scores: dict, runs_folder: str, beside: dict[str, str], n: int = 10
) -> list[dict]:
    """The first items: what tells each apart from the others (their shared preamble left out), the
    gold, every row's prediction and its score, and a link to each row's run of the item (its page,
    made into `beside` under `runs_folder`)."""
    from ethos.evaluation.charts import bars
    from ethos.evaluation.compare import run_ids
    from ethos.evaluation.log import read_predictions

    predictions, runs = {}, {}
    for r in rows:
        try:
            predictions[r["path"]] = {str(i.get("id")): i for i in read_predictions(Path(r["path"]) / "predictions.json")}
        except EthosError:
            continue
        runs[r["path"]] = run_ids(Path(r["path"]))
    items = list(next(iter(predictions.values()), {}).values())[:n]
    texts = [task.text(i) for i in items]
    shared = len(_common_prefix(texts)) if len(texts) > 1 else 0
    out = []
    for item, text in zip(items, texts):
        key = str(item.get("id"))
        shown = {
            "id": key,
            "attribute": item.get("attribute"),
            "cut": bool(shared),
            "text": _cut_at_word(" ".join(text[shared:].split()) or " ".join(text.split()), 300),
            "scores": [{"label": label, "value": f"{scores[label][key]:.3f}"} for label in labels if key in scores.get(label, {})],
            "links": [],
            "options": [],
            "chart": "",
            "answers": [],
            "gold": None,
        }
        for r, label in zip(rows, labels):
            run_id = runs.get(r["path"], {}).get(key)
            if run_id and r.get("runs_dir"):
                try:
                    beside[f"{runs_folder}/{run_id}.html"] = run_page(load_record(Path(r["runs_dir"]), run_id).data)
                except EthosError:
                    continue  # the record is gone (another runs folder): no link
                shown["links"].append({"label": label, "run_id": run_id, "href": f"{runs_folder}/{run_id}.html"})
        predicted = [((predictions.get(r["path"]) or {}).get(key) or {}, label) for r, label in zip(rows, labels)]
        view = task.item_view(item, predicted)  # the task says what its gold and predictions are
        if "series" in view:
            letters = [chr(65 + k) for k in range(len(view["options"]))]
            view["chart"] = bars(letters, view.pop("series"), top=1.0, series_colours=dict(zip(labels, colours)), y_title="probability")
        out.append(shown | view)
    return out


def _cut_at_word(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 2 else text[:limit]) + "…"


def _common_prefix(texts: list[str]) -> str:
    """The preamble the items share, cut back to a line or sentence end."""
    prefix = os.path.commonprefix(texts)
    cut = max(prefix.rfind("\n"), prefix.rfind(". "))
    return prefix[: cut + 1] if cut > 0 else ""


def write_view(targets: list[str], runs_dir: Path, out: Path | None = None, against: str | None = None) -> Path:
    """The page for a run id, or for one or more evaluation folders (compared), written to `out`
    or beside the (first) target."""
    folders = [Path(t) for t in targets]
    if len(folders) == 1 and (folders[0] / "study.json").is_file():
        from ethos.cli.study_page import study_page  # it draws its cells with eval_page, from here

        (page, beside), default = study_page(folders[0], runs_dir), folders[0] / "view.html"
    elif folders[0].is_dir():
        from ethos.evaluation.summary import find_metrics

        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            raise EthosError(f"not an evaluation folder: {', '.join(missing)} (give evaluation folders, or one run id)")
        metrics = [m | {"runs_dir": str(runs_dir)} for m in find_metrics(folders)]
        default = folders[0] / "view.html"
        page, beside = eval_page(folders, metrics, against, stem=(out or default).stem)
    else:
        if len(targets) > 1:
            raise EthosError("give one run id, or one or more evaluation folders")
        record = load_record(runs_dir, targets[0])
        page, default, beside = run_page(record.data), record.dir / "view.html", {}
    path = out or default
    try:
        write_file(path, page)
        for name, text in beside.items():
            write_file(path.parent / name, text)
    except OSError as exc:
        raise EthosError(f"cannot write the page to {path}: {exc.strerror}") from None
    return path
