"""Seed persona generation: constrained replies where the backend can, a tolerant parser where it
cannot, bounded retries, de-duplication and library top-up.

Each persona records how it was obtained in `source`: "constrained" (a reply forced into the
persona format by a grammar or JSON schema), "parsed" (read from free text by the parser), or
"library"/"target" (added, see `selection.py`). The report counts each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from pydantic import ValidationError

from ethos.personas.format import personas_from_json
from ethos.personas.library import top_up
from ethos.personas.schema import SLOTS, Persona, normalise
from ethos.personas.seed_prompt import EXAMPLE_NAME

_LEADER = re.compile(r"^(?:\s*(?:#+|\*+|[-•>]|\d{1,2}[.):]))+\s*")
_NAME_REST = re.compile(r"^(?P<name>[^:;|]{1,80}?)\s*(?::|\s[-–—]\s)\s*(?P<rest>.+)$")
_SLOT_LABEL = re.compile(
    r"^(?:core\s+value|value|ethical\s+framework|framework|key\s+right\s+or\s+duty|right\s+or\s+duty|"
    r"right/duty|right|duty|emotion|stakeholder(?:\s+role)?|role)\s*[:=]\s*",
    re.IGNORECASE,
)


def parse_persona_line(line: str) -> Persona | None:
    """Read one `#Name: value; framework; right or duty; emotion; stakeholder` line.

    Small models decorate the line (numbering, bold, labels) and pick their own separator:
    accept `|`, `;` or `,` as long as exactly five slots come out. Anything else is rejected
    rather than guessed.
    """
    text = _LEADER.sub("", line.strip()).replace("**", "").strip().rstrip(".")
    match = _NAME_REST.match(text)
    if not match:
        return None
    name = match["name"].strip(" \"'*")
    rest = match["rest"].strip().rstrip(";|,").strip()  # a trailing separator is not a sixth slot
    for sep in ("|", ";", ","):
        parts = [_SLOT_LABEL.sub("", part.strip()).strip(" \"'") for part in rest.split(sep)]
        if len(parts) == len(SLOTS):
            break
    else:
        return None
    try:
        return Persona(name=name, **dict(zip(SLOTS, parts)))
    except ValidationError:
        return None


def is_duplicate(persona: Persona, kept: list[Persona]) -> bool:
    return any(persona.key() == p.key() or persona.stance() == p.stance() for p in kept)


@dataclass
class PersonaReport:
    """What happened on the way to the persona set; every fallback is counted here."""

    requested: int
    attempts: int = 0
    rejected_lines: int = 0  # non-empty lines (or JSON entries) without the five slots
    example_copies: int = 0  # personas that copy the prompt's example (well-formed, but not the model's own)
    valid_lines: int = 0
    duplicates: int = 0
    generated: int = 0  # generated personas kept (constrained + parsed)
    constrained: int = 0  # of those, from replies the backend constrained to the persona format
    parsed: int = 0  # of those, read by the parser from replies that were not constrained
    topped_up: int = 0  # library personas added because too few were generated
    from_library: int = 0  # library mode: personas chosen from the library
    library_added: int = 0  # hybrid mode: library personas added for stakeholder/framework coverage
    target_added: int = 0  # a persona holding the steering target was added (none in the set held it)
    notes: list[str] = field(default_factory=list)  # why a reply was not constrained (each counted once)
    diagnostics: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _candidates(text: str) -> tuple[list[Persona], int]:
    """Personas in a reply (a JSON structured output, or persona lines) and the rejected entries."""
    from_json = personas_from_json(text) if text.lstrip().startswith("{") else None
    if from_json is not None:
        return from_json
    lines = [line for line in text.splitlines() if line.strip()]
    personas = [p for p in map(parse_persona_line, lines) if p is not None]
    return personas, len(lines) - len(personas)


@dataclass(frozen=True)
class Ask:
    """One request to the generator: the attempt, how many personas are still missing, and the
    personas already taken (a follow-up asks for other names and frameworks)."""

    attempt: int
    missing: int
    taken: tuple[Persona, ...] = ()


def generate_personas(
    complete: Callable[[Ask], str | tuple[str, str | None]],
    *,
    n: int,
    attempts: int,
    library: list[Persona],
) -> tuple[list[Persona], PersonaReport]:
    """Ask `complete(ask)` for personas until `n` distinct ones are read, at most `attempts` times.

    As the published code does, a short reply is followed by another request, for the missing
    personas only (`ask.missing`), naming those already taken (`ask.taken`). `complete` returns
    `(text, note)` as `Backend.complete_constrained` does (`note` None: the reply was constrained),
    or just the text of a reply that was not. Personas from every attempt are pooled. A shortfall
    left after `attempts` is filled from `library`, and counted.
    """
    report = PersonaReport(requested=n)
    kept: list[Persona] = []
    example = normalise(EXAMPLE_NAME)
    for attempt in range(attempts):
        if len(kept) >= n:
            break
        report.attempts += 1
        reply = complete(Ask(attempt, n - len(kept), tuple(kept)))
        text, note = reply if isinstance(reply, tuple) else (reply, "unconstrained")
        if note and note != "unconstrained" and note not in report.notes:
            report.notes.append(note)
        source = "parsed" if note else "constrained"
        personas, rejected = _candidates(text)
        report.rejected_lines += rejected
        for persona in personas:
            if persona.key() == example:
                report.example_copies += 1
                continue
            report.valid_lines += 1
            if is_duplicate(persona, kept):
                report.duplicates += 1
            elif len(kept) < n:
                kept.append(persona.model_copy(update={"source": source}))
    report.generated = len(kept)
    report.constrained = sum(p.source == "constrained" for p in kept)
    report.parsed = report.generated - report.constrained
    extra = top_up(kept, library, n - len(kept))
    report.topped_up = len(extra)
    return kept + extra, report
