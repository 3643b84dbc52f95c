"""Charts as inline SVG: the one plotting path of `ethos view` (inline) and `ethos report` (SVG files
beside the Markdown). No script, font or request: a chart is shapes, text and tooltips."""

from __future__ import annotations

import math

from ethos.evaluation.presentation import METHOD_COLOURS, colour
from ethos.redaction import outward

COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]  # series without a method


def _e(value) -> str:
    """Text in SVG: escaped, and its control characters shown as escapes (XML takes none of them)."""
    return outward(value, "xml")


def ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values from at or below `low` to at or above `high` (0, 0.1, 0.2, ... or 0, 0.05, ...),
    at most about `most` of them: the axis ends on a tick, so no bar or whisker passes its top label."""
    span = max(high - low, 1e-9)
    raw = span / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def _tick_text(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if round(step / 10 ** math.floor(math.log10(step)), 6) == 2.5 else 0)
    return f"{value:.{decimals}f}"


def bars(
    labels: list[str],
    series: dict[str, list[float]],
    *,
    intervals: dict[str, list[list[float]]] | None = None,
    top: float | None = None,
    height: int = 220,
    colours: list[str] | None = None,
    series_colours: dict[str, str] | None = None,
    y_title: str | None = None,
) -> str:
    """A grouped bar chart as inline SVG: one group per label, one bar per series, optional intervals.
    `colours`: one per label (a chart of methods, each in its own colour), else one per series
    (`series_colours` by name, else the method's colour or by position). The value axis has round
    ticks and its title (`y_title`); bars start at 0, below it for a negative value (a paired
    difference). Each bar of a one-series chart carries its value, above its whisker, never struck
    through by it; a long label wraps onto lines under its group, never into the next one."""
    values = [v for vs in series.values() for v in vs if v == v] + [
        c for cs in (intervals or {}).values() for ci in cs for c in ci if c == c
    ]
    floor, ceiling = min(values + [0.0]), top if top is not None else max(values + [0.0])
    marks = ticks(floor, ceiling if ceiling > floor else floor + 1.0)  # nothing drawn yet: an axis from 0 to 1
    low, high = marks[0], marks[-1]
    step = marks[1] - marks[0] if len(marks) > 1 else 1.0
    left = 62 if y_title else 50  # room for the tick labels, and the axis title beside them
    group, bar = max(24 + 22 * len(series), 120), 22  # a group is wide enough for its label
    axis_end = left + 10 + group * len(labels)
    width = max(axis_end, left + 10 + 150 * len(series) if not colours else 0)  # room for the bars and the legend
    wrapped = [wrap(label, max(8, group // 7)) for label in labels]
    below = 16 * max((len(lines) for lines in wrapped), default=1)  # the label lines under the bars
    legend = 0 if colours else 16 * len(series)
    pad = 14  # above the top tick: its label and a value label over the tallest whisker

    def y(value: float) -> float:
        return pad + height * (high - value) / (high - low)

    base = y(0.0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{pad + height + below + legend + 30}" role="img">']
    for mark in marks:  # gridlines with round labels
        out.append(
            f'<line x1="{left}" y1="{y(mark):.1f}" x2="{axis_end}" y2="{y(mark):.1f}" stroke="{"#999" if mark == 0 else "#eee"}"/>'
            f'<text x="{left - 4}" y="{y(mark) + 4:.1f}" text-anchor="end" font-size="10">{_tick_text(mark, step)}</text>'
        )
    if y_title:
        middle = pad + height / 2
        out.append(
            f'<text x="12" y="{middle:.1f}" transform="rotate(-90 12 {middle:.1f})" text-anchor="middle" class="axis-title">{_e(y_title)}</text>'
        )
    for g, label in enumerate(labels):
        x0 = left + 10 + g * group
        for s, (name, vs) in enumerate(series.items()):
            v = vs[g] if g < len(vs) and vs[g] == vs[g] else 0.0
            x = x0 + s * bar
            fill = colours[g] if colours else (series_colours or {}).get(name) or series_colour(name, s)
            out.append(
                f'<rect x="{x}" y="{min(y(v), base):.1f}" width="{bar - 4}" height="{abs(y(v) - base):.1f}" fill="{fill}">'
                f"<title>{_e(label if colours else name)}: {v:.3f}</title></rect>"
            )
            ci = (intervals or {}).get(name)
            whisker = ci[g] if ci and g < len(ci) and all(c == c for c in ci[g]) else None
            if whisker:
                mid = x + (bar - 4) / 2
                out.append(
                    f'<line x1="{mid}" y1="{y(whisker[0]):.1f}" x2="{mid}" y2="{y(whisker[1]):.1f}" stroke="#222" stroke-width="1.5" class="whisker"/>'
                )
            if len(series) == 1 and g < len(vs) and vs[g] == vs[g]:  # the value on its bar (beside others', in the tooltip)
                reach = [v, *(whisker or [])]
                at = y(max(reach)) - 3 if v >= 0 else y(min(reach)) + 11  # past the whisker's end, never across it
                out.append(f'<text x="{x}" y="{at:.1f}" font-size="9" class="value">{v:.2f}</text>')
        lines = "".join(f'<tspan x="{x0}" dy="{16 if i else 0}">{_e(line)}</tspan>' for i, line in enumerate(wrapped[g]))
        out.append(f'<text x="{x0}" y="{pad + height + 16}"><title>{_e(label)}</title>{lines}</text>')
    for s, name in enumerate(series if not colours else []):  # the legend, one entry a line (a chart of methods is labelled below its bars)
        fill = (series_colours or {}).get(name) or series_colour(name, s)
        at = pad + height + below + 20 + 16 * s
        out.append(
            f'<rect x="{left + 10}" y="{at - 11}" width="12" height="12" fill="{fill}"/><text x="{left + 26}" y="{at}">{_e(name)}</text>'
        )
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
