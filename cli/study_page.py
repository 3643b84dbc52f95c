"""A study's page (`ethos view STUDY_FOLDER`): per task, its methods by model and its paired
differences as charts with intervals, the table with each cell's items and questions, and a page per
model, task and seed (its evaluation page, comparing the methods) linked from the table."""

from __future__ import annotations

import re
from pathlib import Path

from ethos.cli.run_page import templates
from ethos.cli.view import eval_page
from ethos.errors import EthosError
from ethos.evaluation.charts import bars
from ethos.evaluation.log import read_study_file
from ethos.evaluation.presentation import as_number, model_colour
from ethos.evaluation.study_table import caption, table_rows
from ethos.evaluation.summary import find_metrics


def study_page(folder: Path, runs_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """A study's tables (`ethos study`), per task: a chart of its methods (a bar per model, with
    intervals, each model in its colour) and, with a method to pair against, a chart of the paired
    differences with theirs; every cell with its items and questions, and links to the pages of its
    cells (an evaluation page per model, task and seed, written beside: `cells/NAME.html`)."""
    study = read_study_file(folder / "study.json")
    pages, beside = _cell_pages(study, runs_dir)
    tables = []
    try:
        for table in study.tables:
            headings, text = table_rows(table)
            models, labels = table["models"], [row["label"] for row in table["rows"]]
            colours = {m: model_colour(i) for i, m in enumerate(models)}
            name = table.get("metric_name") or table["metric"]
            arrow = "↑" if table["higher"] else "↓"

            paired = [row for row in table["rows"] if row["label"] != table["against"] and row["paired"]]
            rows = []
            for row, line in zip(table["rows"], text):
                cells = [{"text": line[0]}]
                for k, m in enumerate(models):
                    found = row["cells"].get(m) or {}
                    links = pages.get((m, table["task"]), [])
                    cells.append({"text": line[1 + k], "n": found.get("n"), "questions": found.get("questions"), "links": links})
                cells += [{"text": cell} for cell in line[1 + len(models) :]]
                rows.append(cells)
            tables.append(
                {
                    "task": table["task"],
                    "caption": caption(table),
                    "headings": headings,
                    "rows": rows,
                    "chart": _study_chart(table["rows"], "cells", models, colours, f"{name} {arrow}"),
                    "paired_chart": _study_chart(paired, "paired", models, colours, f"Δ {name} vs {table['against']}") if paired else "",
                    "against": table["against"],
                    "models": [{"name": m, "colour": colours[m]} for m in models],
                    "labels": labels,
                }
            )
    except (KeyError, TypeError, AttributeError, ValueError):
        raise EthosError(f"{folder / 'study.json'}: not a study this version wrote (run `ethos study` again)") from None
    page = templates().get_template("study.html.j2").render(title=f"EthosAgents study {folder}", folder=str(folder), tables=tables,
                                                            cells=len(study.cells))  # fmt: skip
    return page, beside


def _study_chart(rows: list[dict], key: str, models: list[str], colours: dict[str, str], title: str) -> str:
    """The means (`key` "cells") or paired differences ("paired") of a study table's rows: a bar per model, with its interval."""
    found = {m: [row[key].get(m) or {} for row in rows] for m in models}
    series = {m: [as_number(c.get("mean")) for c in cells] for m, cells in found.items()}
    intervals = {m: [[as_number(c.get("low")), as_number(c.get("high"))] for c in cells] for m, cells in found.items()}
    return bars([row["label"] for row in rows], series, intervals=intervals, series_colours=colours, y_title=title)


def _cell_pages(study, runs_dir: Path | None) -> tuple[dict[tuple[str, str], list[dict]], dict[str, str]]:
    """An evaluation page per model, task and seed of the study, comparing its methods: the links by
    (model, task) and the pages by their path beside the study's page. A cell whose folders are gone
    (a model that failed) gets none."""
    grouped: dict[tuple[str, str, int], list[Path]] = {}
    for cell in study.cells:
        grouped.setdefault((cell.model, cell.task, cell.seed), []).extend(Path(f) for f in cell.folders)
    links: dict[tuple[str, str], list[dict]] = {}
    beside: dict[str, str] = {}
    for (model, task, seed), folders in sorted(grouped.items()):
        folders = [f for f in dict.fromkeys(folders) if f.is_dir()]
        if not folders:
            continue
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model}-{task}-seed{seed}").strip("-")[:120]
        try:
            metrics = [m | {"runs_dir": str(runs_dir) if runs_dir else None} for m in find_metrics(folders)]
            page, files = eval_page(folders, metrics, stem=stem)
        except EthosError:
            continue  # a cell that never finished: no page
        beside[f"cells/{stem}.html"] = page
        beside |= {f"cells/{name}": text for name, text in files.items()}
        links.setdefault((model, task), []).append({"seed": seed, "href": f"cells/{stem}.html"})
    return links, beside
