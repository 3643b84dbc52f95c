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
from ethos.inputs import write_file
from ethos.personas.schema import GENERATED, SLOT_LABELS, SLOTS, WRITTEN

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
         top: float | None = None, height: int = 220, colours: list[str] | None = None) -> str:
    """A grouped bar chart as inline SVG: one group per label, one bar per series, optional intervals.
    `colours`: one per label (a chart of methods, each in its own colour), else one per series."""
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
            fill = colours[g] if colours else series_colour(name, s)
            out.append(f'<rect x="{x}" y="{height - h:.1f}" width="{bar - 4}" height="{h:.1f}" fill="{fill}">'
                       f'<title>{_e(label if colours else name)}: {v:.3f}</title></rect>')
            ci = (intervals or {}).get(name)
            if ci and g < len(ci) and all(c == c for c in ci[g]):
                lo, hi = (height - height * c / top for c in ci[g])
                mid = x + (bar - 4) / 2
                out.append(f'<line x1="{mid}" y1="{lo:.1f}" x2="{mid}" y2="{hi:.1f}" stroke="#222" stroke-width="1.5"/>')
        out.append(f'<text x="{x0}" y="{height + 16}">{_e(label[:18])}</text>')
    for s, name in enumerate(series if not colours else []):  # the legend (a chart of methods is labelled below its bars)
        out.append(f'<rect x="{60 + 150 * s}" y="{height + 34}" width="12" height="12" fill="{series_colour(name, s)}"/>'
                   f'<text x="{76 + 150 * s}" y="{height + 45}">{_e(name[:20])}</text>')
    out.append("</svg>")
    return "".join(out)


def series_colour(name: str, index: int) -> str:
    """A method's (or the gold's) own colour, the same in every chart; other series by position."""
    from ethos.evaluation.report import METHOD_COLOURS, colour

    known = name in METHOD_COLOURS or name.split(" [")[0].split(" · ")[0] in METHOD_COLOURS
    return colour(name) if known else COLOURS[index % len(COLOURS)]


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
        body.append(f"<h2>Personas ({len(personas)})</h2><table><tr><th>#</th><th>name</th>"
                    + "".join(f"<th>{label}</th>" for label in SLOT_LABELS.values()) + "<th>source</th></tr>")
        for i, p in enumerate(personas, 1):
            source = p.get("source", "")
            kind = "generated" if source in GENERATED else "library" if source in WRITTEN else source
            body.append(f"<tr><td>{i}</td>" + "".join(f"<td>{_e(p.get(k))}</td>" for k in
                        ("name", *SLOTS))
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


def eval_page(folders: list[Path], metrics: list[dict], against: str | None = None) -> str:
    """Every metrics.json under the evaluation folders, by task: the model, every metric with its
    interval, each row paired against a reference row, per category, and the first items."""
    from ethos.evaluation.report import PAIRED_NOTE, as_number, metric_columns, paired_rows, row_label
    from ethos.evaluation.scoring import primary_metric
    from ethos.evaluation.tasks import get_task

    body = [f"<h1>Evaluation: {_e(', '.join(map(str, folders)))}</h1>"]
    for task_name in sorted({m["task"] for m in metrics}):
        rows = [m for m in metrics if m["task"] == task_name]
        task = get_task(task_name)
        metric, higher = primary_metric(task, rows[0])
        names = [row_label(r, rows) for r in rows]
        models = sorted({str(r.get("model")) for r in rows})
        body.append(f"<h2>{_e(task_name)}</h2><p class='meta'>model {_e(', '.join(models))} · {_e(metric)} "
                    f"({'higher' if higher else 'lower'} is better) · 95% bootstrap intervals over questions</p>")
        values = [as_number(r.get(metric)) for r in rows]
        cis = [[as_number(c) for c in (r.get(f"{metric}_ci") or [None, None])] for r in rows]
        body.append(bars(names, {metric: values}, intervals={metric: cis}, colours=[series_colour(n, i) for i, n in enumerate(names)]))
        columns = metric_columns(task, rows)
        body.append("<table><tr><th>row</th><th>model</th><th>items (questions)</th>" + "".join(f"<th>{_e(c)}</th>" for c, _ in columns)
                    + "<th>s/item</th><th>failed</th><th>fallbacks and quality signs</th></tr>")
        for r, name in zip(rows, names):
            cells = "".join(f"<td>{_cell(r.get(key), r.get(f'{key}_ci'))}</td>" for _, key in columns)
            fallbacks = ", ".join(f"{k} {n}" for k, n in sorted((r.get("fallbacks") or {}).items()) if n) or "none"
            body.append(f"<tr><td>{_e(name)}</td><td>{_e(r.get('model'))}</td><td>{_e(r.get('n'))} ({_e(r.get('n_questions'))})</td>{cells}"
                        f"<td>{_e(r.get('seconds_per_item'))}</td><td>{_e(r.get('failed', 0))}</td><td>{_e(fallbacks)}</td></tr>")
        body.append("</table>")
        reference, found = paired_rows(task, rows, metric, higher, against)
        if reference is not None:
            body.append(f"<p class='meta'>Paired against <b>{_e(row_label(reference, rows))}</b> ({_e(metric)}, {_e(PAIRED_NOTE)}):</p>"
                        "<table><tr><th>row</th><th>items</th><th>difference [95% CI]</th><th>better / worse items</th><th>holds</th></tr>")
            for r, d in found:
                body.append(f"<tr><td>{_e(row_label(r, rows))}</td><td>{d['n']}</td><td>{_cell(d['mean'], d['ci'])}</td>"
                            f"<td>{d['better']} / {d['worse']}</td><td>{'yes' if d['holds'] else 'no'}</td></tr>")
            body.append("</table>")
        categories = sorted({c for r in rows for c in (r.get("categories") or {})})
        if categories:
            series = {name: [as_number(((r.get("categories") or {}).get(c) or {}).get(metric)) for c in categories] for r, name in zip(rows, names)}
            body.append(f"<p class='meta'>By category ({_e(metric)}):</p>" + bars(categories, series))
        body += _items(rows, names)
    return _page(f"EthosAgents evaluation {', '.join(map(str, folders))}", body)


def _items(rows: list[dict], names: list[str], n: int = 4) -> list[str]:
    """The first items: what tells each apart from the others (their shared preamble left out), the
    gold and every row's prediction, and a link to each row's run of the item."""
    from ethos.evaluation.compare import run_ids

    predictions, runs = {}, {}
    for r in rows:
        try:
            predictions[r["path"]] = {str(i.get("id")): i for i in json.loads((Path(r["path"]) / "predictions.json").read_text(encoding="utf-8"))
                                      if isinstance(i, dict)}
        except (OSError, ValueError, RecursionError, AttributeError):
            continue
        runs[r["path"]] = run_ids(Path(r["path"]))
    first = next(iter(predictions.values()), {})
    items = list(first.values())[:n]
    if not items:
        return []
    texts = [str(i.get("question") or i.get("situation") or "") for i in items]
    shared = len(_common_prefix(texts)) if len(texts) > 1 else 0
    out = [f"<h3>First {len(items)} items</h3>"]
    for item, text in zip(items, texts):
        key = str(item.get("id"))
        own = " ".join(text[shared:].split())[:300] or " ".join(text.split())[:300]
        out.append(f"<p><b>Item {_e(key)}</b> <span class='meta'>({_e(item.get('attribute'))})</span> "
                   f"{'… ' if shared else ''}{_e(own)}</p>")
        links = []
        for r, name in zip(rows, names):
            run_id = runs.get(r["path"], {}).get(key)
            if run_id:
                trace = (Path(r["runs_dir"]).resolve() / "runs" / run_id / "trace.jsonl").as_uri()
                links.append(f"{_e(name)}: <a href='{_e(trace)}'>trace of run {_e(run_id)}</a> (<code>ethos view {_e(run_id)}</code>)")
        if links:
            out.append("<p class='meta'>" + " · ".join(links) + "</p>")
        if "gold_distribution" in item and "options" in item:
            series = {"gold": item["gold_distribution"]}
            for r, name in zip(rows, names):
                predicted = (predictions.get(r["path"]) or {}).get(key) or {}
                if predicted.get("pred_distribution"):
                    series[name] = predicted["pred_distribution"]
            out.append("<ol type='A'>" + "".join(f"<li>{_e(o)}</li>" for o in item["options"]) + "</ol>")
            out.append(bars([chr(65 + k) for k in range(len(item["options"]))], series, top=1.0))
        else:
            for r, name in zip(rows, names):
                predicted = (predictions.get(r["path"]) or {}).get(key) or {}
                if predicted.get("output"):
                    out.append(f"<p><b>{_e(name)}.</b> {_e(str(predicted['output'])[:1500])}</p>")
            gold = item.get("label") or item.get("vrd")
            if gold:
                out.append(f"<p class='meta'>Gold: {_e(gold if isinstance(gold, str) else '; '.join(map(str, gold)))}</p>")
    return out


def _common_prefix(texts: list[str]) -> str:
    """The preamble the items share, cut back to a line or sentence end."""
    import os

    prefix = os.path.commonprefix(texts)
    cut = max(prefix.rfind("\n"), prefix.rfind(". "))
    return prefix[: cut + 1] if cut > 0 else ""


def _cell(value, ci) -> str:
    from ethos.evaluation.report import as_number

    text = _fmt(as_number(value))
    if isinstance(ci, list) and len(ci) == 2 and all(as_number(c) == as_number(c) for c in ci):
        text += f" [{_fmt(as_number(ci[0]))}, {_fmt(as_number(ci[1]))}]"
    return text


def _fmt(value: float) -> str:
    return f"{value:.3f}" if value == value else "–"


def write_view(targets: list[str], runs_dir: Path, out: Path | None = None, against: str | None = None) -> Path:
    """The page for a run id, or for one or more evaluation folders (compared), written to `out`
    or beside the (first) target."""
    folders = [Path(t) for t in targets]
    if folders[0].is_dir():
        from ethos.evaluation.report import find_metrics

        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            raise EthosError(f"not an evaluation folder: {', '.join(missing)} (give evaluation folders, or one run id)")
        metrics = [m | {"runs_dir": str(runs_dir)} for m in find_metrics(folders)]
        page, default = eval_page(folders, metrics, against), folders[0] / "view.html"
    else:
        from ethos.graph.records import load_record

        if len(targets) > 1:
            raise EthosError("give one run id, or one or more evaluation folders")
        record = load_record(runs_dir, targets[0])
        page, default = run_page(record.data), record.dir / "view.html"
    path = out or default
    try:
        write_file(path, page)
    except OSError as exc:
        raise EthosError(f"cannot write the page to {path}: {exc.strerror}") from None
    return path
