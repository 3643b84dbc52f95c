"""The evaluated methods, all one graph invocation per item (see `graph/methods.py`):

- vanilla: the question as it is.
- prompting: the question with one steering instruction in front.
- moe: the model picks one community expert, which writes a message; the model answers with it.
- modplural: all six community agents write messages; the moderator combines them
  (a stand-in: prompted communities instead of Modular Pluralism's fine-tuned ones).
- ethosagents: the persona graph.
ModPlural and EthosAgents share the moderators; they differ only in who writes the comments.
How a prediction is read from the final state is the task's (`Task.read_prediction`).
"""

from __future__ import annotations

from ethos.errors import EthosError
from ethos.evaluation.tasks import METHODS, Prediction, Task
from ethos.graph.context import Context
from ethos.graph.graph_run import GraphRun


def predict(method: str, task: Task, request: dict, ctx: Context, server: str | None = None) -> Prediction:
    """One item's prediction: one run of the graph configured as `method`; `server` runs it on a
    LangGraph server instead of in-process."""
    if method not in METHODS:
        raise EthosError(f"unknown method '{method}': choose one of {', '.join(METHODS)} or all")

    with GraphRun() as run:
        return task.read_prediction(run.invoke(request, ctx.replace(method=method), server))
