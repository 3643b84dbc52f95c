"""The evaluated methods, all one graph invocation per item (see `graph/methods.py`):

- vanilla: the question as it is.
- prompting: the question with one steering instruction in front.
- moe: the model picks one community expert, which writes a message; the model answers with it.
- modplural: all six community agents write messages; the moderator combines them
  (a stand-in: prompted communities instead of Modular Pluralism's fine-tuned ones).
- ethosagents: the persona graph.
ModPlural and EthosAgents share the moderators; they differ only in who writes the comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ethos.errors import EthosError
from ethos.evaluation.tasks import METHODS, Task
from ethos.graph.context import Context
from ethos.graph.state import count_fallbacks


@dataclass
class Prediction:
    output: str | None = None  # Overton text, or the steerable-VK answer letter (None: unparseable)
    distribution: list[float] | None = None  # option probabilities for distribution tasks
    fallbacks: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


def prediction_from_state(task: Task, state: dict) -> Prediction:
    """The item's prediction from the graph's final state, whichever method ran."""
    result = state["result"]
    detail = {k: state[k] for k in ("personas", "persona_report", "comments", "router") if state.get(k)}
    fallbacks = count_fallbacks(state)
    if task.kind == "overton":
        return Prediction(output=result["response"], fallbacks=fallbacks, detail=detail)
    if task.kind == "steerable_vk" and "distribution" not in result:  # generated (the reference protocol): the scorer parses it
        return Prediction(output=result["answer"], fallbacks=fallbacks, detail=detail)
    answer = result["distribution"]  # a steerable answer or the main model's: a distribution with its source
    if task.kind == "steerable_vk":
        # A uniform fallback carries no answer: it counts as unparseable, hence wrong.
        return Prediction(output=None if answer["source"] == "uniform_fallback" else result["choice"], fallbacks=fallbacks, detail=detail)
    return Prediction(distribution=answer["probs"] if isinstance(answer, dict) else answer, fallbacks=fallbacks, detail=detail)


def predict(method: str, task: Task, request: dict, ctx: Context, server: str | None = None) -> Prediction:
    """One item's prediction: one run of the graph configured as `method`; `server` runs it on a
    LangGraph server instead of in-process."""
    if method not in METHODS:
        raise EthosError(f"unknown method '{method}': choose one of {', '.join(METHODS)} or all")
    from ethos.graph.graph_run import GraphRun

    with GraphRun() as run:
        return prediction_from_state(task, run.invoke(request, ctx.replace(method=method), server))
