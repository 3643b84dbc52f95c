"""One run of the graph, however it is started: `ethos run`, an eval item, an item on a Ray actor.

Inside `with GraphRun(...) as run:` every model exchange is recorded once (`run.exchanges`, by the
recorder in `agents/models/recording.py`), each step is appended to the run's trace file as it
ends, and at most `max_concurrency` agents write at once. The graph runs here, or on a LangGraph
server (`server`), which then returns the conversation in its state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from functools import cache
from pathlib import Path

from ethos.agents.models.recording import recording, sending_to
from ethos.errors import RunFailure
from ethos.graph.context import Context
from ethos.graph.nodes import agents_at_once
from ethos.graph.tracing import TraceFile


class GraphRun:
    def __init__(self, *, trace: Path | None = None, max_concurrency: int | None = None, graph=None, run_id: str | None = None):
        self.trace, self.max_concurrency, self._graph, self.run_id = trace, max_concurrency, graph, run_id
        self.exchanges: list = []
        self._stack = ExitStack()

    def __enter__(self) -> GraphRun:
        self.exchanges = self._stack.enter_context(recording())
        if self.trace:
            self._stack.enter_context(sending_to(TraceFile(self.trace)))
        self._stack.enter_context(agents_at_once(self.max_concurrency))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    @property
    def graph(self):
        if self._graph is None:
            from ethos.graph.builder import graph

            self._graph = graph
        return self._graph

    def stream(self, request: dict | None, ctx: Context, config: dict, modes: list[str]) -> Iterator[tuple[str, object]]:
        """The graph's stream (`modes`, LangGraph's stream modes), saving each step as it ends."""
        yield from self.graph.stream(request, context=ctx, config=config, stream_mode=modes, durability="sync")

    def invoke(self, request: dict, ctx: Context, server: str | None = None) -> dict:
        """The final state of one run, here or on the LangGraph server at `server`."""
        if not server:  # the run id goes with every step (OpenTelemetry's session id)
            return self.graph.invoke(request, context=ctx, config={"metadata": {"ethos_run_id": self.run_id}} if self.run_id else None)
        import httpx

        from ethos.graph.served import client_context

        try:  # only the method's settings: the server's operator chooses its models and endpoints (graph/served.py)
            return remote_graph(server).invoke(request, context=client_context(ctx) | {"conversation_in_state": True})
        except httpx.TransportError as exc:
            raise RunFailure(f"cannot reach the LangGraph server at {server} ({exc.__class__.__name__})") from exc

    def conversation(self, state: dict | None = None) -> list[dict]:
        """Every model exchange of the run in its stored form: recorded here, or (a served run)
        carried back in the state."""
        return [e.as_dict() for e in self.exchanges] or list((state or {}).get("conversation") or [])


@cache
def remote_graph(url: str):
    """The persona graph served by a LangGraph server (`langgraph dev`, LangGraph Server)."""
    from langgraph.pregel.remote import RemoteGraph

    return RemoteGraph("ethos", url=url)
