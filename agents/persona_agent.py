"""The persona agent: drafts one moral comment from one persona's perspective.

On a multiple-choice item the comment opens with an option the model itself chose, on every
backend: the letter is drawn from the model's own first-token distribution over the option
letters (at the comment's temperature and seed), then the model continues the comment after
`X. `. That reuses the exact option probabilities every backend already computes (sampled where an
endpoint has no logprobs), costs one short call whose prompt the next call reuses, and needs no
grammar engine. The comment text never decides the letter, so a reply such as "A patient
should ..." can no longer be read as a vote for A.

Variants are registered in the `ethosagents.persona_agents` entry point group (this module's
`draft_comment` is `default`) and chosen with `--agent-variant`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from ethos.agents.models.base import Backend, Decoding
from ethos.agents.models.options import strip_leading_label
from ethos.agents.models.recording import Messages
from ethos.agents.prompts import comment_messages, option_labels
from ethos.errors import EthosError
from ethos.personas.schema import Persona
from ethos.plugins import PERSONA_AGENTS, load_group

# "As a nurse, ..." / "As the patient's daughter: ..." openers repeat the persona, not the argument.
_OPENER = re.compile(r"^\s*As\s+(?:a|an|the|someone|one|my|{name})\b[^,.:;\n]{0,120}[,:;]\s*", re.IGNORECASE)


def strip_opener(text: str, persona_name: str = "") -> str:
    pattern = _OPENER.pattern.replace("{name}", re.escape(persona_name) if persona_name else "(?!)")
    stripped = re.sub(pattern, "", text.strip(), count=1, flags=re.IGNORECASE)
    return stripped[:1].upper() + stripped[1:] if stripped else text.strip()


def write_with_choice(backend: Backend, messages: Messages, options: list[str], *, role: str, decoding: Decoding, samples: int = 1) -> dict:
    """A comment as `{text, choice, choice_source}`; on a multiple-choice item it opens with `X. `,
    the option drawn from the model's first-token distribution (`choice_source` says how that
    distribution was obtained; "uniform_fallback" is a counted fallback)."""
    if not options:
        text = backend.complete(messages, role=role, max_tokens=decoding.max_tokens, temperature=decoding.temperature, seed=decoding.seed)
        return {"text": text.strip(), "choice": None, "choice_source": None}
    # On llama.cpp the continuation reuses the choice call's prompt from the KV cache.
    dist = backend.option_distribution(messages, option_labels(len(options)), role=f"{role}_choice", samples=samples, seed=decoding.seed)
    choice = dist.sample(decoding.temperature, decoding.derive("choice").seed)
    text = backend.complete(
        messages, role=role, max_tokens=decoding.max_tokens, temperature=decoding.temperature, seed=decoding.seed, prefix=f"{choice}."
    )
    return {"text": text.strip(), "choice": choice, "choice_source": dist.source}


def draft_comment(
    backend: Backend,
    persona: Persona,
    *,
    situation: str,
    options: list[str],
    decoding: Decoding,
    target: str | None = None,
    attribute: str | None = None,
) -> dict:
    """The comment as `{persona, text, choice, choice_source}`; `choice` is the option letter it opens with."""
    messages = comment_messages(persona, situation, options, target=target, attribute=attribute)
    comment = write_with_choice(backend, messages, options, role="persona_agent", decoding=decoding)
    body = strip_opener(strip_leading_label(comment["text"]) if comment["choice"] else comment["text"], persona.name)
    return {"persona": persona.name, **comment, "text": f"{comment['choice']}. {body}" if comment["choice"] else body}


@cache
def persona_agents() -> dict[str, Callable[..., dict]]:
    """Every registered persona-agent variant by name (`default` is `draft_comment`)."""
    found = load_group(PERSONA_AGENTS)
    for name, agent in found.items():
        if not callable(agent):
            raise EthosError(f"persona agent plugin '{name}' is not callable")
    return found
