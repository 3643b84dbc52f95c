"""`ethos report`: finished evaluations -> a Markdown report: the evaluation summary's tables, each
row paired against a reference row, and SVG charts drawn as `ethos view` draws them."""

from __future__ import annotations

from pathlib import Path

from ethos.errors import EthosError
from ethos.evaluation.compare import PAIRED_NOTE
from ethos.evaluation.presentation import counted, fmt
from ethos.evaluation.summary import find_metrics, task_summaries
from ethos.inputs import write_file
from ethos.redaction import outward


def write_report(run_dirs: list[Path], out_dir: Path, against: str | None = None) -> Path:
    """report.md with its charts (SVG files beside it, drawn as `ethos view` draws them)."""

    summaries = task_summaries(find_metrics(run_dirs))  # first: a wrong folder is named before anything is written
    try:
        return _write(summaries, out_dir, against)
    except OSError as exc:  # a read-only or full disk: the folder named, an input error (exit 2) as the docs say
        raise EthosError(f"--out {out_dir}: cannot write the report there ({exc.strerror or exc.__class__.__name__})") from None


def _write(summaries, out_dir: Path, against: str | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# EthosAgents evaluation report", ""]
    for s in summaries:
        name = s.task.name
        lines += [
            f"## {name}",
            "",
            f"Model: {_md(', '.join(s.models))}. Primary metric: `{s.metric}` ({'higher' if s.higher else 'lower'} is better).",
            "",
        ]
        header = (
            "| row | items (questions) | "
            + " | ".join(heading for heading, _ in s.columns)
            + " | s/item | fallbacks, quality signs, failed |"
        )
        lines += [header, "|" + "---|" * (header.count("|") - 1)]
        for r, label in zip(s.rows, s.labels):
            seconds = r["seconds_per_item"] if r.get("seconds_per_item") is not None else "–"
            lines.append(
                f"| {_md(label)} | {r.get('n', '–')} ({r.get('n_questions', '–')}) | "
                + " | ".join(fmt(r.get(key), r.get(f"{key}_ci")) for _, key in s.columns)
                + f" | {seconds} | {_md(counted(r))} |"
            )
        lines += ["", _md("; ".join(s.notes).capitalize() + "."), ""]
        reference, found = s.paired(against)
        if reference is not None:
            lines += [
                f"Paired against {_md(reference)} ({s.metric}, {PAIRED_NOTE}):",
                "",
                "| row | against | items | difference [95% CI] | better / worse items | holds |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {_md(label)} | {_md(d['against'])} | {d['n']} | {fmt(d['mean'], d['ci'])} | {d['better']} / {d['worse']} | "
                f"{'yes' if d['holds'] else 'no'} |"
                for label, d in found
            ] + [""]
        write_file(out_dir / f"{name}.svg", s.chart())
        lines += [f"![{name}]({name}.svg)", ""]
        for key, title in (("categories", "category"), ("groups", "group")):
            if not any(r.get(key) for r in s.rows) or key == "groups" and _same_breakdown(s.rows):
                continue  # MoralChoice's groups are its categories: one table says it all
            groups = sorted({g for r in s.rows for g in (r.get(key) or {})})
            lines += [
                f"Per {title} ({s.metric}):",
                "",
                f"| {title} | " + " | ".join(_md(label) for label in s.labels) + " |",
                "|---|" + "---|" * len(s.rows),
            ]
            for g in groups:
                found = [(r.get(key) or {}).get(g, {}) for r in s.rows]
                counts = {(f.get("n", 0), f.get("questions", 0)) for f in found}
                if len(counts) == 1:  # every column holds the same items of this group: said once
                    (n, questions), cells = next(iter(counts)), [fmt(f.get(s.metric)) for f in found]
                    head = f"{_md(g)} (n={n}, {questions} questions)"
                else:  # each column its own count
                    head = _md(g)
                    cells = [f"{fmt(f.get(s.metric))} (n={f.get('n', 0)}, {f.get('questions', 0)} q.)" for f in found]
                lines.append(f"| {head} | " + " | ".join(cells) + " |")
            write_file(out_dir / f"{name}-{key}.svg", s.breakdown(key, groups[:16]))  # 16: a readable chart
            lines += ["", f"![{name} by {title}]({name}-{key}.svg)", ""]
    report = out_dir / "report.md"
    write_file(report, "\n".join(lines))
    return report


def _same_breakdown(rows: list[dict]) -> bool:
    """The groups are the categories (MoralChoice's ambiguity levels)."""
    return all(set(r.get("groups") or {}) == set(r.get("categories") or {}) for r in rows)


def _md(text) -> str:
    """Text quoted in Markdown: no HTML, no cell breaks, no escape sequences, and no link or image
    (a label, a model or a fallback name from a shared folder's metrics.json is outside text: a
    `javascript:` link or a remote image, a beacon, must not come alive)."""
    return outward(text, "markdown")
