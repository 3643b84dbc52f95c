"""The persona graph: seed personas -> one persona agent each, in parallel -> the mode's moderator.

`graph` is compiled at import so `langgraph.json` can serve it.
"""

from __future__ import annotations

import inspect
from functools import cache

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Overwrite, Send

from ethos.agents.models import Decoding
from ethos.agents.models.base import labelled, recording
from ethos.agents.moderators import moderators
from ethos.agents.persona_agent import persona_agents
from ethos.errors import EthosError
from ethos.graph.context import Context
from ethos.graph.state import PersonaGraphState, PersonaRequest, PersonaTask, validate_request
from ethos.personas.format import MIN_TOKENS_PER_PERSONA, persona_grammar, persona_json_schema
from ethos.personas.library import load_library
from ethos.personas.prompts import persona_messages
from ethos.personas.selection import build_persona_set
from ethos.personas.schema import Persona


def _context(runtime: Runtime[Context]) -> Context:
    return runtime.context or Context()


def seed_personas(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
    ctx = _context(runtime)
    request = validate_request(state)
    if ctx.personas != "library" and ctx.persona_tokens < ctx.n_personas * MIN_TOKENS_PER_PERSONA:
        raise EthosError(
            f"--persona-tokens {ctx.persona_tokens} cannot hold --n-personas {ctx.n_personas} personas: "
            f"give at least {ctx.n_personas * MIN_TOKENS_PER_PERSONA} tokens, or ask for fewer personas"
        )
    generator = ctx.model(ctx.generator_model)
    messages = persona_messages(
        request["situation"], ctx.n_personas, options=request["options"], target=request["target"],
        attribute=request["attribute"],
    )
    grammar, schema = persona_grammar(ctx.n_personas), persona_json_schema(ctx.n_personas)

    def complete(attempt: int) -> tuple[str, str | None]:
        return generator.complete_constrained(
            messages,
            grammar=grammar,
            json_schema=schema,
            role="persona_generator",
            max_tokens=ctx.persona_tokens,
            temperature=ctx.persona_temperature,
            seed=ctx.seed + attempt,  # a retry must not repeat the same sample
        )

    with recording() as exchanges:
        personas, report = build_persona_set(
            ctx.personas,
            complete,
            n=ctx.n_personas,
            attempts=ctx.persona_attempts,
            library=load_library(ctx.persona_files),
            situation=request["situation"],
            target=request["target"],
            attribute=request["attribute"],
            top_up_library=not ctx.ablated("no-top-up"),
            add_target_holder=not ctx.ablated("no-target-persona"),
        )
    return {
        **request,
        "personas": [p.model_dump() for p in personas],
        "persona_report": report.as_dict(),
        "ablations": list(ctx.ablations),  # moderators read theirs from the state
        # A run starts its comments and conversation afresh: on a thread (a checkpointer, LangGraph
        # Studio, `langgraph dev`) the reducers would otherwise add this run's to the last run's.
        "comments": Overwrite([]),
        "conversation": Overwrite([{"node": "seed_personas", **e} for e in exchanges]),
    }


def spawn_persona_agents(state: PersonaGraphState) -> list[Send]:
    return [
        Send("persona_agent", PersonaTask(index=i, persona=p, situation=state["situation"], options=state["options"],
                                          target=state.get("target"), attribute=state.get("attribute")))
        for i, p in enumerate(state["personas"])
    ]


def persona_agent(task: PersonaTask, runtime: Runtime[Context]) -> dict:
    ctx = _context(runtime)
    agent = persona_agents()[ctx.agent_variant]
    conditioning = {k: task.get(k) for k in _conditioning_parameters(agent)}
    with recording() as exchanges, labelled(ethos_persona_index=task["index"], ethos_persona=task["persona"]["name"]):
        comment = agent(
            ctx.model(ctx.agent_model),
            Persona(**task["persona"]),
            situation=task["situation"],
            options=task["options"],
            decoding=Decoding(ctx.comment_tokens, ctx.comment_temperature, ctx.seed + task["index"]),
            **conditioning,
        )
    return {
        "comments": [{"index": task["index"], **comment}],
        "conversation": [{"node": "persona_agent", "persona_index": task["index"], **e} for e in exchanges],
    }


@cache
def _conditioning_parameters(agent) -> tuple[str, ...]:
    """The steering target and population, for agent variants that take them (older plugins do not)."""
    return tuple(k for k in ("target", "attribute") if k in inspect.signature(agent).parameters)


def route_to_moderator(state: PersonaGraphState) -> str:
    return f"{state['mode']}_moderator"


def _moderator_node(mode: str):
    moderator = moderators()[mode]

    def moderate(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
        ctx = _context(runtime)
        comments = sorted(state["comments"], key=lambda c: c["index"])
        with recording() as exchanges:
            result = moderator.moderate(
                state,
                comments,
                ctx.model(ctx.moderator_model),
                Decoding(ctx.moderator_tokens, ctx.moderator_temperature, ctx.seed),
                ctx.samples,
            )
        return {
            "result": {"mode": mode, **result},
            "conversation": [{"node": f"{mode}_moderator", **e} for e in exchanges],
        }

    moderate.__name__ = f"{mode}_moderator"
    return moderate


def build_graph():
    builder = StateGraph(PersonaGraphState, context_schema=Context, input_schema=PersonaRequest)
    builder.add_node("seed_personas", seed_personas)
    builder.add_node("persona_agent", persona_agent)
    builder.add_edge(START, "seed_personas")
    builder.add_conditional_edges("seed_personas", spawn_persona_agents, ["persona_agent"])
    moderator_nodes = []
    for mode in moderators():
        builder.add_node(f"{mode}_moderator", _moderator_node(mode))
        builder.add_edge(f"{mode}_moderator", END)
        moderator_nodes.append(f"{mode}_moderator")
    builder.add_conditional_edges("persona_agent", route_to_moderator, moderator_nodes)
    return builder


graph = build_graph().compile(name="ethos")
