"""One summary of evaluation results, which every view draws: the table `ethos eval` prints, the
Markdown report and the HTML page. A task knows its primary metric and its columns; a row knows
its label, its colour and its counts, written the same way everywhere. What a task's metrics and
columns are, its task says (`evaluation/tasks`)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ethos.errors import EthosError
from ethos.evaluation.scoring import primary_metric
from ethos.evaluation.tasks import METHODS, Task, get_task, protocol_of, tasks
from ethos.graph.context import Context
from ethos.graph.records import read_json_object, stored_number
from ethos.redaction import neutral

# One colour per method in every chart; a variant of a method (its ablations, protocol, another
# model or other settings) takes a colour of its own from the rest, by its label.
METHOD_COLOURS = {"vanilla": "#8C8C8C", "prompting": "#DD8452", "moe": "#55A868", "modplural": "#8172B3", "ethosagents": "#4C72B0",
                  "gold": "#222222"}
VARIANT_COLOURS = ["#C44E52", "#937860", "#DA8BC3", "#64B5CD", "#CCB974", "#2F4B7C", "#A05195", "#F95D6A"]


def colour(label: str) -> str:
    if label in METHOD_COLOURS:
        return METHOD_COLOURS[label]
    return VARIANT_COLOURS[hashlib.blake2s(label.encode()).digest()[0] % len(VARIANT_COLOURS)]


def as_number(value) -> float:
    """A metric as read back from JSON, where NaN is stored as null."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def counted(row: dict) -> str:
    """A row's fallbacks and quality signs, and its failed and missing items, as one text."""
    parts = [f"{k} {v}" for k, v in sorted((row.get("fallbacks") or {}).items()) if v]
    if row.get("failed"):
        parts.append(f"{row['failed']} failed (rerun to retry)")
    if row.get("missing"):
        parts.append(f"{row['missing']} without prediction")
    return ", ".join(parts) or "none"


def fmt(value, ci=None) -> str:
    """`0.412 [0.380, 0.455]`, or "–" for a metric that is missing or NaN."""
    if as_number(value) != as_number(value):
        return "–"
    text = f"{value:.3f}"
    if isinstance(ci, list) and len(ci) == 2 and all(as_number(c) == as_number(c) for c in ci):
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


@dataclass
class TaskSummary:
    task: Task
    metric: str  # the primary metric
    higher: bool  # whether higher is better
    columns: list[tuple[str, str]]
    rows: list[dict]  # the metrics rows, ordered by method
    labels: list[str]  # one per row: `ethosagents [no-top-up] · embedded · seed 3`
    models: list[str]
    notes: list[str] = field(default_factory=list)

    def colour(self, i: int) -> str:
        return colour(self.labels[i])

    def chart(self) -> str:
        """The primary metric of every row, with its interval, each row in its colour (SVG)."""
        from ethos.evaluation.charts import bars

        values = [as_number(r.get(self.metric)) for r in self.rows]
        cis = [[as_number(c) for c in (r.get(f"{self.metric}_ci") or [None, None])] for r in self.rows]
        return bars(self.labels, {self.metric: values}, intervals={self.metric: cis}, colours=[self.colour(i) for i in range(len(self.rows))])

    def breakdown(self, key: str, groups: list[str]) -> str:
        """The primary metric per category or group (`key`), a bar per row (SVG)."""
        from ethos.evaluation.charts import bars

        return bars(groups, {label: [as_number(((r.get(key) or {}).get(g) or {}).get(self.metric)) for g in groups]
                             for r, label in zip(self.rows, self.labels)})

    def paired(self, against: str | None) -> tuple[str | None, list[tuple[str, dict]]]:
        """The reference row's label and every other row's label with its paired difference from it."""
        from ethos.evaluation.compare import paired_rows

        reference, found = paired_rows(self.task, self.rows, self.metric, self.higher, against)
        label = {id(r): self.labels[i] for i, r in enumerate(self.rows)}
        return (label[id(reference)] if reference is not None else None), [(label[id(r)], d) for r, d in found]


def find_metrics(run_dirs: list[Path]) -> list[dict]:
    found = []
    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise EthosError(f"run directory not found: {run_dir}")
        for path in sorted(run_dir.rglob("metrics.json")):
            metrics = read_json_object(path, "metrics file", ": rerun `ethos eval`, or remove it")
            if "task" in metrics and "method" in metrics:
                if not isinstance(metrics["task"], str) or metrics["task"] not in tasks() or not isinstance(metrics["method"], str):
                    raise EthosError(f"{path}: unknown task {str(metrics['task'])[:40]!r} or method {str(metrics['method'])[:40]!r}")
                found.append(_sane(metrics) | {"path": str(path.parent), "settings": _settings(path.parent)})
    if not found:
        raise EthosError(f"no finished runs (metrics.json) under {', '.join(map(str, run_dirs))}")
    return found


def _sane(metrics: dict) -> dict:
    """A metrics file's fields in their shapes; a field of another shape (a spoilt file) is left out."""
    out = {}
    for key, value in metrics.items():
        if key in ("task", "method", "note"):
            ok = isinstance(value, str)
        elif key in ("model", "protocol", "parser"):
            ok = isinstance(value, str)
            value = value[:200] if ok else value
        elif key == "ablations":
            ok = isinstance(value, list) and all(isinstance(a, str) for a in value)
        elif key.endswith("_ci"):
            ok = isinstance(value, list) and len(value) == 2 and all(v is None or stored_number(v) for v in value)
        elif key == "fallbacks":
            ok, value = isinstance(value, dict), {k: v for k, v in value.items() if stored_number(v)} if isinstance(value, dict) else value
        elif key in ("categories", "groups"):
            ok = isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
            if ok:
                value = {k: {m: x for m, x in v.items() if stored_number(x)} for k, v in value.items()}
        elif isinstance(value, dict):
            ok = True
        else:
            ok = value is None or stored_number(value)
        if ok:
            out[key] = value
    return out


def _settings(folder: Path) -> dict:
    """The run settings an evaluation folder was made with (its config.json), scalars only."""
    try:
        context = read_json_object(folder / "config.json", "evaluation config").get("context")
    except EthosError:
        return {}
    named = Context.declared("label")  # what a label may name, declared on the settings
    return {k: v for k, v in (context or {}).items() if k in named and isinstance(v, (str, int, float, bool, type(None)))}


def differing(rows: list[dict]) -> list[str]:
    """The settings whose values differ between rows of the same ablations (an ablation's own
    settings, such as personas-3's count, are named by the ablation): what tells rows apart."""
    keys = sorted({k for r in rows for k in (r.get("settings") or {})})
    alike: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        alike[tuple(r.get("ablations") or ())].append(r)
    return [k for k in keys if any(len({repr((r.get("settings") or {}).get(k)) for r in group}) > 1 for group in alike.values())]


def row_label(row: dict, rows: list[dict]) -> str:
    """A row's name: its method, protocol and ablations, its model where the rows hold several, and
    each setting that differs between the rows (`vanilla · seed 5`)."""
    several = len({str(r.get("model")) for r in rows}) > 1
    named = [f"{k.replace('_', ' ')} {(row.get('settings') or {}).get(k)}" for k in differing(rows)]
    return neutral(" · ".join([method_label(row), *([str(row.get("model"))] if several else []), *named]))  # plots draw it too


def method_label(row: dict) -> str:
    """The method, with its protocol where it is not the reference's, and its ablations:
    `ethosagents [protocol ethos, no-target-persona]`."""
    protocol = protocol_of(row)
    ablations = ([f"protocol {protocol}"] if protocol != "reference" else []) + list(row.get("ablations") or [])
    return row.get("method", "-") + (f" [{', '.join(ablations)}]" if ablations else "")


def summarise(metrics: list[dict]) -> list[TaskSummary]:
    """The metrics rows (metrics.json files, each with its `path`) grouped by task."""
    from ethos.graph.methods import STAND_IN_NOTE

    out = []
    for name in sorted({m["task"] for m in metrics}):
        rows = sorted((m for m in metrics if m["task"] == name),
                      key=lambda r: (METHODS.index(r["method"]) if r["method"] in METHODS else len(METHODS), method_label(r)))
        task = get_task(name)
        metric, higher = primary_metric(task, rows[0])
        notes = [*task.notes(rows, metric), "intervals: 95% bootstrap over questions (all items of a question resampled together)"]
        if any(r["method"] in ("moe", "modplural") for r in rows):
            notes.append(STAND_IN_NOTE)
        out.append(TaskSummary(task, metric, higher, task.columns(rows), rows, [row_label(r, rows) for r in rows],
                               sorted({str(r.get("model")) for r in rows}), notes))
    return out
