"""The persona graph's wiring: seed personas -> one persona agent each, in parallel -> the mode's
moderator (the nodes are in `nodes.py`).

The baselines are configurations of the same graph (`methods.py`, the context's `method`): ModPlural
seeds six community voices instead of personas, MoE's router node picks one of them, and vanilla and
prompting go straight to the `answer` node, where the main model answers on its own.

`graph` is compiled at import so `langgraph.json` can serve it.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from ethos.agents.moderators import moderators
from ethos.graph.context import Context
from ethos.graph.nodes import (
    answer,
    community_agent,
    moderator_node,
    persona_agent,
    route_comments,
    route_start,
    route_to_expert,
    seed_communities,
    seed_personas,
    spawn_agents,
    summarise,
)
from ethos.graph.state import PersonaGraphState, PersonaRequest


def build_graph(context_schema: type = Context, *, summary: bool = False):
    """The graph's wiring; `context_schema` is what a run's context is read as, and `summary` ends
    the run with `summarise` (served.py sets both)."""
    builder = StateGraph(PersonaGraphState, context_schema=context_schema, input_schema=PersonaRequest)
    voices = {"seed_personas": seed_personas, "seed_communities": seed_communities, "route_expert": route_to_expert}
    agents = {"persona_agent": persona_agent, "community_agent": community_agent}
    for name, node in {**voices, **agents, "answer": answer}.items():
        builder.add_node(name, node)
    builder.add_conditional_edges(START, route_start, [*voices, "answer"])
    for name in voices:
        builder.add_conditional_edges(name, spawn_agents, list(agents))
    moderator_nodes = []
    for mode in moderators():
        builder.add_node(f"{mode}_moderator", moderator_node(mode))
        moderator_nodes.append(f"{mode}_moderator")
    for name in agents:
        builder.add_conditional_edges(name, route_comments, [*moderator_nodes, "answer"])
    last = END
    if summary:
        builder.add_node("summarise", summarise)
        builder.add_edge("summarise", END)
        last = "summarise"
    for name in [*moderator_nodes, "answer"]:
        builder.add_edge(name, last)
    return builder


graph = build_graph().compile(name="ethos")
