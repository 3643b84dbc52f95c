"""One summary of evaluation results, which every view draws: the table `ethos eval` prints, the
Markdown report and the HTML page. What a task's metrics and columns are, its task says
(`evaluation/tasks`); how a row is labelled and coloured, `presentation.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ethos.errors import EthosError
from ethos.evaluation.charts import bars
from ethos.evaluation.compare import paired_rows
from ethos.evaluation.log import read_config, read_metrics
from ethos.evaluation.presentation import as_number, method_label, row_colours, row_label
from ethos.evaluation.scoring import primary_metric
from ethos.evaluation.tasks import METHODS, Task, get_task, tasks
from ethos.graph.context import Context
from ethos.graph.methods import STAND_IN_NOTE


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

    def __post_init__(self):
        self.colours = row_colours(self.labels, [str(r.get("model")) for r in self.rows])

    def colour(self, i: int) -> str:
        return self.colours[i]

    def metric_name(self) -> str:
        """The primary metric as the task heads its column, with its arrow: `JS distance ↓`."""
        return next((heading for heading, key in self.columns if key == self.metric), self.metric)

    def chart(self) -> str:
        """The primary metric of every row, with its interval, each row in its colour (SVG)."""
        values = [as_number(r.get(self.metric)) for r in self.rows]
        cis = [[as_number(c) for c in (r.get(f"{self.metric}_ci") or [None, None])] for r in self.rows]
        colours = [self.colour(i) for i in range(len(self.rows))]
        return bars(self.labels, {self.metric: values}, intervals={self.metric: cis}, colours=colours, y_title=self.metric_name())

    def breakdown(self, key: str, groups: list[str]) -> str:
        """The primary metric per category or group (`key`), a bar per row (SVG)."""
        return bars(
            groups,
            {
                label: [as_number(((r.get(key) or {}).get(g) or {}).get(self.metric)) for g in groups]
                for r, label in zip(self.rows, self.labels)
            },
            series_colours=dict(zip(self.labels, self.colours)),
            y_title=self.metric_name(),
        )

    def paired(self, against: str | None) -> tuple[str | None, list[tuple[str, dict]]]:
        """What the rows are paired against (a row's label, or with several models a method "within
        each model"), and every other row's label with its paired difference (its `against`: the
        label of the row it is paired with)."""
        found = paired_rows(self.task, self.rows, self.metric, self.higher, against)
        label = {id(r): self.labels[i] for i, r in enumerate(self.rows)}
        references = list(dict.fromkeys(label[id(reference)] for reference, _, _ in found))
        if not references:
            return None, []
        what = references[0] if len(references) == 1 else f"{method_label(found[0][0])} within each model"
        return what, [(label[id(r)], d | {"against": label[id(reference)]}) for reference, r, d in found]


def find_metrics(run_dirs: list[Path]) -> list[dict]:
    """Every evaluation row under `run_dirs` (their metrics.json files, read by the log's reader)."""
    found = []
    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise EthosError(f"run directory not found: {run_dir}")
        for path in sorted(run_dir.rglob("metrics.json")):
            metrics = read_metrics(path)
            if metrics is not None:
                if metrics["task"] not in tasks():
                    raise EthosError(f"{path}: unknown task {metrics['task'][:40]!r} or method {metrics['method'][:40]!r}")
                found.append(metrics | {"path": str(path.parent), "settings": _settings(path.parent)})
    if not found:
        raise EthosError(f"no finished runs (metrics.json) under {', '.join(map(str, run_dirs))}")
    return found


def _settings(folder: Path) -> dict:
    """The run settings an evaluation folder was made with (its config.json), scalars only."""
    try:
        context = read_config(folder / "config.json")["context"]
    except EthosError:
        return {}
    named = Context.declared("label")  # what a label may name, declared on the settings
    return {k: v for k, v in (context or {}).items() if k in named and isinstance(v, (str, int, float, bool, type(None)))}


def task_summaries(metrics: list[dict]) -> list[TaskSummary]:
    """The metrics rows (metrics.json files, each with its `path`) grouped by task."""
    out = []
    for name in sorted({m["task"] for m in metrics}):
        rows = sorted(
            (m for m in metrics if m["task"] == name),
            key=lambda r: (METHODS.index(r["method"]) if r["method"] in METHODS else len(METHODS), method_label(r)),
        )
        task = get_task(name)
        metric, higher = primary_metric(task, rows[0])
        notes = [*task.notes(rows, metric), "intervals: 95% bootstrap over questions (all items of a question resampled together)"]
        counts = sorted({r.get("n") for r in rows if isinstance(r.get("n"), int)})
        if len(counts) > 1:
            notes.append(f"rows hold different items ({counts[0]} to {counts[-1]}): each paired difference uses the items both rows hold")
        if any(r["method"] in ("moe", "modplural") for r in rows):
            notes.append(STAND_IN_NOTE)
        out.append(
            TaskSummary(
                task,
                metric,
                higher,
                task.columns(rows),
                rows,
                [row_label(r, rows) for r in rows],
                sorted({str(r.get("model")) for r in rows}),
                notes,
            )
        )
    return out
