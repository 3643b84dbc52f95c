"""Signs that a model's output is not usable, counted beside the fallbacks: a persona that copies
the prompt's words instead of naming a perspective, empty slots, texts caught in a loop, and texts
cut off by their token budget. A small model's output can be well-formed and still say nothing."""

from __future__ import annotations

import re
from collections import Counter

from ethos.personas.schema import SLOT_LABELS, SLOTS, normalise

# Words of the prompts themselves: a persona named "Situation" or a slot reading "core value" copied them.
PROMPT_WORDS = {
    normalise(w) for w in ("situation", "question", "options", "answer", "name", "perspective", "persona", *SLOT_LABELS.values())
}
FILLER = {"the", "a", "an", "to", "of", "and", "or", "in", "on", "for", "with", "is", "be"}
ENDINGS = (".", "!", "?", '"', "'", ")", "”", "’", "…", "*")


SIGNS = ("copied_personas", "empty_slots", "looping_texts", "truncated_texts")


def copies_prompt(persona: dict) -> bool:
    return normalise(str(persona.get("name", ""))) in PROMPT_WORDS or any(
        normalise(str(persona.get(slot, ""))) in PROMPT_WORDS for slot in SLOTS
    )


def empty_slots(persona: dict) -> int:
    """Slots that hold only filler words ("the", "to"), or repeat another slot of the same persona."""
    values = [normalise(str(persona.get(slot, ""))) for slot in SLOTS]
    filler = sum(not set(v.split()) - FILLER for v in values)
    return filler + sum(n - 1 for v, n in Counter(values).items() if v and n > 1 and set(v.split()) - FILLER)


def loops(text: str, n: int = 4) -> bool:
    """A text that says one thing over and over: some run of `n` words occurs three times or more."""
    words = re.findall(r"\w+", text.lower())
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return bool(grams) and max(grams.values()) >= 3


# Special tokens a reply may end with where they are kept (the reference's decoding): `<|im_end|>`, `</s>`, `<eos>`.
END_TOKENS = re.compile(r"(?:<\|?/?[A-Za-z_][\w.-]{0,40}\|?>\s*)+$")


def truncated(text: str) -> bool:
    """A text of some length that stops mid-sentence: its budget ran out."""
    text = END_TOKENS.sub("", text.strip()).strip()
    return len(text.split()) >= 8 and not text.endswith(ENDINGS)


def quality_signs(state: dict) -> dict[str, int]:
    personas = [p for p in state.get("personas") or [] if p.get("source") in ("constrained", "parsed")]  # generated ones
    texts = [c.get("text") or "" for c in state.get("comments") or []]
    result = state.get("result") or {}
    texts += [result[k] for k in ("response", "answer") if isinstance(result.get(k), str)]
    return {
        "copied_personas": sum(copies_prompt(p) for p in personas),
        "empty_slots": sum(empty_slots(p) for p in personas),
        "looping_texts": sum(loops(t) for t in texts),
        "truncated_texts": sum(truncated(t) for t in texts),
    }
