"""How results are shown, the same way in the terminal table, the Markdown report and the page: a
row's label, its colour, its counts and its numbers. Charts and comparisons read these; the summary
puts them together (`summary.py`), so presentation flows one way."""

from __future__ import annotations

import colorsys
import hashlib
from collections import defaultdict

from ethos.evaluation.tasks import protocol_of
from ethos.redaction import neutral

# One colour per method in every chart; a variant of a method (its ablations, protocol, another
# model or other settings) takes a colour of its own from the rest, by its label.
METHOD_COLOURS = {
    "vanilla": "#8C8C8C",
    "prompting": "#DD8452",
    "moe": "#55A868",
    "modplural": "#8172B3",
    "ethosagents": "#4C72B0",
    "gold": "#222222",
}

VARIANT_COLOURS = ["#C44E52", "#937860", "#DA8BC3", "#64B5CD", "#CCB974", "#2F4B7C", "#A05195", "#F95D6A"]


def colour(label: str) -> str:
    if label in METHOD_COLOURS:
        return METHOD_COLOURS[label]
    return VARIANT_COLOURS[hashlib.blake2s(label.encode()).digest()[0] % len(VARIANT_COLOURS)]


# With several models, one hue family per model (blue, orange, green, purple, red, gold, teal, pink).
MODEL_HUES = (212, 26, 125, 272, 0, 45, 185, 320)


def model_colour(index: int, shade: int = 0, shades: int = 1) -> str:
    """The `shade`-th of `shades` colours of model `index`'s family: dark to light, all readable on white."""
    lightness = 0.32 + (0.38 * shade / (shades - 1) if shades > 1 else 0.13)
    red, green, blue = colorsys.hls_to_rgb(MODEL_HUES[index % len(MODEL_HUES)] / 360, lightness, 0.62)
    return "#" + "".join(f"{round(c * 255):02X}" for c in (red, green, blue))


def row_colours(labels: list[str], models: list[str] | None = None) -> list[str]:
    """One colour per row, none shared within a table. With rows of several models (`models`, one
    per row), each model takes a hue family and its rows shades of it, so a reader sees the models
    first and the rows within them. Otherwise a method's own colour for its plain row, else its
    label's colour (stable across pages and reports), moved on to the next free colour where two
    rows' labels would share one."""
    if models and len(set(models)) > 1:
        order = list(dict.fromkeys(models))
        rows_of = {m: [i for i, n in enumerate(models) if n == m] for m in order}
        return [model_colour(order.index(m), rows_of[m].index(i), len(rows_of[m])) for i, m in enumerate(models)]
    taken: set[str] = set()
    out = []
    for label in labels:
        found = colour(label)
        if found in taken and label not in METHOD_COLOURS:
            free = [c for c in VARIANT_COLOURS if c not in taken]
            start = VARIANT_COLOURS.index(found) if found in VARIANT_COLOURS else 0
            found = min(free, key=lambda c: (VARIANT_COLOURS.index(c) - start) % len(VARIANT_COLOURS)) if free else found
        taken.add(found)
        out.append(found)
    return out


def as_number(value) -> float:
    """A metric as read back from JSON, where NaN is stored as null."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def counted(row: dict) -> str:
    """A row's fallbacks and quality signs, and its failed and missing items, as one text."""
    parts = [f"{k} {v}" for k, v in sorted((row.get("fallbacks") or {}).items()) if v]
    if row.get("failed"):
        parts.append(f"{row['failed']} failed (rerun to retry)")
    if row.get("missing"):
        parts.append(f"{row['missing']} without prediction")
    return ", ".join(parts) or "none"


def fmt(value, ci=None) -> str:
    """`0.412 [0.380, 0.455]`, or "–" for a metric that is missing or NaN."""
    if as_number(value) != as_number(value):
        return "–"
    text = f"{value:.3f}"
    if isinstance(ci, list) and len(ci) == 2 and all(as_number(c) == as_number(c) for c in ci):
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


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


def method_label(row: dict) -> str:
    """The method, with its protocol where it is not the reference's, and its ablations:
    `ethosagents [protocol ethos, no-target-persona]`."""
    protocol = protocol_of(row)
    ablations = ([f"protocol {protocol}"] if protocol != "reference" else []) + list(row.get("ablations") or [])
    return row.get("method", "-") + (f" [{', '.join(ablations)}]" if ablations else "")
