"""The persona graph's state: a narrow request (the input) and the full state it grows into."""

from __future__ import annotations

import operator
from typing import Annotated, NotRequired, TypedDict

from ethos.errors import EthosError
from ethos.graph.tokens import merge_tokens


class PersonaRequest(TypedDict):
    situation: str  # a health situation, or a survey question's text
    mode: str  # "overton", "steerable" or "distributional"
    options: NotRequired[list[str]]  # answer options of a multiple-choice item
    target: NotRequired[str | None]  # steerable: a value/right/duty, or a group such as POLPARTY_Democrat
    attribute: NotRequired[str | None]  # distributional: the population, e.g. a country
    item_text: NotRequired[str | None]  # a VITAL item's own `input` or `question`, which the reference protocol sends as it is
    item_kind: NotRequired[str | None]  # the item's VITAL task, as its task says (ITEM_KINDS): which reference prompts it gets


# The VITAL item kinds the reference protocol words its prompts for (agents/reference.py).
ITEM_KINDS = ("overton", "steerable_vk", "opinionqa", "globalopinionqa", "moralchoice")


class PersonaTask(TypedDict):
    """What one persona agent receives through `Send`."""

    index: int
    persona: dict
    situation: str
    mode: NotRequired[str]
    options: list[str]
    target: NotRequired[str | None]  # the comments see the steering target and the population too
    attribute: NotRequired[str | None]
    item_text: NotRequired[str | None]
    item_kind: NotRequired[str | None]
    choices: NotRequired[list[str]]  # this project's choices in effect (graph/ablations.py ETHOS_CHOICES)


class PersonaGraphState(PersonaRequest):
    method: str  # the configuration that ran (graph/methods.py): ethosagents, or a baseline
    personas: list[dict]  # the voices: personas, or a baseline's community agents
    persona_report: dict
    ablations: list[str]  # parts of the method switched off for this run (graph/ablations.py ABLATIONS)
    choices: list[str]  # this project's choices in effect; none: Modular Pluralism's protocol (agents/reference.py)
    comments: Annotated[list[dict], operator.add]  # one per persona agent, gathered in Send order
    router: dict  # MoE: the router's distribution over the community agents
    result: dict
    tokens: Annotated[dict, merge_tokens]  # the run's calls and tokens so far, by role and by model (tokens.token_summary)
    # Every model exchange, only when the run asks for it (`conversation_in_state`: LangGraph Studio
    # then shows it, and every checkpoint holds it); the run's record and trace have it either way.
    conversation: Annotated[list[dict], operator.add]
    run: NotRequired[dict]  # a served run only: run id, usage and fallbacks (graph/builder.py summarise)


def validate_request(request: dict) -> dict:
    """The request with defaults filled in, or an EthosError naming what is wrong."""
    if not isinstance(request, dict):
        raise EthosError(f"a request must be an object with a 'situation', got {type(request).__name__}")
    for key in ("situation", "mode", "target", "attribute", "item_text", "item_kind"):
        if request.get(key) is not None and not isinstance(request[key], str):
            raise EthosError(f"request field '{key}' must be text, got {type(request[key]).__name__}")
    given = request.get("options") or []
    if not isinstance(given, list) or not all(isinstance(o, str) for o in given):
        raise EthosError("request field 'options' must be a list of strings")
    situation = (request.get("situation") or "").strip()
    if not situation:
        raise EthosError("the situation or question text is empty")
    mode = request.get("mode") or "overton"
    from ethos.agents.moderators import moderators  # imported here: keeps `ethos --help` light

    if mode not in moderators():
        raise EthosError(f"unknown mode '{mode}': choose one of {', '.join(moderators())}")
    options = [o.strip() for o in given]
    if any(not o for o in options):
        raise EthosError("an option is empty")
    if len(options) > 26:
        raise EthosError(f"at most 26 options are supported, got {len(options)}")
    target = (request.get("target") or "").strip() or None
    if mode == "steerable" and not target:
        raise EthosError("steerable mode needs a target value, right, duty or group (--target)")
    if mode == "distributional" and not options:  # a single option is allowed: its distribution is [1.0]
        raise EthosError("distributional mode needs the answer options (--option, once per option)")
    attribute = (request.get("attribute") or "").strip() or None
    if request.get("item_kind") and request["item_kind"] not in ITEM_KINDS:
        raise EthosError(f"request field 'item_kind': unknown {request['item_kind'][:40]!r}: one of {', '.join(ITEM_KINDS)}")
    checked = {"situation": situation, "mode": mode, "options": options, "target": target, "attribute": attribute}
    return checked | {key: request[key] for key in ("item_text", "item_kind") if request.get(key)}


def count_fallbacks(state: dict) -> dict:
    """Every place a run fell back from what the method asks for, counted."""
    result = state.get("result") or {}
    distributions = [*(result.get("per_persona") or [])]
    for key in ("selection", "distribution"):
        if isinstance(result.get(key), dict):
            distributions.append(result[key])
    options = state.get("options") or []
    report = state.get("persona_report") or {}
    from ethos.graph.quality import quality_signs

    return {
        "library_personas": report.get("topped_up", 0),
        "target_personas_added": report.get("target_added", 0),
        "parsed_personas": report.get("parsed", 0),
        # The reference's community messages are not asked to choose (choice_source "not_asked").
        "comments_without_choice": sum(
            1 for c in state.get("comments", []) if options and not c.get("choice") and c.get("choice_source") != "not_asked"
        ),
        "uniform_choices": sum(1 for c in state.get("comments", []) if c.get("choice_source") == "uniform_fallback"),
        "uniform_distributions": sum(1 for d in distributions if d.get("source") == "uniform_fallback"),
        "sampled_distributions": sum(1 for d in distributions if d.get("source") == "sampling"),
        # The reference protocol: an endpoint gave no logprobs (its fixed A-D stand-in), or fewer than 10 candidates.
        "stand_in_distributions": sum(1 for d in distributions if d.get("source") == "reference_stand_in"),
        "capped_candidates": sum(1 for d in distributions if d.get("capped")),
        "uniform_router": int((state.get("router") or {}).get("source") == "uniform_fallback"),  # MoE
        # The reference protocol: a reply that named no comment or expert, so one was drawn at random.
        "random_selections": int((result.get("selection") or {}).get("source") == "random_fallback")
        + int((state.get("router") or {}).get("source") == "random_fallback"),
        **quality_signs(state),  # not fallbacks, but signs of output that says little, counted beside them
    }


def fallback_warning(state: dict) -> str | None:
    """One line when fallbacks make up most of a result, so that nobody reads it as the method's."""
    report, fallbacks = state.get("persona_report") or {}, count_fallbacks(state)
    personas, comments = len(state.get("personas") or []), len(state.get("comments") or [])
    result = state.get("result") or {}
    distributions = len(result.get("per_persona") or [])
    found = []
    if report.get("requested") and fallbacks["library_personas"] * 2 > personas:
        found.append(f"{fallbacks['library_personas']} of {personas} personas are library top-ups, not generated")
    unchosen = fallbacks["comments_without_choice"] + fallbacks["uniform_choices"]
    if state.get("options") and unchosen * 2 > comments:
        found.append(f"{unchosen} of {comments} comments carry no choice of the model's own")
    if distributions and fallbacks["uniform_distributions"] * 2 > distributions:
        found.append(f"{fallbacks['uniform_distributions']} of {distributions} answer distributions are uniform fallbacks")
    broken = fallbacks["looping_texts"] + fallbacks["truncated_texts"]
    if comments and broken * 2 > comments:
        found.append(f"{broken} texts loop or stop mid-sentence")
    generated = report.get("generated") or 0
    if generated and fallbacks["copied_personas"] * 2 > generated:
        found.append(f"{fallbacks['copied_personas']} of {generated} generated personas copy the prompt's words")
    if not found:
        return None
    return (
        "; ".join(found) + ": the result says little about the model's own perspectives "
        "(a larger --model or --generator-model, more --persona-tokens, or --personas hybrid help)"
    )
