"""Building the persona set: generated (the published method), library only, or hybrid.

Every step that departs from the generator's own output is counted in the persona report:
library top-ups for a short generation, library personas added for coverage in hybrid mode,
and a target-holding persona added when none of the set holds a steering target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from itertools import combinations

import numpy as np

from ethos.errors import EthosError
from ethos.personas.embeddings import embed
from ethos.personas.generation import Ask, PersonaReport, generate_personas
from ethos.personas.library import top_up
from ethos.personas.schema import WRITTEN, Persona, normalise
from ethos.personas.targets import holds_target, target_persona, target_relevance

SOURCES = ("generated", "library", "hybrid")
HYBRID_EXTRA = 2  # at most this many library personas join a full generated set


def rank_by_relevance(library: list[Persona], text: str) -> list[Persona]:
    """Library personas, most relevant to the situation first (sentence-embedding similarity)."""
    if not library:
        return []
    vectors = embed([text] + [p.describe() for p in library])
    order = np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")
    return [library[i] for i in order]


class LazyRanking(Sequence):
    """`rank_by_relevance`, done on first use: a generated set that needs no library persona never
    loads torch and the embedding model (about 430 MB and 6 s)."""

    def __init__(self, library: list[Persona], text: str):
        self._library, self._text = library, text

    @cached_property
    def _ranked(self) -> list[Persona]:
        return rank_by_relevance(self._library, self._text)

    def __getitem__(self, index):
        return self._ranked[index]

    def __len__(self) -> int:
        return len(self._library)


def coverage_gaps(personas: list[Persona], candidates: list[Persona], k: int) -> list[Persona]:
    """Up to `k` candidates that bring both a stakeholder and a framework the set lacks."""
    stakeholders = {normalise(p.stakeholder) for p in personas}
    frameworks = {normalise(p.framework) for p in personas}
    names = {p.key() for p in personas}
    chosen = []
    for p in candidates:
        if len(chosen) == k:
            break
        if p.key() not in names and normalise(p.stakeholder) not in stakeholders and normalise(p.framework) not in frameworks:
            chosen.append(p)
            stakeholders.add(normalise(p.stakeholder))
            frameworks.add(normalise(p.framework))
    return chosen


def diagnostics(personas: list[Persona]) -> dict:
    """The spread of the set: where its personas came from, distinct frameworks and stakeholders."""
    sources: dict[str, int] = {}
    for p in personas:
        sources[p.source] = sources.get(p.source, 0) + 1
    return {
        "sources": sources,
        "frameworks": len({normalise(p.framework) for p in personas}),
        "stakeholders": len({normalise(p.stakeholder) for p in personas}),
    }


def embedding_diversity(personas: list[Persona]) -> float | None:
    """Mean pairwise cosine distance of the persona descriptions (0 = identical). Loads the
    embedding model, so only `ethos run --diversity` and the benchmarks ask for it."""
    if len(personas) < 2:
        return None
    vectors = embed([p.describe() for p in personas])
    return round(float(np.mean([1 - vectors[i] @ vectors[j] for i, j in combinations(range(len(personas)), 2)])), 3)


def replaced_for_target(personas: list[Persona], target: str) -> int:
    """Which persona a target holder replaces: a written persona (a top-up) before a generated
    one, then the one that uses fewest of the target's words, then the last (a generator is asked
    to put the target's holders first)."""
    return min(range(len(personas)), key=lambda i: (personas[i].source not in WRITTEN, target_relevance(personas[i], target), -i))


def _uncount(report: PersonaReport, persona: Persona, source: str) -> None:
    """The counters say what the set holds: the replaced persona no longer counts."""
    if persona.source in WRITTEN:
        field = "from_library" if source == "library" else "library_added" if report.library_added else "topped_up"
        setattr(report, field, getattr(report, field) - 1)
    elif persona.generated:
        report.generated -= 1
        setattr(report, persona.source, getattr(report, persona.source) - 1)


def build_persona_set(
    source: str,
    complete: Callable[[Ask], str | tuple[str, str | None]],
    *,
    n: int,
    attempts: int,
    library: list[Persona],
    situation: str,
    target: str | None = None,
    attribute: str | None = None,
    top_up_library: bool = True,
    add_target_holder: bool = True,
) -> tuple[list[Persona], PersonaReport]:
    """The persona set and its report. `top_up_library` and `add_target_holder` switch off the two
    additions the published method does not make (ablations)."""
    if source not in SOURCES:
        raise EthosError(f"unknown persona source '{source}': choose one of {', '.join(SOURCES)}")
    ranked = LazyRanking(library, f"{situation} {target or ''}")
    if source == "library":
        # Personas of the target's or population's group first (a third of the set), the rest by relevance and coverage.
        holders = [p for p in ranked if (target and holds_target(p, target)) or (attribute and attribute in p.groups)]
        personas = holders[: max(1, n // 3)]
        personas += top_up(personas, ranked, n - len(personas))
        report = PersonaReport(requested=n, from_library=len(personas))
    else:
        personas, report = generate_personas(complete, n=n, attempts=attempts, library=ranked if top_up_library else [])
        if source == "hybrid":
            extra = coverage_gaps(personas, ranked, HYBRID_EXTRA)
            personas += extra
            report.library_added = len(extra)
    if add_target_holder and target and not any(holds_target(p, target) for p in personas):
        holder = next((p for p in ranked if holds_target(p, target)), None) or target_persona(target)
        holder = holder.model_copy(update={"source": "target"})  # listed as added to hold the target
        # The steerable moderator needs a faithful comment to select. The holder replaces the least
        # relevant persona, so the set keeps the N it was asked for.
        if personas:
            out = replaced_for_target(personas, target)
            _uncount(report, personas[out], source)
            personas[out] = holder
        else:
            personas.append(holder)
        report.target_added = 1
    report.diagnostics = diagnostics(personas)
    return personas, report
