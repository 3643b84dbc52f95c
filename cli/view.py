"""`ethos view`: a run or an evaluation as one self-contained HTML page (inline CSS and SVG; no
script, no font, no request to anywhere), to open in any browser, offline.

- A run: its input, the personas with their slots and sources, every comment with its choice, the
  moderator's result, and the distributions as bar charts (per persona and combined).
- An evaluation folder: per task, each method's primary metric with its 95% interval as a bar
  chart and a table, the per-category breakdown, and the first items' predicted and gold
  distributions.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ethos.errors import EthosError
from ethos.personas.schema import GENERATED, WRITTEN

COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .tag { font-size: .8rem; padding: 0 .35rem; border-radius: .3rem; background: #eee; }
.tag.generated { background: #dcebdc; } .tag.library { background: #f6e7cf; } .tag.target { background: #e3dcf2; }
.comment { border-left: 4px solid #4C72B0; margin: .6rem 0; padding: .2rem .8rem; background: #f8f9fb; }
.meta { color: #666; font-size: .85rem; } .warn { color: #a33; } svg text { font: 12px system-ui, sans-serif; }
"""


def _e(value) -> str:
    return html.escape(str(value if value is not None else ""))


def bars(labels: list[str], series: dict[str, list[float]], *, intervals: dict[str, list[list[float]]] | None = None,
         top: float | None = None, height: int = 220) -> str:
    """A grouped bar chart as inline SVG: one group per label, one bar per series, optional intervals."""
    values = [v for vs in series.values() for v in vs if v == v] + [c for cs in (intervals or {}).values() for ci in cs for c in ci if c == c]
    top = top or max(values + [1e-9]) * 1.1
    group, bar = max(24 + 22 * len(series), 120), 22  # a group is wide enough for its label
    width = max(60 + group * len(labels), 60 + 150 * len(series))  # room for the bars and the legend
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 70}" role="img">',
           f'<line x1="50" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>',
           f'<text x="4" y="14">{top:.2f}</text><text x="4" y="{height}">0</text>']
    for g, label in enumerate(labels):
        x0 = 60 + g * group
        for s, (name, vs) in enumerate(series.items()):
            v = vs[g] if g < len(vs) and vs[g] == vs[g] else 0.0
            h = height * v / top
            x = x0 + s * bar
            out.append(f'<rect x="{x}" y="{height - h:.1f}" width="{bar - 4}" height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}">'
                       f'<title>{_e(name)}: {v:.3f}</title></rect>')
            ci = (intervals or {}).get(name)
            if ci and g < len(ci) and all(c == c for c in ci[g]):
                lo, hi = (height - height * c / top for c in ci[g])
                mid = x + (bar - 4) / 2
                out.append(f'<line x1="{mid}" y1="{lo:.1f}" x2="{mid}" y2="{hi:.1f}" stroke="#222" stroke-width="1.5"/>')
        out.append(f'<text x="{x0}" y="{height + 16}">{_e(label[:18])}</text>')
    for s, name in enumerate(series):  # the legend
        out.append(f'<rect x="{60 + 150 * s}" y="{height + 34}" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>'
                   f'<text x="{76 + 150 * s}" y="{height + 45}">{_e(name[:20])}</text>')
    out.append("</svg>")
    return "".join(out)


def _page(title: str, body: list[str]) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def run_page(record: dict) -> str:
    """One run record as a page (an evaluation folder's page shows the gold beside its predictions)."""
    request, result = record.get("request") or {}, record.get("result") or {}
    body = [f"<h1>Run {_e(record.get('run_id'))}</h1>",
            f'<p class="meta">{_e(record.get("kind"))} · {_e(request.get("mode"))} · status {_e(record.get("status"))} · '
            f'{_e(record.get("seconds"))} s · {_e((record.get("tokens") or {}).get("output_tokens"))} new tokens</p>',
            f"<p><b>Input.</b> {_e(request.get('situation'))}</p>"]
    options = request.get("options") or []
    if options:
        body.append("<ol type='A'>" + "".join(f"<li>{_e(o)}</li>" for o in options) + "</ol>")
    if record.get("error"):
        body.append(f'<p class="warn">{_e(record["error"])}</p>')
    personas = record.get("personas") or []
    if personas:
        body.append(f"<h2>Personas ({len(personas)})</h2><table><tr><th>#</th><th>name</th><th>core value</th><th>framework</th>"
                    "<th>right or duty</th><th>emotion</th><th>stakeholder</th><th>source</th></tr>")
        for i, p in enumerate(personas, 1):
            source = p.get("source", "")
            kind = "generated" if source in GENERATED else "library" if source in WRITTEN else source
            body.append(f"<tr><td>{i}</td>" + "".join(f"<td>{_e(p.get(k))}</td>" for k in
                        ("name", "core_value", "framework", "right_or_duty", "emotion", "stakeholder"))
                        + f'<td><span class="tag {_e(kind)}">{_e(source)}</span></td></tr>')
        body.append("</table>")
    comments = sorted(record.get("comments") or [], key=lambda c: c.get("index", 0))
    if comments:
        body.append(f"<h2>Comments ({len(comments)})</h2>")
        for c in comments:
            choice = f" · chose {_e(c['choice'])}" if c.get("choice") else ""
            body.append(f'<div class="comment"><b>{_e(c.get("persona"))}</b><span class="meta">{choice}</span><p>{_e(c.get("text"))}</p></div>')
    body += _result_section(result, options)
    fallbacks = {k: v for k, v in (record.get("fallbacks") or {}).items() if v}
    body.append(f"<h2>Fallbacks</h2><p>{_e(', '.join(f'{k.replace(chr(95), chr(32))}: {v}' for k, v in fallbacks.items()) or 'none')}</p>")
    return _page(f"EthosAgents run {record.get('run_id')}", body)


def _result_section(result: dict, options: list[str]) -> list[str]:
    mode = result.get("mode")
    body = ["<h2>Moderator</h2>"]
    labels = [chr(65 + i) for i in range(len(options))]
    if mode == "overton":
        body.append(f"<p><b>Overton response.</b> {_e(result.get('response'))}</p>")
    elif mode == "steerable":
        selection = result.get("selection") or {}
        body.append(f"<p>Target <b>{_e(result.get('target'))}</b>: selected comment {_e((result.get('selected') or 0) + 1)} "
                    f"({_e(result.get('selected_persona'))}).</p>")
        probs = selection.get("probs") or []
        if probs:
            body.append(bars([f"comment {i + 1}" for i in range(len(probs))], {"P(selected)": probs}, top=1.0))
        elif "reply" in selection:  # a generated selection (the reference protocol)
            body.append(f"<p class='meta'>The moderator replied {_e(selection['reply'])!s} [{_e(selection.get('source'))}].</p>")
        if "distribution" in result:
            body.append(bars(labels, {"answer": result["distribution"].get("probs") or []}, top=1.0))
        elif result.get("answer"):
            body.append(f"<p>{_e(result['answer'])}</p>")
    elif mode == "distributional":
        series = {row["persona"]: row["probs"] for row in result.get("per_persona") or []}
        body.append(bars(labels, {"combined": result.get("distribution") or []}, top=1.0))
        if series:
            body.append("<p class='meta'>Per persona:</p>" + bars(labels, series, top=1.0))
    elif "pred_distribution" in result or "output" in result:  # an eval item of a baseline
        if result.get("pred_distribution"):
            body.append(bars(labels, {"predicted": result["pred_distribution"]}, top=1.0))
        if result.get("output"):
            body.append(f"<p>{_e(result['output'])}</p>")
    else:
        body.append(f"<pre>{_e(json.dumps(result, indent=1, ensure_ascii=False))}</pre>")
    return body


def eval_page(folder: Path, metrics: list[dict]) -> str:
    """Every metrics.json under an evaluation folder, by task, as tables and charts with intervals."""
    from ethos.evaluation.report import as_number, method_label
    from ethos.evaluation.scoring import primary_metric
    from ethos.evaluation.tasks import get_task

    body = [f"<h1>Evaluation: {_e(folder)}</h1>"]
    for task_name in sorted({m["task"] for m in metrics}):
        rows = [m for m in metrics if m["task"] == task_name]
        task = get_task(task_name)
        metric, higher = primary_metric(task, rows[0])
        names = [method_label(r) for r in rows]
        body.append(f"<h2>{_e(task_name)}</h2><p class='meta'>{_e(metric)} ({'higher' if higher else 'lower'} is better), "
                    "95% bootstrap interval over questions</p>")
        values = [as_number(r.get(metric)) for r in rows]
        cis = [[as_number(c) for c in (r.get(f"{metric}_ci") or [None, None])] for r in rows]
        body.append(bars(names, {metric: values}, intervals={metric: cis}))
        body.append(f"<table><tr><th>method</th><th>items (questions)</th><th>{_e(metric)} [95% CI]</th><th>s/item</th>"
                    "<th>failed</th><th>fallbacks</th></tr>")
        for r, v, ci in zip(rows, values, cis):
            fallbacks = ", ".join(f"{k} {n}" for k, n in sorted((r.get("fallbacks") or {}).items()) if n) or "none"
            body.append(f"<tr><td>{_e(method_label(r))}</td><td>{_e(r.get('n'))} ({_e(r.get('n_questions'))})</td>"
                        f"<td>{_fmt(v)} [{_fmt(ci[0])}, {_fmt(ci[1])}]</td><td>{_e(r.get('seconds_per_item'))}</td>"
                        f"<td>{_e(r.get('failed', 0))}</td><td>{_e(fallbacks)}</td></tr>")
        body.append("</table>")
        categories = sorted({c for r in rows for c in (r.get("categories") or {})})
        if categories:
            series = {method_label(r): [as_number(((r.get("categories") or {}).get(c) or {}).get(metric)) for c in categories] for r in rows}
            body.append(f"<p class='meta'>By category ({_e(metric)}):</p>" + bars(categories, series))
        body += _item_distributions(rows)
    return _page(f"EthosAgents evaluation {folder}", body)


def _item_distributions(rows: list[dict], n: int = 4) -> list[str]:
    """The first items' predicted distributions of every method beside the gold."""
    predictions = {}
    for r in rows:
        path = Path(r["path"]) / "predictions.json"
        try:
            predictions[r["path"]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    first = next(iter(predictions.values()), [])
    if not first or "gold_distribution" not in first[0]:
        return []
    from ethos.evaluation.report import method_label

    out = ["<p class='meta'>First items: predicted and gold distributions</p>"]
    for i, item in enumerate(first[:n]):
        series = {"gold": item["gold_distribution"]}
        for r in rows:
            items = predictions.get(r["path"]) or []
            if i < len(items) and items[i].get("pred_distribution"):
                series[method_label(r)] = items[i]["pred_distribution"]
        question = str(item.get("question", "")).split("\n")[0][:140]
        out.append(f"<p>{_e(question)} <span class='meta'>({_e(item.get('attribute'))})</span></p>"
                   + bars([chr(65 + k) for k in range(len(item["options"]))], series, top=1.0))
    return out


def _fmt(value: float) -> str:
    return f"{value:.3f}" if value == value else "–"


def write_view(target: str, runs_dir: Path, out: Path | None = None) -> Path:
    """The page for `target` (a run id, or an evaluation folder), written to `out` or beside it."""
    folder = Path(target)
    if folder.is_dir():
        from ethos.evaluation.report import find_metrics

        page, default = eval_page(folder, find_metrics([folder])), folder / "view.html"
    else:
        from ethos.graph.records import load_record

        record = load_record(runs_dir, target)
        page, default = run_page(record.data), record.dir / "view.html"
    path = out or default
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise EthosError(f"cannot write the page to {path}: {exc.strerror}") from None
    return path
