"""The paper's table of a study: per task, methods as rows and models as columns. A cell is the mean
over seeds of the mean over items, with a two-level bootstrap interval (questions, then seeds) and
the spread between seeds; beside it, the paired difference against one method within each model
(on the same items and seeds). Made from each cell's `scores.json`, the values its own table
scored, so a study resumed after a stop gives the same table as one that ran straight through."""

from __future__ import annotations

import re
from pathlib import Path

from ethos.evaluation.compare import item_scores
from ethos.evaluation.presentation import method_label
from ethos.evaluation.statistics import LEVEL, estimate, paired
from ethos.evaluation.tasks import get_task
from ethos.redaction import outward


def study_tables(study, results: dict) -> list[dict]:
    """One table per task (see the module's docstring), as plain data for the terminal, Markdown, LaTeX and the page."""
    tables = []
    for task_name in study.tasks:
        task = get_task(task_name)
        cells = {cell: rows for cell, rows in results.items() if cell.task == task_name}
        if not cells:
            continue
        metric, higher = task.primary(next(iter(cells.values()))[0])
        scores: dict[tuple[str, str], dict[int, dict]] = {}  # (label, model) -> {seed: {item: (value, question)}}
        labels: list[str] = []
        for cell in sorted(cells, key=lambda c: (study.methods.index(c.method), c.seed)):
            for row in cells[cell]:
                label = method_label(row)
                labels += [label] if label not in labels else []
                scores.setdefault((label, cell.model.name), {})[cell.seed] = item_scores(task, metric, Path(row["path"]), row)
        models = [m.name for m in study.models]
        # the method's own row, under whichever protocol the study runs (its label may name it)
        own = {method_label(row): row for rows in cells.values() for row in rows if not row.get("ablations")}
        against = next((label for label, row in own.items() if row["method"] == study.against), None)
        one_run = sorted({method_label(row) for rows in cells.values() for row in rows if row.get("seed_independent")})
        rows = []
        for label in labels:
            row = {"label": label, "cells": {}, "paired": {}}
            for model in models:
                seeds = scores.get((label, model))
                if not seeds:
                    continue
                row["cells"][model] = estimate(list(seeds.values()))
                base = scores.get((against, model)) if against and label != against else None
                if base:
                    row["paired"][model] = _difference(paired(base, seeds, higher))
            rows.append(row)
        tables.append(
            {
                "task": task_name,
                "metric": metric,
                "metric_name": next(
                    (h for h, key in task.columns([r for rs in cells.values() for r in rs]) if key == metric), metric
                ).rstrip(" ↑↓"),  # as the task heads it
                "higher": higher,
                "models": models,
                "against": against,
                "seeds": len(study.seeds),
                "seed_independent": one_run,  # rows whose first seed's run stands for every seed
                "rows": rows,
            }
        )
    return tables


def _difference(found: dict) -> dict:
    """A paired difference as a table cell reads it."""
    low, high = found["ci"]
    half = (high - low) / 2 if low is not None else None  # the precision achieved, against the dry run's expectation
    return {"mean": found["mean"], "low": low, "high": high, "n": found["n"], "better": found["better"], "half_width": half}


# ---- as text ----------------------------------------------------------------------------------


def _fmt(cell: dict | None, *, signed: bool = False) -> str:
    if not cell or not cell.get("n"):
        return "-"
    f = "{:+.3f}" if signed else "{:.3f}"
    text = f.format(cell["mean"]) + (f" [{cell['low']:.3f}, {cell['high']:.3f}]" if cell.get("low") is not None else " [one question]")
    if "seed_sd" in cell and len(cell.get("seeds", [])) > 1:
        text += f" ±{cell['seed_sd']:.3f}"
    if "better" in cell:
        text += f" ({cell['better']}/{cell['n']})"
    return text


def table_rows(table: dict) -> tuple[list[str], list[list[str]]]:
    """The table's headings and cells as text: a column per model, and with a chosen method, a paired column per model."""
    headings = ["method", *table["models"]]
    if table["against"]:
        headings += [f"Δ vs {table['against']} · {m}" for m in table["models"]]
    rows = []
    for row in table["rows"]:
        line = [row["label"], *(_fmt(row["cells"].get(m)) for m in table["models"])]
        if table["against"]:
            line += [_fmt(row["paired"].get(m), signed=True) if row["label"] != table["against"] else "(against)" for m in table["models"]]
        rows.append(line)
    return headings, rows


def caption(table: dict) -> str:
    arrow = "higher is better" if table["higher"] else "lower is better"
    counts = sorted({c["n"] for row in table["rows"] for c in row["cells"].values() if c.get("n")})
    halves = sorted(c["half_width"] for row in table["rows"] for c in row["paired"].values() if c.get("half_width") is not None)
    return (
        f"{table['task']}: {table.get('metric_name') or table['metric']} ({arrow}); mean over {table['seeds']} seed(s) [{LEVEL:.0%} two-level bootstrap: questions, "
        "then seeds] ±SD between seeds"
        + (f"; Δ: paired against {table['against']} within each model (items better)" if table["against"] else "")
        + (
            f"; cells hold {counts[0]} to {counts[-1]} items: Δ uses the items both hold"
            if len(counts) > 1
            else f"; {counts[0]} items"
            if counts
            else ""
        )
        + (f"; Δ's half-width achieved: ±{halves[0]:.3f} to ±{halves[-1]:.3f}" if halves else "")
        + (
            f"; {', '.join(table['seed_independent'])}: one run for every seed (letters read greedily under the reference protocol)"
            if table.get("seed_independent")
            else ""
        )
    )


def markdown(tables: list[dict]) -> str:

    out = []
    for table in tables:
        headings, rows = table_rows(table)
        out += [f"### {outward(table['task'], 'markdown')}", "", outward(caption(table), "markdown"), ""]
        out += ["| " + " | ".join(outward(h, "markdown") for h in headings) + " |", "|" + "---|" * len(headings)]
        out += ["| " + " | ".join(outward(c, "markdown") for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
        "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def _tex(text: str) -> str:
    """Text in LaTeX: its special characters escaped in one pass (an escape is never escaped again)."""

    text = re.sub(r"[\\&%$#_{}~^]", lambda m: _TEX[m[0]], outward(text))
    return text.replace("±", r"$\pm$").replace("Δ", r"$\Delta$")


def latex(tables: list[dict]) -> str:
    """Each table as a LaTeX `tabular` (booktabs), the numbers and their intervals as in Markdown."""
    out = []
    for table in tables:
        headings, rows = table_rows(table)
        out += [
            "\\begin{table}[t]",
            "\\centering\\small",
            f"\\begin{{tabular}}{{l{'r' * (len(headings) - 1)}}}",
            "\\toprule",
            " & ".join(_tex(h) for h in headings) + " \\\\",
            "\\midrule",
            *(" & ".join(_tex(c) for c in row) + " \\\\" for row in rows),
            "\\bottomrule",
            "\\end{tabular}",
            f"\\caption{{{_tex(caption(table))}}}",
            "\\end{table}",
            "",
        ]
    return "\n".join(out)
