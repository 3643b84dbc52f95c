"""The constrained form of a persona set: exactly N persona lines, each with a name and five slots.

One GBNF grammar serves llama.cpp (`embedded`, `gguf:`) and xgrammar (`hf:`); a JSON schema
serves OpenAI-compatible endpoints with structured outputs. The line shape is the one the
prompt asks for and the tolerant parser reads, so a constrained reply parses like a good one.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from ethos.personas.schema import SLOTS, Persona

NAME_CHARS = 40
SLOT_CHARS = 48
# A constrained persona line is rarely shorter than this many tokens: the budget check uses it.
MIN_TOKENS_PER_PERSONA = 16


def persona_grammar(n: int) -> str:
    """GBNF for exactly `n` lines `#Name: value; framework; right or duty; emotion; stakeholder`.

    Kept small on purpose: llama.cpp's grammar sampler slows down sharply on large grammars
    (its JSON-schema grammar ran at about 7 tokens/s here, against about 60 for this one).
    """
    slots = ' "; " '.join(["slot"] * len(SLOTS))
    return "\n".join(
        [
            "root ::= " + " ".join(["line"] * n),
            f'line ::= "#" name ": " {slots} "\\n"',
            f"name ::= [A-Z] [A-Za-z '-]{{2,{NAME_CHARS}}}",
            # Letters first, so a slot never starts with punctuation; no ';' inside a slot.
            f"slot ::= [a-zA-Z] [a-zA-Z ,'()/-]{{2,{SLOT_CHARS}}}",
        ]
    )


def persona_json_schema(n: int) -> dict:
    """A JSON schema for `{"personas": [n objects with name and the five slots]}` (strict mode)."""
    fields = ("name", *SLOTS)
    persona = {
        "type": "object",
        "properties": {f: {"type": "string"} for f in fields},
        "required": list(fields),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"personas": {"type": "array", "items": persona, "minItems": n, "maxItems": n}},
        "required": ["personas"],
        "additionalProperties": False,
    }


def personas_from_json(text: str) -> tuple[list[Persona], int] | None:
    """Personas from a structured-output reply, and how many entries were rejected; None if not JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    entries = data.get("personas") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    personas, rejected = [], 0
    for entry in entries:
        try:
            personas.append(Persona(**{k: entry[k] for k in ("name", *SLOTS)}))
        except (KeyError, TypeError, ValidationError):
            rejected += 1
    return personas, rejected
