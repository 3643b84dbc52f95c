"""The persona agent: drafts one moral comment from one persona's perspective.

Variants are registered in the `ethosagents.persona_agents` entry point group (this module's
`draft_comment` is `default`) and chosen with `--agent-variant`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from ethos.agents.models.base import Backend, Decoding, leading_label
from ethos.agents.prompts import comment_messages, option_labels
from ethos.errors import EthosError
from ethos.personas.schema import Persona
from ethos.plugins import PERSONA_AGENTS, load_group

# "As a nurse, ..." / "As the patient's daughter: ..." openers repeat the persona, not the argument.
_OPENER = re.compile(r"^\s*As\s+(?:a|an|the|someone|one|my|{name})\b[^,.:;\n]{0,120}[,:;]\s*", re.IGNORECASE)
_CHOICE = re.compile(r"^\W*[A-Z]\b[.):]?\s*")


def strip_opener(text: str, persona_name: str = "") -> str:
    pattern = _OPENER.pattern.replace("{name}", re.escape(persona_name) if persona_name else "(?!)")
    stripped = re.sub(pattern, "", text.strip(), count=1, flags=re.IGNORECASE)
    return stripped[:1].upper() + stripped[1:] if stripped else text.strip()


def draft_comment(
    backend: Backend,
    persona: Persona,
    *,
    situation: str,
    options: list[str],
    decoding: Decoding,
) -> dict:
    """The comment as `{persona, text, choice}`; `choice` is the option letter it opens with, if any."""
    raw = backend.complete(
        comment_messages(persona, situation, options),
        role="persona_agent",
        max_tokens=decoding.max_tokens,
        temperature=decoding.temperature,
        seed=decoding.seed,
    )
    choice = leading_label(raw, option_labels(len(options))) if options else None
    body = _CHOICE.sub("", raw.strip(), count=1) if choice else raw
    body = strip_opener(body, persona.name)
    return {
        "persona": persona.name,
        "text": f"{choice}. {body}" if choice else body,
        "choice": choice,
    }


@cache
def persona_agents() -> dict[str, Callable[..., dict]]:
    """Every registered persona-agent variant by name (`default` is `draft_comment`)."""
    found = load_group(PERSONA_AGENTS)
    for name, agent in found.items():
        if not callable(agent):
            raise EthosError(f"persona agent plugin '{name}' is not callable")
    return found
