"""`ethos report`: finished runs -> a Markdown report with tables and PNG plots."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from ethos.errors import EthosError
from ethos.inputs import write_file
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
                if not isinstance(metrics["task"], str) or metrics["task"] not in TASKS or not isinstance(metrics["method"], str):
                    raise EthosError(f"{path}: unknown task {str(metrics['task'])[:40]!r} or method {str(metrics['method'])[:40]!r}")
                found.append(_sane(metrics) | {"path": str(path.parent), "settings": _settings(path.parent)})
    if not found:
        raise EthosError(f"no finished runs (metrics.json) under {', '.join(map(str, run_dirs))}")
    return found


def _sane(metrics: dict) -> dict:
    """A metrics file's fields in their shapes; a field of another shape (a spoilt file) is left out."""
    from ethos.graph.records import _number

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
            ok = isinstance(value, list) and len(value) == 2 and all(v is None or _number(v) for v in value)
        elif key == "fallbacks":
            ok, value = isinstance(value, dict), {k: v for k, v in value.items() if _number(v)} if isinstance(value, dict) else value
        elif key in ("categories", "groups"):
            ok = isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
            if ok:
                value = {k: {m: x for m, x in v.items() if _number(x)} for k, v in value.items()}
        elif isinstance(value, dict):
            ok = True
        else:
            ok = value is None or _number(value)
        if ok:
            out[key] = value
    return out


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


# Settings a row's label never names: the method's own (in its label), the models (the model
# column), and what does not change results (endpoints, retries, files' places).
_UNNAMED = {"method", "ablations", "choices", "protocol", "generator_model", "agent_model", "moderator_model", "base_url",
            "requests_per_second", "max_retries", "timeout", "persona_files"}


def _settings(folder: Path) -> dict:
    """The run settings an evaluation folder was made with (its config.json), scalars only."""
    try:
        context = read_json_object(folder / "config.json", "evaluation config").get("context")
    except EthosError:
        return {}
    return {k: v for k, v in (context or {}).items() if k not in _UNNAMED and isinstance(v, (str, int, float, bool, type(None)))}


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


def paired_rows(task, rows: list[dict], metric: str, higher: bool, against: str | None) -> tuple[dict | None, list[tuple[dict, dict]]]:
    """The reference row (`against`, else vanilla, else the first) and every other row's paired
    difference from it, on the items both predicted, with intervals over questions."""
    from ethos.evaluation.compare import item_scores, paired

    reference = next((r for r in rows if method_label(r) == against or row_label(r, rows) == against), None) or \
        next((r for r in rows if r["method"] == "vanilla"), rows[0])
    if len(rows) < 2 or "path" not in reference:
        return None, []
    base = item_scores(task, metric, Path(reference["path"]))
    return reference, [(r, paired(base, item_scores(task, metric, Path(r["path"])), higher)) for r in rows
                       if r is not reference and "path" in r]


PAIRED_NOTE = "row minus reference, on the same items; 95% bootstrap over questions; holds: the interval leaves out 0"


def _paired_section(task, rows: list[dict], metric: str, higher: bool, against: str | None) -> list[str]:
    reference, found = paired_rows(task, rows, metric, higher, against)
    if reference is None:
        return []
    lines = [f"Paired against {_md(row_label(reference, rows))} ({metric}, {PAIRED_NOTE}):", "",
             "| row | items | difference [95% CI] | better / worse items | holds |", "|---|---|---|---|---|"]
    for r, d in found:
        lines.append(f"| {_md(row_label(r, rows))} | {d['n']} | {_fmt(d['mean'], d['ci'])} | {d['better']} / {d['worse']} | "
                     f"{'yes' if d['holds'] else 'no'} |")
    return lines + [""]


# One colour per method in every chart (the report's and the viewer's); a variant of a method (its
# ablations, protocol or another model) takes a colour of its own from the rest, by its name.
METHOD_COLOURS = {"vanilla": "#8C8C8C", "prompting": "#DD8452", "moe": "#55A868", "modplural": "#8172B3", "ethosagents": "#4C72B0",
                  "gold": "#222222"}
VARIANT_COLOURS = ["#C44E52", "#937860", "#DA8BC3", "#64B5CD", "#CCB974", "#2F4B7C", "#A05195", "#F95D6A"]


def colour(label: str) -> str:
    if label in METHOD_COLOURS:
        return METHOD_COLOURS[label]
    import hashlib

    return VARIANT_COLOURS[hashlib.blake2s(label.encode()).digest()[0] % len(VARIANT_COLOURS)]


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
        ax.bar([row_label(r, rows) for r in rows], values, yerr=errors, capsize=4, color=[colour(row_label(r, rows)) for r in rows])
        ax.tick_params(axis="x", labelrotation=20, labelsize=7)
        ax.set_ylabel(metric)
        ax.set_title(f"{task_name} ({'higher' if higher else 'lower'} is better)")
        fig.tight_layout()
        plot = out_dir / f"{task_name}.png"
        _save(fig, plot)
        plt.close(fig)
        lines += ["", f"![{task_name}]({plot.name})", ""]
        if any(r.get("categories") for r in rows):
            lines += _groups_section(task_name, rows, out_dir, plt, key="categories")
        if any(r.get("groups") for r in rows) and not _same_breakdown(rows):
            lines += _groups_section(task_name, rows, out_dir, plt, key="groups")
    if any(r["method"] in ("moe", "modplural") for rows in by_task.values() for r in rows):
        lines += [f"Note: {STAND_IN_NOTE}.", ""]
    report = out_dir / "report.md"
    write_file(report, "\n".join(lines))
    return report


def metric_columns(task, rows: list[dict]) -> list[tuple[str, str]]:
    """The task's metrics as (heading, key), the primary one first: what every table shows."""
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
    return columns


def _table(task, rows: list[dict]) -> list[str]:
    columns = metric_columns(task, rows)
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


def _save(fig, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=120, format="png")
    write_file(path, buffer.getvalue())


def _same_breakdown(rows: list[dict]) -> bool:
    """The groups are the categories (MoralChoice's ambiguity levels): one table says it all."""
    return all(set(r.get("groups") or {}) == set(r.get("categories") or {}) for r in rows)


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
        ax.bar([i + k * width for i in range(len(shown))], values, width=width, label=row_label(r, rows), color=colour(row_label(r, rows)))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(shown))], shown, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(metric)
    ax.set_title(f"{task_name} by {title}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    plot = out_dir / f"{task_name}-{key}.png"
    _save(fig, plot)
    plt.close(fig)
    return lines + ["", f"![{task_name} by {title}]({plot.name})", ""]
