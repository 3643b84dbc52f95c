"""Every evaluated method as a configuration of the one persona graph (`builder.py`).

A method says which node seeds the voices, which agent writes each voice's comment, and what
combines the comments: the mode's moderator, or the main model answering on its own. Since every
method is a run of the same compiled graph, checkpoints, traces, the model-call cache, batched
decoding and LangGraph servers serve the baselines as they serve EthosAgents.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    voices: str | None  # the node that seeds the voices; None: no voices, the main model answers at once
    agent: str | None  # the node that writes one voice's comment, run in parallel (Send) per voice
    combine: str  # "moderator" (the mode's moderator) or "answer" (the main model answers, with the comment as a passage)
    instruct: bool = False  # the prompting baseline's one steering instruction
    about: str = ""


METHODS = {
    "vanilla": Method(None, None, "answer", about="the main model answers the question as it is"),
    "prompting": Method(None, None, "answer", instruct=True, about="the same, with one steering instruction in front"),
    "moe": Method(
        "route_expert",
        "community_agent",
        "answer",
        about="a router picks one community agent; the main model answers with its message as a passage",
    ),
    "modplural": Method(
        "seed_communities",
        "community_agent",
        "moderator",
        about="six community agents comment; the mode's moderator combines them (Modular Pluralism)",
    ),
    "ethosagents": Method(
        "seed_personas",
        "persona_agent",
        "moderator",
        about="generated personas comment; the mode's moderator combines them (the published method)",
    ),
}

STAND_IN_NOTE = "modplural and moe use prompted community agents as a stand-in for Modular Pluralism's fine-tuned community models"
