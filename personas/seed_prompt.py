"""The seed persona prompt. Written for this project; the line shape follows the method."""

from __future__ import annotations

from collections.abc import Sequence

from ethos.personas.schema import SLOT_LABELS, Persona
from ethos.personas.targets import describe_population, group_of, holds_target

SYSTEM = (
    "You help an ethics committee in a hospital. You imagine the different moral "
    "viewpoints that real people bring to a health-care decision."
)

# The example line is easy for small models to copy; the parser drops exact copies of it.
EXAMPLE_NAME = "The Cautious Guardian"
EXAMPLE = f"#{EXAMPLE_NAME}: safety of the vulnerable; ethics of care; duty to protect; worry; family caregiver"

USER = """Situation: {situation}
{question_block}
Describe {n} ethical perspectives on this situation that disagree with one another.
Write one line per perspective and nothing else, each line in this exact shape:
#Name: {shape}

Example of the shape:
{example}
{target_block}{population_block}
Now write the {n} lines."""

TARGET_BLOCK = """
The perspectives must include "{target}". The first {holders} perspectives hold "{target}" as their \
core value or their key right or duty. The remaining perspectives weigh it against values that \
compete with it."""
# A group is named as its people: small models copy a phrase such as "in terms of political party,
# Democrat" into every persona name, and the copies collapse into duplicates.
GROUP_BLOCK = """
The first {holders} perspectives belong to people whose {category} is {group}, each in a different \
role. The remaining perspectives belong to people of other {category} groups."""


TAKEN_BLOCK = """
These perspectives are already taken. Write {n} new ones, with other names and other ethical frameworks:
{taken}"""


POPULATION_BLOCK = """
The question is put to {population}. Draw the perspectives from the people, roles \
and traditions found there, so that together they span what its people actually think."""


def persona_messages(
    situation: str,
    n: int,
    *,
    options: list[str] | None = None,
    target: str | None = None,
    attribute: str | None = None,
    taken: Sequence[Persona] = (),
) -> list[tuple[str, str]]:
    """The generator's prompt for `n` personas. Inputs besides the item: the steering `target` (a
    value/right/duty or a VITAL group code), the population `attribute` (a country; never an
    ambiguity level), and the personas already `taken` by an earlier reply (a follow-up)."""
    question_block = ""
    if options:
        question_block = "Possible answers: " + "; ".join(options) + "\n"
    target_block = ""
    # A third of the whole set holds the target; a follow-up asks only for the holders still missing.
    holders = min(n, max(1, (n + len(taken)) // 3) - sum(holds_target(p, target) for p in taken)) if target else 0
    if holders > 0 and group_of(target):
        category, group = group_of(target)
        target_block = GROUP_BLOCK.format(category=category, group=group, holders=holders)
    elif holders > 0:
        target_block = TARGET_BLOCK.format(target=target, holders=holders)
    if taken:
        target_block += TAKEN_BLOCK.format(n=n, taken="\n".join(f"- {p.name} ({p.framework})" for p in taken))
    population_block = ""
    if describe_population(attribute):  # the answer's wording of the same population (agents/prompts.py)
        population_block = POPULATION_BLOCK.format(population=describe_population(attribute))
    user = USER.format(
        situation=situation,
        question_block=question_block,
        n=n,
        example=EXAMPLE,
        shape="; ".join(SLOT_LABELS.values()),
        target_block=target_block,
        population_block=population_block,
    )
    return [("system", SYSTEM), ("human", user)]
