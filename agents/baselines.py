"""The baselines' roles, as graph nodes call them: a community agent, MoE's router and the main
model answering on its own (vanilla, prompting, and MoE after its expert wrote).

Community agents stand in for Modular Pluralism's fine-tuned community models (see
`baseline_prompts.py`); they choose their option exactly as persona agents do, so the comparison
stays fair.
"""

from __future__ import annotations

from ethos.agents.baseline_prompts import COMMUNITIES, community_messages, direct_messages, expert_choice_messages, passage_messages, prompting_instruction
from ethos.agents.models.base import Backend, Decoding, OptionDistribution
from ethos.agents.persona_agent import write_with_choice
from ethos.agents.prompts import option_labels


def community_comment(backend: Backend, community: dict, request: dict, decoding: Decoding) -> dict:
    """One community's message as `{persona, text, choice, choice_source}`."""
    comment = write_with_choice(backend, community_messages(community["description"], request), request["options"],
                                role="community_agent", decoding=decoding)
    return {"persona": community["name"], **comment}


def route_expert(backend: Backend, request: dict, *, samples: int, seed: int) -> tuple[dict, OptionDistribution]:
    """MoE's router: the community best placed to inform the answer, and the router's distribution."""
    labels = option_labels(len(COMMUNITIES))
    router = backend.option_distribution(expert_choice_messages(request), labels, role="moe_router", samples=samples, seed=seed)
    return COMMUNITIES[labels.index(router.pick(seed))], router  # a uniform fallback picks at random


def direct_answer(backend: Backend, request: dict, *, passage: str | None, instruct: bool, decoding: Decoding, samples: int) -> dict:
    """The main model's own answer: free text (`response`) for an Overton or open question, else the
    option distribution (`distribution`, `choice`). `passage` is an expert's message to answer with
    (MoE); `instruct` puts the prompting baseline's instruction in front."""
    if passage is not None:
        messages = passage_messages(request, passage)
    else:
        messages = direct_messages(request, prompting_instruction(request) if instruct else "")
    if request["mode"] == "overton" or not request["options"]:
        text = backend.complete(messages, role="main_model", max_tokens=decoding.max_tokens, temperature=decoding.temperature, seed=decoding.seed)
        return {"response": text.strip()}
    dist = backend.option_distribution(messages, option_labels(len(request["options"])), role="main_model", samples=samples, seed=decoding.seed)
    return {"distribution": dist.as_dict(), "choice": dist.pick(decoding.derive("tie").seed)}
