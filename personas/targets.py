"""Steering targets: a value, right or duty in words, or a VITAL group code such as POLPARTY_Democrat."""

from __future__ import annotations

import re

from ethos.personas.schema import Persona, normalise

GROUP_CATEGORIES = {
    "POLPARTY": "political party",
    "POLIDEOLOGY": "political ideology",
    "RELIG": "religion",
    "RACE": "race",
    "EDUCATION": "education",
    "INCOME": "income",
    "CREGION": "region in the United States",
    "SEX": "sex",
}
# MoralChoice's `attribute` is an ambiguity level, not a population: it never enters a prompt.
AMBIGUITY_LEVELS = {"low_ambiguity", "high_ambiguity"}
_FILLER = {"to", "of", "the", "a", "an", "and", "or", "for", "in", "on", "be", "is"}
_GENERIC = {"right", "rights", "duty", "duties", "value", "values"}  # shared by nearly every persona


def group_of(target: str) -> tuple[str, str] | None:
    """(category label, group) for a VITAL group code, else None."""
    category, _, group = target.partition("_")
    if category in GROUP_CATEGORIES and group:
        return GROUP_CATEGORIES[category], group.replace("_", " ")
    return None


def describe_target(target: str) -> str:
    """`POLPARTY_Democrat` -> `in terms of political party, Democrat`; plain words stay as they are."""
    group = group_of(target)
    return f"in terms of {group[0]}, {group[1]}" if group else target


def describe_population(attribute: str | None) -> str | None:
    """`people from Japan`, `people who are, in terms of religion, Muslim`, or None (no population:
    MoralChoice's ambiguity level is not one)."""
    if not attribute or attribute in AMBIGUITY_LEVELS:
        return None
    if group_of(attribute):
        return f"people who are, {describe_target(attribute)}"
    return f"people from {attribute}"


def describe_attribute(attribute: str | None) -> str | None:
    """The instruction a distributional answer gets for its population, or None."""
    if not describe_population(attribute):
        return None
    if group_of(attribute):
        return f"Answer as a person who is, {describe_target(attribute)}."
    return f"Answer as a person from {attribute}."


def contains_phrase(text: str, phrase: str) -> bool:
    """Does `text` hold `phrase` as whole words (case and punctuation ignored)? "female nurse"
    does not hold "male", nor "Caucasian" "Asian"."""
    phrase = normalise(phrase)
    return bool(phrase) and f" {phrase} " in f" {normalise(text)} "


def holds_target(persona: Persona, target: str) -> bool:
    """Does this persona speak for the target (its value/right/duty, or its group)?"""
    if target in persona.groups:
        return True
    group = group_of(target)
    if group:
        return contains_phrase(f"{persona.name} {persona.stakeholder}", group[1])
    held = normalise(f"{persona.core_value} {persona.right_or_duty}")
    if contains_phrase(held, target):
        return True
    words = {w for w in normalise(target).split() if w not in _FILLER | _GENERIC}
    return bool(words) and len(words & set(held.split())) >= max(1, round(len(words) * 2 / 3))


def target_relevance(persona: Persona, target: str) -> int:
    """How many of the target's own words the persona's description uses (0: none)."""
    group = group_of(target)
    words = set(normalise(group[1] if group else target).split()) - _FILLER - _GENERIC
    return len(words & set(normalise(persona.describe()).split()))


def target_persona(target: str) -> Persona:
    """A persona that holds the target, for when neither the generator nor the library gave one."""
    group = group_of(target)
    if group:
        label, name = group
        return Persona(
            name=f"A {name} Voice",
            core_value=f"the outlook of people whose {label} is {name}",
            framework="the group's own moral outlook",
            right_or_duty="right to have the group's view heard",
            emotion="conviction",
            stakeholder=f"{name} ({label})",
            groups=(target,),
            source="target",
        )
    right_or_duty = target if re.match(r"(?i)(right|duty)\b", target) else f"duty to uphold {target}"
    return Persona(
        name=f"The Advocate of {target}",
        core_value=target,
        framework="principled commitment to this value",
        right_or_duty=right_or_duty,
        emotion="conviction",
        stakeholder="advocate",
        source="target",
    )
