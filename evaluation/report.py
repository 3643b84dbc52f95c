"""`ethos report`: finished runs -> a Markdown report with tables and PNG plots."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from ethos.errors import EthosError
from ethos.graph.records import read_json_object
from ethos.graph.methods import STAND_IN_NOTE
from ethos.redaction import neutral
from ethos.evaluation.tasks import METHODS, TASKS
from ethos.evaluation.scoring import primary_metric
from ethos.evaluation.tasks import get_task


def find_metrics(run_dirs: list[Path]) -> list[dict]:
    found = []
    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise EthosError(f"run directory not found: {run_dir}")
        for path in sorted(run_dir.rglob("metrics.json")):
            metrics = read_json_object(path, "metrics file", ": rerun `ethos eval`, or remove it")
            if "task" in metrics and "method" in metrics:
                if metrics["task"] not in TASKS or not isinstance(metrics["method"], str):
                    raise EthosError(f"{path}: unknown task {metrics['task']!r} or method {metrics['method']!r}")
                found.append(metrics | {"path": str(path.parent)})
    if not found:
        raise EthosError(f"no finished runs (metrics.json) under {', '.join(map(str, run_dirs))}")
    return found


def as_number(value) -> float:
    """A metric as read back from JSON, where NaN is stored as null."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def _fmt(value, ci=None) -> str:
    if as_number(value) != as_number(value):  # missing or NaN
        return "–"
    text = f"{value:.3f}"
    if isinstance(ci, list) and len(ci) == 2 and all(as_number(c) == as_number(c) for c in ci):
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


def _method_order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (METHODS.index(r["method"]) if r["method"] in METHODS else len(METHODS), method_label(r)))


def row_label(row: dict, rows: list[dict]) -> str:
    """A row's name: its method, protocol and ablations, and its model where the rows hold several."""
    several = len({str(r.get("model")) for r in rows}) > 1
    return method_label(row) + (f" · {row.get('model')}" if several else "")


def _paired_section(task, rows: list[dict], metric: str, higher: bool, against: str | None) -> list[str]:
    """Each row against the reference row, on the items both predicted, with intervals over questions."""
    from ethos.evaluation.compare import item_scores, paired

    reference = next((r for r in rows if method_label(r) == against), None) or \
        next((r for r in rows if r["method"] == "vanilla"), rows[0])
    if len(rows) < 2 or "path" not in reference:
        return []
    base = item_scores(task, metric, Path(reference["path"]))
    lines = [f"Paired against {_md(row_label(reference, rows))} ({metric}, row minus reference, on the same items; "
             "95% bootstrap over questions; *holds*: the interval leaves out 0):", "",
             "| row | items | difference [95% CI] | better / worse items | holds |", "|---|---|---|---|---|"]
    for r in rows:
        if r is reference or "path" not in r:
            continue
        d = paired(base, item_scores(task, metric, Path(r["path"])), higher)
        lines.append(f"| {_md(row_label(r, rows))} | {d['n']} | {_fmt(d['mean'], d['ci'])} | {d['better']} / {d['worse']} | "
                     f"{'yes' if d['holds'] else 'no'} |")
    return lines + [""]


def write_report(run_dirs: list[Path], out_dir: Path, against: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_task: dict[str, list[dict]] = defaultdict(list)
    for metrics in find_metrics(run_dirs):
        by_task[metrics["task"]].append(metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# EthosAgents evaluation report", ""]
    for task_name, rows in sorted(by_task.items()):
        task = get_task(task_name)
        rows = _method_order(rows)
        metric, higher = primary_metric(task, rows[0])
        models = sorted({str(r.get("model")) for r in rows})
        lines += [f"## {task_name}", "", f"Model: {', '.join(models)}. Primary metric: `{metric}` ({'higher' if higher else 'lower'} is better).", ""]
        lines += _table(task, rows)
        lines += ["", *_paired_section(task, rows, metric, higher, against)]
        # Per-method bars with 95% bootstrap intervals.
        fig, ax = plt.subplots(figsize=(6, 3.2))
        values = [as_number(r.get(metric)) for r in rows]
        cis = [[as_number(c) for c in (r.get(f"{metric}_ci") or [None, None])] for r in rows]
        errors = [[max(v - c[0], 0) for v, c in zip(values, cis)], [max(c[1] - v, 0) for v, c in zip(values, cis)]]
        ax.bar([row_label(r, rows) for r in rows], values, yerr=errors, capsize=4, color="#4C72B0")
        ax.tick_params(axis="x", labelrotation=20, labelsize=7)
        ax.set_ylabel(metric)
        ax.set_title(f"{task_name} ({'higher' if higher else 'lower'} is better)")
        fig.tight_layout()
        plot = out_dir / f"{task_name}.png"
        fig.savefig(plot, dpi=120)
        plt.close(fig)
        lines += ["", f"![{task_name}]({plot.name})", ""]
        if any(r.get("categories") for r in rows):
            lines += _groups_section(task_name, rows, out_dir, plt, key="categories")
        if any(r.get("groups") for r in rows):
            lines += _groups_section(task_name, rows, out_dir, plt, key="groups")
    if any(r["method"] in ("moe", "modplural") for rows in by_task.values() for r in rows):
        lines += [f"Note: {STAND_IN_NOTE}.", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines))
    return report


def _table(task, rows: list[dict]) -> list[str]:
    if task.kind == "distribution":
        columns = [("JS distance ↓", "jsd"), ("most-likely correct ↑", "most_likely_correct")]
        if any(r.get("most_likely_correct_multi") is not None for r in rows):
            columns.append(("most-likely correct, multi-option items ↑", "most_likely_correct_multi"))
    elif task.kind == "steerable_vk":
        columns = [("accuracy", "accuracy"), ("balanced acc.", "balanced_accuracy"), ("macro F1", "macro_f1"), ("micro F1", "micro_f1"),
                   ("binary acc.", "binary_accuracy"), ("binary macro F1", "binary_macro_f1")]
    else:
        columns = [(name, name) for name in ("nli_coverage", "embedding_coverage") if any(name in r for r in rows)]
        columns += [(f"{name} acc@0.33", f"{name}_acc@0.33") for name in ("nli_coverage", "embedding_coverage") if any(name in r for r in rows)]
    header = "| method | items (questions) | " + " | ".join(c for c, _ in columns) + " | s/item | failed | fallbacks |"
    out = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        cells = [_fmt(r.get(key), r.get(f"{key}_ci")) for _, key in columns]
        fallbacks = ", ".join(f"{k} {v}" for k, v in sorted((r.get("fallbacks") or {}).items()) if v) or "none"
        out.append(f"| {_md(row_label(r, rows))} | {r.get('n', '–')} ({r.get('n_questions', '–')}) | " + " | ".join(cells)
                   + f" | {r['seconds_per_item'] if r.get('seconds_per_item') is not None else '–'} | {r.get('failed', 0)} | {fallbacks} |")
    notes = []
    if any(r.get("single_option_items") for r in rows):
        notes.append(f"most-likely correctness counts the {rows[0]['single_option_items']} single-option items, as the reference does; "
                     "the multi-option column leaves them out")
    if any(r.get("parser") for r in rows):
        notes.append(f"answers read with the {rows[0]['parser']} parser")
    notes.append("intervals: 95% bootstrap over questions (all items of a question resampled together)")
    return out + ["", "; ".join(notes).capitalize() + "."]


def method_label(row: dict) -> str:
    """The method, with its protocol where it is not the reference's, and its ablations:
    `ethosagents [protocol ethos, no-target-persona]`."""
    ablations = ([f"protocol {row['protocol']}"] if row.get("protocol", "reference") != "reference" else []) + list(row.get("ablations") or [])
    return row.get("method", "-") + (f" [{', '.join(ablations)}]" if ablations else "")


def _md(text, *, links: bool = True) -> str:
    """Text quoted in a Markdown table: no HTML, no cell breaks, no escape sequences and, for text
    from a data file (`links=False`), no link or image (a remote image is a beacon)."""
    text = html.escape(neutral(" ".join(str(text).split())), quote=False).replace("|", "\\|")
    return text if links else text.replace("[", "\\[").replace("]", "\\]")


def _groups_section(task_name: str, rows: list[dict], out_dir: Path, plt, key: str) -> list[str]:
    """Per category (the roll-up) or per exact group: a table and a plot."""
    groups = sorted({g for r in rows for g in (r.get(key) or {})})
    first = next(r[key] for r in rows if r.get(key))
    metric = next(k for k in next(iter(first.values())) if k not in ("n", "questions"))
    title = "category" if key == "categories" else "group"
    lines = [f"Per {title} ({metric}):", "", f"| {title} | " + " | ".join(_md(row_label(r, rows)) for r in rows) + " |", "|---|" + "---|" * len(rows)]
    for g in groups:
        cells = [_fmt((r.get(key) or {}).get(g, {}).get(metric)) for r in rows]
        n = max((r.get(key) or {}).get(g, {}).get("n", 0) for r in rows)
        questions = max((r.get(key) or {}).get(g, {}).get("questions", 0) for r in rows)
        lines.append(f"| {_md(g, links=False)} (n={n}, {questions} questions) | " + " | ".join(cells) + " |")
    shown = groups[:16]  # keep the plot readable
    fig, ax = plt.subplots(figsize=(max(6, len(shown) * 0.6), 3.5))
    width = 0.8 / len(rows)
    for k, r in enumerate(rows):
        values = [as_number((r.get(key) or {}).get(g, {}).get(metric)) for g in shown]  # this section's own breakdown
        ax.bar([i + k * width for i in range(len(shown))], values, width=width, label=row_label(r, rows))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(shown))], shown, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(metric)
    ax.set_title(f"{task_name} by {title}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    plot = out_dir / f"{task_name}-{key}.png"
    fig.savefig(plot, dpi=120)
    plt.close(fig)
    return lines + ["", f"![{task_name} by {title}]({plot.name})", ""]
