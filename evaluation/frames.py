"""Evaluation results as a table in Python (`ethos.load`), as inspect_ai's `samples_df` gives a log's
samples: one row per item of every evaluation folder found, each with what made it (model, task,
method, protocol, ablations, seed), the item and its question, each per-item metric, its fallbacks
and status, and the folder it came from. Everything is read through the log's typed readers, so a
spoilt or planted file is refused here as in every table."""

from __future__ import annotations

from pathlib import Path

from ethos.errors import EthosError
from ethos.evaluation.log import read_config, read_metrics, read_results, read_scores, read_study_file

COLUMNS = ["model", "task", "method", "protocol", "ablations", "seed", "item_id", "question", "status", "fallbacks", "folder"]


def _folders(path: Path) -> list[tuple[Path, int | None]]:
    """The evaluation folders under `path`, with the seed a study ran each at: a study's output
    folder names its cells' folders; otherwise every folder holding a metrics.json."""
    if (path / "study.json").is_file():
        study = read_study_file(path / "study.json")
        return [(Path(folder), cell.seed) for cell in study.cells for folder in cell.folders]
    if not path.is_dir():
        raise EthosError(f"{path}: no such folder (give an eval folder, a runs folder or a study's output folder)")
    return [(metrics.parent, None) for metrics in sorted(path.rglob("metrics.json"))]


def item_rows(folder: Path, seed: int | None = None) -> list[dict]:
    """One evaluation folder's items as rows (see the module's docstring)."""
    metrics = read_metrics(folder / "metrics.json")
    if metrics is None:
        return []
    context = read_config(folder / "config.json")["context"]
    task = metrics["task"]
    scores = read_scores(folder / "scores.json", task)
    records, _ = read_results(folder / "results.jsonl", distributions=False)
    by_metric = {name: scores.values(name) for name in scores.metrics} if scores else {}
    ids = list(dict.fromkeys([i for values in by_metric.values() for i in values] + list(records)))
    shared = {
        "model": metrics.get("model"),
        "task": task,
        "method": metrics["method"],
        "protocol": metrics["protocol"],
        "ablations": ",".join(metrics["ablations"]),
        "seed": seed if seed is not None else context.get("seed"),
        "folder": str(folder),
    }
    rows = []
    for item in ids:
        record = records.get(item) or {}
        question = next((values[item][1] for values in by_metric.values() if item in values), None)
        row = shared | {
            "item_id": item,
            "question": question,
            "status": record.get("status"),
            "fallbacks": int(sum((record.get("fallbacks") or {}).values())),
        }
        rows.append(row | {name: (values[item][0] if item in values else None) for name, values in by_metric.items()})
    return rows


def load_items(path: Path):
    """Every item under `path` as a pandas DataFrame (see the module's docstring)."""
    try:
        import pandas as pd
    except ImportError:
        raise EthosError("ethos.load needs pandas: pip install 'ethosagents[analysis]' (or bash scripts/setup.sh --dev)") from None
    rows = [row for folder, seed in _folders(path) for row in item_rows(folder, seed)]
    if not rows:
        raise EthosError(f"{path}: no evaluation results (metrics.json) under it")
    frame = pd.DataFrame(rows)
    metrics = [c for c in frame.columns if c not in COLUMNS]
    return frame[COLUMNS + metrics]
