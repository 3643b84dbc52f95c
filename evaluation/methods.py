"""The evaluated methods, all on the same main model.

- vanilla: the question as it is.
- prompting: the question with one steering instruction in front.
- moe: the model picks one community expert, which writes a message; the model answers with it.
- modplural: all six community agents write messages; the moderator combines them
  (a stand-in: prompted communities instead of Modular Pluralism's fine-tuned ones).
- ethosagents: the persona graph.
ModPlural and EthosAgents share the moderators; they differ only in who writes the comments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache

from ethos.agents.models import Backend, Decoding, OptionDistribution
from ethos.agents.models.base import in_parallel
from ethos.agents.moderators import moderators
from ethos.agents.persona_agent import write_with_choice
from ethos.agents.prompts import option_labels
from ethos.errors import EthosError
from ethos.evaluation.prompts import (
    COMMUNITIES,
    community_messages,
    direct_messages,
    expert_choice_messages,
    passage_messages,
    prompting_instruction,
)
from ethos.evaluation.tasks import METHODS, Task
from ethos.graph.builder import graph
from ethos.graph.context import Context
from ethos.graph.state import count_fallbacks

STAND_IN_NOTE = "modplural and moe use prompted community agents as a stand-in for Modular Pluralism's fine-tuned community models"


@dataclass
class Prediction:
    output: str | None = None  # Overton text, or the steerable-VK answer letter (None: unparseable)
    distribution: list[float] | None = None  # option probabilities for distribution tasks
    fallbacks: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


def _from_distribution(task: Task, dist: OptionDistribution, detail: dict | None = None) -> Prediction:
    fallbacks = {"uniform_distributions": int(dist.source == "uniform_fallback"), "sampled_distributions": int(dist.source == "sampling")}
    if task.kind == "steerable_vk":
        # A uniform fallback carries no answer: it counts as unparseable, hence wrong.
        return Prediction(output=None if dist.source == "uniform_fallback" else dist.choice, fallbacks=fallbacks, detail=detail or {})
    return Prediction(distribution=dist.probs, fallbacks=fallbacks, detail=detail or {})


def _answer(task: Task, backend: Backend, request: dict, messages, ctx: Context, detail: dict | None = None) -> Prediction:
    if task.kind == "overton":
        text = backend.complete(messages, role="main_model", max_tokens=ctx.moderator_tokens, temperature=ctx.moderator_temperature, seed=ctx.seed)
        return Prediction(output=text.strip(), detail=detail or {})
    dist = backend.option_distribution(messages, option_labels(len(request["options"])), role="main_model", samples=ctx.samples, seed=ctx.seed)
    return _from_distribution(task, dist, detail)


def _community_comments(backend: Backend, request: dict, ctx: Context, communities=COMMUNITIES) -> list[dict]:
    def write(i_community):
        i, (name, description) = i_community
        # The same constrained option choice as the persona agents: the comparison stays fair.
        comment = write_with_choice(backend, community_messages(description, request), request["options"], role="community_agent",
                                    decoding=Decoding(ctx.comment_tokens, ctx.comment_temperature, ctx.seed + i))
        return {"index": i, "persona": name, **comment}

    return in_parallel(write, enumerate(communities), max_workers=len(communities))  # batched on llama.cpp and hf


def _from_moderator(task: Task, state: dict, detail: dict) -> Prediction:
    result = state["result"]
    fallbacks = count_fallbacks(state)
    if task.kind == "overton":
        return Prediction(output=result["response"], fallbacks=fallbacks, detail=detail)
    if result["mode"] == "steerable":
        answer = result["distribution"]
        if task.kind == "steerable_vk":
            output = None if answer["source"] == "uniform_fallback" else result["choice"]
            return Prediction(output=output, fallbacks=fallbacks, detail=detail)
        return Prediction(distribution=answer["probs"], fallbacks=fallbacks, detail=detail)
    return Prediction(distribution=result["distribution"], fallbacks=fallbacks, detail=detail)


@cache
def remote_graph(url: str):
    """The persona graph served by a LangGraph server (`langgraph dev`, LangGraph Server)."""
    from langgraph.pregel.remote import RemoteGraph

    return RemoteGraph("ethos", url=url)


def _run_graph(request: dict, ctx: Context, server: str | None) -> dict:
    if not server:
        return graph.invoke(request, context=ctx)
    import httpx

    try:
        return remote_graph(server).invoke(request, context=asdict(ctx))
    except httpx.TransportError as exc:
        raise EthosError(f"cannot reach the LangGraph server at {server} ({exc.__class__.__name__})") from exc


def predict(method: str, task: Task, request: dict, ctx: Context, server: str | None = None) -> Prediction:
    """One item's prediction; `server` runs the EthosAgents graph on a LangGraph server instead of in-process."""
    backend = ctx.model(ctx.moderator_model)
    if method == "vanilla":
        return _answer(task, backend, request, direct_messages(request), ctx)
    if method == "prompting":
        return _answer(task, backend, request, direct_messages(request, prompting_instruction(task.kind, task.name, request)), ctx)
    if method == "moe":
        router = backend.option_distribution(
            expert_choice_messages(request), option_labels(len(COMMUNITIES)), role="moe_router", samples=ctx.samples, seed=ctx.seed
        )
        chosen = COMMUNITIES[option_labels(len(COMMUNITIES)).index(router.choice)]
        comment = _community_comments(backend, request, ctx, [chosen])[0]
        prediction = _answer(task, backend, request, passage_messages(request, comment["text"]), ctx, {"expert": chosen[0], "router": router.as_dict()})
        prediction.fallbacks["uniform_router"] = int(router.source == "uniform_fallback")
        return prediction
    if method == "modplural":
        comments = _community_comments(backend, request, ctx)
        moderator = moderators()[request["mode"]]
        result = moderator.moderate(request, comments, backend, Decoding(ctx.moderator_tokens, ctx.moderator_temperature, ctx.seed), ctx.samples)
        state = {**request, "comments": comments, "result": {"mode": request["mode"], **result}}
        return _from_moderator(task, state, {"comments": comments})
    if method == "ethosagents":
        state = _run_graph(request, ctx, server)
        detail = {"personas": state["personas"], "persona_report": state["persona_report"], "comments": state["comments"],
                  "conversation": state["conversation"]}
        return _from_moderator(task, state, detail)
    raise EthosError(f"unknown method '{method}': choose one of {', '.join(METHODS)} or all")
