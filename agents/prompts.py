"""Prompts of the persona agent and the moderators, written for this project.

Options are lettered A, B, C, ... for however many an item has (1 to 26): never a fixed three.
"""

from __future__ import annotations

import string

from ethos.personas.schema import Persona
from ethos.personas.targets import describe_attribute, describe_population, describe_target


def option_labels(n: int) -> list[str]:
    if not 1 <= n <= 26:
        raise ValueError(f"between 1 and 26 options are supported, got {n}")
    return list(string.ascii_uppercase[:n])


def options_block(options: list[str]) -> str:
    return "\n".join(f"{label}. {text}" for label, text in zip(option_labels(len(options)), options))


LETTER_ANSWER = "Answer with the letter of one option only.\nAnswer:"


def question_block(situation: str, options: list[str]) -> str:
    """The item as every prompt shows it: a situation, or a question with its lettered options."""
    if not options:
        return f"Situation: {situation}"
    return f"Question: {situation}\nOptions:\n{options_block(options)}"


# ---- persona agent -----------------------------------------------------------------------------

COMMENT_SYSTEM = (
    "You speak for {persona}. Stay inside this perspective: argue from its values, its rights and "
    "duties, and the feelings of its stakeholder."
)
COMMENT_USER = """{question}
{conditioning}
Write a moral comment of 150 to 180 words from your perspective. Name two or three core values \
at stake and the rights or duties involved, then give a clear judgement with its reasons. Use \
normative words such as "should" and "must". Do not introduce yourself.{choice_rule}"""


def letter_choice(options: list[str]) -> str:
    """The fragment every prompt that asks for a chosen option shares."""
    return f"the letter of the option you choose ({', '.join(option_labels(len(options)))})"


def conditioning_block(target: str | None = None, attribute: str | None = None) -> str:
    """Who the answer is for: the steering target and the population, where an item has them."""
    lines = []
    if target:
        lines.append(f"The answer is wanted from this point of view: {describe_target(target)}.")
    population = describe_population(attribute)
    if population:
        lines.append(f"The people answering this question are {population}.")
    return "".join(f"\n{line}" for line in lines)


def comment_messages(
    persona: Persona, situation: str, options: list[str], *, target: str | None = None, attribute: str | None = None
) -> list[tuple[str, str]]:
    choice_rule = f"\nStart your comment with {letter_choice(options)}, then explain." if options else ""
    user = COMMENT_USER.format(
        question=question_block(situation, options), conditioning=conditioning_block(target, attribute), choice_rule=choice_rule
    )
    return [("system", COMMENT_SYSTEM.format(persona=persona.describe())), ("human", user)]


# ---- moderators --------------------------------------------------------------------------------

OVERTON_SYSTEM = "You are a moderator. You write one response that fairly covers every perspective you are given."
OVERTON_USER = """{question}

Comments from different perspectives:
{passages}

Write one comment of about 150 words on the situation that reflects all of these values and \
perspectives, including where they disagree."""


def overton_messages(situation: str, comments: list[dict]) -> list[tuple[str, str]]:
    passages = "\n".join(f"[{i}] {c['text']}" for i, c in enumerate(comments, 1))
    return [("system", OVERTON_SYSTEM), ("human", OVERTON_USER.format(question=question_block(situation, []), passages=passages))]


SELECT_SYSTEM = "You are a moderator. You pick the comment that best speaks for a given value or group."
SELECT_USER = """{question}

{comments}

Target: {target}
Which comment best reflects the target? Answer with the comment's number only.
Answer:"""
# Comments are numbered 1-9 so that each number is one token; larger sets are selected in rounds.
MAX_SELECTION = 9


def selection_labels(n: int) -> list[str]:
    if not 1 <= n <= MAX_SELECTION:
        raise ValueError(f"between 1 and {MAX_SELECTION} comments are compared at once, got {n}")
    return [str(i) for i in range(1, n + 1)]


def select_messages(situation: str, texts: list[str], target: str) -> list[tuple[str, str]]:
    """Comments as Modular Pluralism gives them: numbered texts only, without the persona names
    (a name such as "The Advocate of X" would win on the name alone) and without the answer options
    (their letters would mix with the comments' labels)."""
    listed = "\n".join(f"Comment {label}: {text}" for label, text in zip(selection_labels(len(texts)), texts))
    user = SELECT_USER.format(question=question_block(situation, []), comments=listed, target=describe_target(target))
    return [("system", SELECT_SYSTEM), ("human", user)]


ANSWER_SYSTEM = "You answer questions about health care from the point of view you are given."
ANSWER_USER = """Passage: {passage}

Answer {target_phrase}guided by the passage.
{question}
{instruction}"""


def answer_messages(
    situation: str,
    options: list[str],
    passage: str,
    *,
    target: str | None = None,
    attribute: str | None = None,
    author_voice: bool = True,
) -> list[tuple[str, str]]:
    """A question answered with one comment as its passage (steerable and distributional modes).

    Without a target or a population the answer is asked "as the passage's author would";
    `author_voice=False` (an ablation) asks for an answer guided by the passage only."""
    if target:
        target_phrase = f"as someone who holds this view: {describe_target(target)}, "
    elif population := describe_attribute(attribute):
        target_phrase = population.removeprefix("Answer ").rstrip(".") + ", "
    else:
        target_phrase = "as the passage's author would, " if author_voice else ""
    instruction = LETTER_ANSWER if options else "Answer in two or three sentences."
    user = ANSWER_USER.format(
        passage=passage, target_phrase=target_phrase, question=question_block(situation, options), instruction=instruction
    )
    return [("system", ANSWER_SYSTEM), ("human", user)]
