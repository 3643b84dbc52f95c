"""Charts as inline SVG: the one plotting path of `ethos view` (inline) and `ethos report` (SVG files
beside the Markdown). No script, font or request: a chart is shapes, text and tooltips."""

from __future__ import annotations

from ethos.evaluation.presentation import METHOD_COLOURS, colour
from ethos.redaction import outward

COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]  # series without a method


def _e(value) -> str:
    """Text in SVG: escaped, and its control characters shown as escapes (XML takes none of them)."""
    return outward(value, "xml")


def bars(
    labels: list[str],
    series: dict[str, list[float]],
    *,
    intervals: dict[str, list[list[float]]] | None = None,
    top: float | None = None,
    height: int = 220,
    colours: list[str] | None = None,
    series_colours: dict[str, str] | None = None,
) -> str:
    """A grouped bar chart as inline SVG: one group per label, one bar per series, optional intervals.
    `colours`: one per label (a chart of methods, each in its own colour), else one per series
    (`series_colours` by name, else the method's colour or by position). Each bar carries its value;
    a long label wraps onto lines under its group, never into the next one."""
    values = [v for vs in series.values() for v in vs if v == v] + [
        c for cs in (intervals or {}).values() for ci in cs for c in ci if c == c
    ]
    top = top or max(values + [1e-9]) * 1.1
    group, bar = max(24 + 22 * len(series), 120), 22  # a group is wide enough for its label
    width = max(60 + group * len(labels), 60 + 150 * len(series))  # room for the bars and the legend
    wrapped = [wrap(label, max(8, group // 7)) for label in labels]
    below = 16 * max((len(lines) for lines in wrapped), default=1)  # the label lines under the bars
    legend = 0 if colours else 16 * len(series)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + below + legend + 30}" role="img">',
        f'<line x1="50" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>',
        f'<text x="4" y="14">{top:.2f}</text><text x="4" y="{height}">0</text>',
    ]
    for g, label in enumerate(labels):
        x0 = 60 + g * group
        for s, (name, vs) in enumerate(series.items()):
            v = vs[g] if g < len(vs) and vs[g] == vs[g] else 0.0
            h = height * v / top
            x = x0 + s * bar
            fill = colours[g] if colours else (series_colours or {}).get(name) or series_colour(name, s)
            out.append(
                f'<rect x="{x}" y="{height - h:.1f}" width="{bar - 4}" height="{h:.1f}" fill="{fill}">'
                f"<title>{_e(label if colours else name)}: {v:.3f}</title></rect>"
            )
            if len(series) == 1 and g < len(vs) and vs[g] == vs[g]:  # the value on its bar (beside others', in the tooltip)
                out.append(f'<text x="{x}" y="{height - h - 3:.1f}" font-size="9">{v:.2f}</text>')
            ci = (intervals or {}).get(name)
            if ci and g < len(ci) and all(c == c for c in ci[g]):
                lo, hi = (height - height * c / top for c in ci[g])
                mid = x + (bar - 4) / 2
                out.append(f'<line x1="{mid}" y1="{lo:.1f}" x2="{mid}" y2="{hi:.1f}" stroke="#222" stroke-width="1.5"/>')
        lines = "".join(f'<tspan x="{x0}" dy="{16 if i else 0}">{_e(line)}</tspan>' for i, line in enumerate(wrapped[g]))
        out.append(f'<text x="{x0}" y="{height + 16}"><title>{_e(label)}</title>{lines}</text>')
    for s, name in enumerate(series if not colours else []):  # the legend, one entry a line (a chart of methods is labelled below its bars)
        fill = (series_colours or {}).get(name) or series_colour(name, s)
        y = height + below + 20 + 16 * s
        out.append(f'<rect x="60" y="{y - 11}" width="12" height="12" fill="{fill}"/><text x="76" y="{y}">{_e(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def wrap(label: str, width: int, most: int = 3) -> list[str]:
    """`label` in lines of about `width` characters, broken at " · " and spaces; at most `most` lines,
    the last one ending in "…" when it was cut."""
    lines = [""]
    for word in label.split(" "):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    if len(lines) > most:
        rest = " ".join(lines[most - 1 :])
        lines = [*lines[: most - 1], rest if len(rest) <= width + 8 else rest[: width + 7] + "…"]
    return [line if len(line) <= width + 8 else line[: width + 7] + "…" for line in lines]


def series_colour(name: str, index: int) -> str:
    """A method's (or the gold's) own colour, the same in every chart; other series by position."""
    known = name in METHOD_COLOURS or name.split(" [")[0].split(" · ")[0] in METHOD_COLOURS
    return colour(name) if known else COLOURS[index % len(COLOURS)]
