"""The persona graph's nodes and routes: seed the voices (personas, community agents, or the MoE
router's one), spawn one agent per voice, and the answer or the mode's moderator at the end.
`builder.py` wires them."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from functools import cache

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Overwrite, Send

from ethos.agents.baseline_prompts import COMMUNITIES
from ethos.agents.baselines import community_comment, direct_answer, route_expert
from ethos.agents.models import Decoding
from ethos.agents.models.parallel import parallel_limit
from ethos.agents.models.recording import Exchange, labelled, recording
from ethos.agents.moderators import moderators
from ethos.agents.persona_agent import persona_agents
from ethos.agents.seeds import derive_seed, request_key
from ethos.errors import EthosError
from ethos.graph.context import Context
from ethos.graph.methods import METHODS, Method
from ethos.graph.state import PersonaGraphState, PersonaTask, count_fallbacks, validate_request
from ethos.graph.tokens import token_summary, usage
from ethos.personas.format import MIN_TOKENS_PER_PERSONA, persona_grammar, persona_json_schema
from ethos.personas.generation import Ask
from ethos.personas.library import load_library
from ethos.personas.schema import Persona
from ethos.personas.seed_prompt import persona_messages
from ethos.personas.selection import build_persona_set

# How many agents may call their model at once (`ethos run --max-concurrency`). LangGraph's own
# `max_concurrency` also sizes the pool that saves finished tasks' writes, so a finished comment
# would wait for the agents queued before it and be lost to a crash; a semaphore limits only the agents.
_agent_slots: ContextVar[threading.Semaphore | None] = ContextVar("ethos_agent_slots", default=None)


@contextmanager
def agents_at_once(limit: int | None) -> Iterator[None]:
    """At most `limit` agents write at once in runs started inside the block (None: no limit)."""
    token = _agent_slots.set(threading.BoundedSemaphore(limit) if limit else None)
    try:
        with parallel_limit(limit):  # the moderator's parallel calls too
            yield
    finally:
        _agent_slots.reset(token)


@contextmanager
def _agent_turn(task: PersonaTask) -> Iterator[list[Exchange]]:
    """One agent's turn: a slot under --max-concurrency, its calls labelled by its voice (for
    streaming), and its model exchanges recorded."""
    with (
        _agent_slots.get() or nullcontext(),
        recording() as exchanges,
        labelled(ethos_persona_index=task["index"], ethos_persona=task["persona"]["name"]),
    ):
        yield exchanges


def _context(runtime: Runtime[Context]) -> Context:
    ctx = runtime.context
    if ctx is None:
        return Context()
    return ctx if isinstance(ctx, Context) else ctx.context()  # a served graph's client settings (served.py)


def _method(runtime: Runtime[Context]) -> Method:
    return METHODS[_context(runtime).method]


def call_seed(ctx: Context, request: dict, *parts) -> int:
    """The seed of one sampled call of this request: from the run's seed, the request and `parts`
    (the role, the persona index, the attempt), so no two items or slots share a random stream."""
    return derive_seed(ctx.seed, request_key(request), *parts)


def _calls(ctx: Context, exchanges: list[Exchange]) -> dict:
    """What a node writes of its model calls: their token counts, and the calls themselves only
    when the run keeps its conversation in the state (`conversation_in_state`; the run's record
    and trace have it either way)."""
    stored = [e.as_dict() for e in exchanges]
    return {"tokens": token_summary(stored), **({"conversation": stored} if ctx.conversation_in_state else {})}


def _first_update(request: dict, ctx: Context, exchanges: list[Exchange], **state) -> dict:
    """What a run's first node writes: the request and a fresh state. A run starts its comments,
    tokens and conversation afresh: on a thread (a checkpointer, LangGraph Studio, `langgraph dev`)
    the reducers would otherwise add this run's to the last run's, and the last run's personas would stay."""
    return {
        **request,
        "method": ctx.method,
        "personas": [],
        "persona_report": {},
        "router": {},
        "result": {},
        "ablations": list(ctx.ablations),  # moderators read theirs from the state
        "choices": ctx.ethos_choices(),  # and the protocol's choices
        "comments": Overwrite([]),
        **{key: Overwrite(value) for key, value in _calls(ctx, exchanges).items()},
        **state,
    }


def route_start(state: PersonaGraphState, runtime: Runtime[Context]) -> str:
    return _method(runtime).voices or "answer"


def seed_personas(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
    ctx = _context(runtime)
    request = validate_request(state)
    if ctx.persona_source != "library" and ctx.persona_tokens < ctx.n_personas * MIN_TOKENS_PER_PERSONA:
        raise EthosError(
            f"--persona-tokens {ctx.persona_tokens} cannot hold --n-personas {ctx.n_personas} personas: "
            f"give at least {ctx.n_personas * MIN_TOKENS_PER_PERSONA} tokens, or ask for fewer personas"
        )
    generator = ctx.model(ctx.generator_model)

    def complete(ask: Ask) -> tuple[str, str | None]:
        # --persona-followup full: every request asks for the whole set; missing: only for what is missing
        n, taken = (ask.missing, ask.taken) if ctx.persona_followup == "missing" else (ctx.n_personas, ())
        return generator.complete_constrained(
            persona_messages(
                request["situation"], n, options=request["options"], target=request["target"], attribute=request["attribute"], taken=taken
            ),
            grammar=persona_grammar(n),
            json_schema=persona_json_schema(n),
            role="persona_generator",
            max_tokens=ctx.persona_tokens,
            temperature=ctx.persona_temperature,
            seed=call_seed(ctx, request, "persona_generator", ask.attempt),  # a retry must not repeat the same sample
            repeat_penalty=ctx.persona_repeat_penalty,  # llama.cpp backends: the 135M model repeats names and lines
        )

    with recording() as exchanges:
        personas, report = build_persona_set(
            ctx.persona_source,
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
    return _first_update(request, ctx, exchanges, personas=[p.model_dump() for p in personas], persona_report=report.as_dict())


def seed_communities(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
    """ModPlural's voices: the six community agents."""
    return _first_update(validate_request(state), _context(runtime), [], personas=COMMUNITIES)


def route_to_expert(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
    """MoE's router: the main model picks the one community agent that writes."""
    ctx, request = _context(runtime), validate_request(state)
    with recording() as exchanges:
        chosen, router = route_expert(
            ctx.model(ctx.moderator_model),
            request,
            samples=ctx.samples,
            seed=call_seed(ctx, request, "moe_router"),
            choices=ctx.ethos_choices(),
        )
    return _first_update(request, ctx, exchanges, personas=[chosen], router=router)


def spawn_agents(state: PersonaGraphState, runtime: Runtime[Context]) -> list[Send]:
    """One agent per voice, in parallel: persona agents, or the baselines' community agents."""
    node = _method(runtime).agent
    return [
        Send(
            node,
            PersonaTask(
                index=i,
                persona=p,
                situation=state["situation"],
                mode=state["mode"],
                options=state["options"],
                target=state.get("target"),
                attribute=state.get("attribute"),
                item_text=state.get("item_text"),
                item_kind=state.get("item_kind"),
                choices=state.get("choices") or [],
            ),
        )
        for i, p in enumerate(state["personas"])
    ]


def _comment_update(ctx: Context, task: PersonaTask, comment: dict, exchanges: list[Exchange]) -> dict:
    return {"comments": [{"index": task["index"], **comment}], **_calls(ctx, exchanges)}


def persona_agent(task: PersonaTask, runtime: Runtime[Context]) -> dict:
    ctx = _context(runtime)
    agent = persona_agents()[ctx.agent_variant]
    conditioning = {k: task.get(k) for k in _conditioning_parameters(agent)}
    with _agent_turn(task) as exchanges:
        comment = agent(
            ctx.model(ctx.agent_model),
            Persona(**task["persona"]),
            situation=task["situation"],
            options=task["options"],
            decoding=Decoding(ctx.comment_tokens, ctx.comment_temperature, call_seed(ctx, task, "persona_agent", task["index"])),
            **conditioning,
        )
    return _comment_update(ctx, task, comment, exchanges)


def community_agent(task: PersonaTask, runtime: Runtime[Context]) -> dict:
    ctx = _context(runtime)
    with _agent_turn(task) as exchanges:
        # seeded by the community, not its place: MoE and ModPlural share one message per item and community
        comment = community_comment(
            ctx.model(ctx.agent_model),
            task["persona"],
            task,
            Decoding(ctx.comment_tokens, ctx.comment_temperature, call_seed(ctx, task, "community_agent", task["persona"]["name"])),
        )
    return _comment_update(ctx, task, comment, exchanges)


@cache
def _conditioning_parameters(agent) -> tuple[str, ...]:
    """The steering target and population, for agent variants that take them (older plugins do not)."""
    return tuple(k for k in ("target", "attribute") if k in inspect.signature(agent).parameters)


def route_comments(state: PersonaGraphState, runtime: Runtime[Context]) -> str:
    return "answer" if _method(runtime).combine == "answer" else f"{state['mode']}_moderator"


def answer(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
    """The main model answers on its own: at once (vanilla, prompting), or with the expert's message (MoE)."""
    ctx, method = _context(runtime), _method(runtime)
    request = validate_request(state)
    comments = sorted(state.get("comments") or [], key=lambda c: c["index"]) if method.voices else []
    with recording() as exchanges:
        result = direct_answer(
            ctx.model(ctx.moderator_model),
            request,
            passage=comments[0]["text"] if comments else None,
            instruct=method.instruct,
            decoding=Decoding(ctx.moderator_tokens, ctx.moderator_temperature, call_seed(ctx, request, "answer")),
            samples=ctx.samples,
            choices=ctx.ethos_choices(),
        )
    result = {"mode": request["mode"], "answered_by": "main_model", **result}
    if not method.voices:  # the run's first node
        return _first_update(request, ctx, exchanges, result=result)
    return {"result": result, **_calls(ctx, exchanges)}


def moderator_node(mode: str):
    moderator = moderators()[mode]

    def moderate(state: PersonaGraphState, runtime: Runtime[Context]) -> dict:
        ctx = _context(runtime)
        comments = sorted(state["comments"], key=lambda c: c["index"])
        with recording() as exchanges:
            result = moderator.moderate(
                state,
                comments,
                ctx.model(ctx.moderator_model),
                Decoding(ctx.moderator_tokens, ctx.moderator_temperature, call_seed(ctx, state, f"{mode}_moderator")),
                ctx.samples,
            )
        return {"result": {"mode": mode, **result}, **_calls(ctx, exchanges)}

    moderate.__name__ = f"{mode}_moderator"
    return moderate


def summarise(state: PersonaGraphState, config: RunnableConfig) -> dict:
    """A served run's last step: the run id, usage and fallbacks that `ethos run --json` prints,
    so that a client of the server gets them in the state it reads back."""

    ids = {**(config.get("configurable") or {}), **(config.get("metadata") or {})}
    return {
        "run": {
            "run_id": str(ids["run_id"]) if ids.get("run_id") else None,
            "thread_id": str(ids["thread_id"]) if ids.get("thread_id") else None,
            "fallbacks": count_fallbacks(state),
            "usage": usage(state.get("tokens") or token_summary([])),
        }
    }
