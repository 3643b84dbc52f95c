"""Render a run's agent conversation as a tree: generator -> each persona agent -> moderator."""

from __future__ import annotations

import math
import textwrap

from ethos.redaction import redact


def _clip(text: str, full: bool, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if full or len(text) <= width else text[: width - 1] + "…"


def _exchange_lines(exchange: dict, prefix: str, last: bool, full: bool) -> list[str]:
    usage = exchange.get("usage") or {}
    cached = " · cached" if exchange.get("cached") else ""
    head = f"{exchange['role']} [{exchange['model']}] · {usage.get('output_tokens', 0)} new tokens · {exchange.get('seconds', 0):.1f} s{cached}"
    branch, stem = ("└── ", "    ") if last else ("├── ", "│   ")
    lines = [prefix + branch + head]
    for kind, text in exchange["messages"]:
        lines += _wrapped(prefix + stem, f"{'ask' if kind == 'human' else kind}: ", _clip(text, full), full)
    reply = exchange["reply"]
    if exchange.get("top_logprobs"):
        merged: dict[str, float] = {}  # "A" and " A" are one candidate, as option probabilities count them
        for t in exchange["top_logprobs"]:
            label = str(t.get("token", "")).strip() or repr(t.get("token"))
            merged[label] = merged.get(label, 0.0) + _probability(t.get("logprob"))
        top = ", ".join(f"{label} {p:.2f}" for label, p in sorted(merged.items(), key=lambda kv: -kv[1] if kv[1] == kv[1] else 1)[:5])
        reply = f"{reply!r} (next-token top: {top})"
    lines += _wrapped(prefix + stem, "reply: ", _clip(reply, full), full)
    return lines


def _wrapped(prefix: str, label: str, text: str, full: bool) -> list[str]:
    if not full:
        return [prefix + label + text]
    return textwrap.wrap(text, width=110, initial_indent=prefix + label, subsequent_indent=prefix + " " * len(label)) or [prefix + label]


def _probability(logprob) -> float:
    """A recorded logprob as a probability; an endpoint's nonsense (1000, NaN, text) shows as nan."""
    try:
        return math.exp(min(float(logprob), 0.0)) if math.isfinite(float(logprob)) else float("nan")
    except (TypeError, ValueError, OverflowError):  # a 400-digit integer too
        return float("nan")


def node_lines(title: str, exchanges: list[dict], *, last: bool, full: bool = False) -> list[str]:
    """One branch of the tree: a title and its model exchanges (redacted: `run --trace` prints them
    from the live state, before any record is written)."""

    lines = [("└── " if last else "├── ") + title]
    prefix = "    " if last else "│   "
    for i, exchange in enumerate(exchanges):
        lines += _exchange_lines(exchange, prefix, i == len(exchanges) - 1, full)
    return [redact(line) for line in lines]


def persona_title(index: int, personas: list[dict]) -> str:
    persona = personas[index] if index < len(personas) else {"name": f"persona {index + 1}", "source": "?"}
    role = "community agent" if persona.get("source") == "community" else "persona agent"
    return f"{role} {index + 1}: {persona['name']} [{persona.get('source', 'parsed')}]"


def render_tree(record: dict, *, full: bool = False) -> str:
    conversation = record.get("conversation") or []
    personas = record.get("personas") or []
    tokens = record.get("tokens") or {}
    request = record.get("request") or {}
    lines = [
        f"run {record['run_id']} · {request.get('mode', record.get('kind'))} · {record.get('status')} · "
        f"{record.get('seconds', 0):.1f} s · {tokens.get('output_tokens', 0)} new tokens · {tokens.get('cached_calls', 0)} cached calls",
        f"input: {_clip(request.get('situation', ''), full)}",
    ]
    groups: list[tuple[str, list[dict]]] = []
    generator = [e for e in conversation if e.get("node") == "seed_personas"]
    if generator:
        groups.append((f"persona generator ({len(generator)} attempt(s))", generator))
    agents = ("persona_agent", "community_agent")  # a baseline's community agents sit in the persona slots
    indices = sorted({e["persona_index"] for e in conversation if e.get("node") in agents})
    for index in indices:
        groups.append(
            (persona_title(index, personas), [e for e in conversation if e.get("persona_index") == index and e.get("node") in agents])
        )
    others = [e for e in conversation if e.get("node") not in ("seed_personas", *agents)]
    for node in dict.fromkeys(e.get("node", "model") for e in others):
        groups.append((str(node).replace("_", " "), [e for e in others if e.get("node", "model") == node]))
    for i, (title, exchanges) in enumerate(groups):
        lines += node_lines(title, exchanges, last=i == len(groups) - 1, full=full)
    if record.get("error"):
        lines.append(f"error: {record['error']}")
    return "\n".join(lines)
