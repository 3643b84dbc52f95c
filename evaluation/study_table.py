"""The paper's table of a study: per task, methods as rows and models as columns. A cell is the mean
over seeds of the mean over items, with a two-level bootstrap interval (questions, then seeds) and
the spread between seeds; beside it, the paired difference against one method within each model
(on the same items and seeds). Made from each cell's `scores.json`, the values its own table
scored, so a study resumed after a stop gives the same table as one that ran straight through."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ethos.evaluation.compare import item_scores
from ethos.evaluation.presentation import method_label
from ethos.evaluation.tasks import get_task

BOOTSTRAP = 2000  # resamples; seeded, so the table repeats
LEVEL = 0.95


def study_tables(study, results: dict) -> list[dict]:
    """One table per task (see the module's docstring), as plain data for the terminal, Markdown, LaTeX and the page."""
    tables = []
    for task_name in study.tasks:
        task = get_task(task_name)
        cells = {cell: rows for cell, rows in results.items() if cell.task == task_name}
        if not cells:
            continue
        metric, higher = task.primary(next(iter(cells.values()))[0])
        scores: dict[tuple[str, str], list[dict]] = {}  # (label, model) -> one {item: (value, question)} per seed
        labels: list[str] = []
        for cell in sorted(cells, key=lambda c: (study.methods.index(c.method), c.seed)):
            for row in cells[cell]:
                label = method_label(row)
                labels += [label] if label not in labels else []
                scores.setdefault((label, cell.model.name), []).append(item_scores(task, metric, Path(row["path"]), row))
        models = [m.name for m in study.models]
        against = study.against if study.against in labels else None
        rows = []
        for label in labels:
            row = {"label": label, "cells": {}, "paired": {}}
            for model in models:
                seeds = scores.get((label, model))
                if not seeds:
                    continue
                row["cells"][model] = _cell(seeds)
                base = scores.get((against, model)) if against and label != against else None
                if base and len(base) == len(seeds):
                    row["paired"][model] = _paired(seeds, base, higher)
            rows.append(row)
        tables.append(
            {
                "task": task_name,
                "metric": metric,
                "higher": higher,
                "models": models,
                "against": against,
                "seeds": len(study.seeds),
                "rows": rows,
            }
        )
    return tables


def _matrix(seeds: list[dict], ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per seed and question: the sum of the item values and their count (questions are the bootstrap's units)."""
    questions = sorted({seeds[0][i][1] for i in ids})
    where = {q: k for k, q in enumerate(questions)}
    sums, counts = np.zeros((len(seeds), len(questions))), np.zeros(len(questions))
    for i in ids:
        counts[where[seeds[0][i][1]]] += 1
        for s, values in enumerate(seeds):
            sums[s, where[seeds[0][i][1]]] += values[i][0]
    return sums, counts


def _two_level(sums: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """The mean over seeds of the item mean, and its bootstrap interval: questions resampled, then seeds."""
    rng = np.random.default_rng(0)
    n_seeds, n_questions = sums.shape
    picked_questions = rng.integers(0, n_questions, size=(BOOTSTRAP, n_questions))
    picked_seeds = rng.integers(0, n_seeds, size=(BOOTSTRAP, n_seeds))
    per_seed = sums[:, picked_questions].sum(axis=2) / counts[picked_questions].sum(axis=1)  # (seeds, resamples)
    draws = np.take_along_axis(per_seed.T, picked_seeds, axis=1).mean(axis=1)
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float((sums.sum(axis=1) / counts.sum()).mean()), float(low), float(high)


def _common(seeds: list[dict]) -> list[str]:
    return sorted(set.intersection(*(set(values) for values in seeds)))


def _cell(seeds: list[dict]) -> dict:
    ids = _common(seeds)
    if not ids:
        return {"n": 0}
    sums, counts = _matrix(seeds, ids)
    mean, low, high = _two_level(sums, counts)
    per_seed = sums.sum(axis=1) / counts.sum()
    return {
        "mean": mean,
        "low": low,
        "high": high,
        "n": len(ids),
        "seeds": [float(v) for v in per_seed],
        "seed_sd": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
    }


def _paired(seeds: list[dict], base: list[dict], higher: bool) -> dict:
    """This row minus the chosen one, item by item within each seed; `better`: items on which this row is better, on the seed mean."""
    both = [{i: (values[i][0] - other[i][0], values[i][1]) for i in set(values) & set(other)} for values, other in zip(seeds, base)]
    ids = _common(both)
    if not ids:
        return {"n": 0}
    sums, counts = _matrix(both, ids)
    mean, low, high = _two_level(sums, counts)
    item_means = np.array([np.mean([d[i][0] for d in both]) for i in ids])
    better = int(((item_means > 0) if higher else (item_means < 0)).sum())
    return {"mean": mean, "low": low, "high": high, "n": len(ids), "better": better}


# ---- as text ----------------------------------------------------------------------------------


def _fmt(cell: dict | None, *, signed: bool = False) -> str:
    if not cell or not cell.get("n"):
        return "-"
    f = "{:+.3f}" if signed else "{:.3f}"
    text = f"{f.format(cell['mean'])} [{cell['low']:.3f}, {cell['high']:.3f}]"
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
    return (
        f"{table['task']}: {table['metric']} ({arrow}); mean over {table['seeds']} seed(s) [{LEVEL:.0%} two-level bootstrap: questions, "
        "then seeds] ±SD between seeds"
        + (f"; Δ: paired against {table['against']} within each model (items better)" if table["against"] else "")
    )


def markdown(tables: list[dict]) -> str:
    from ethos.redaction import outward

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
    from ethos.redaction import outward

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
