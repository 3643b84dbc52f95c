"""Who asked what. Every model call carries labels (its role, its persona) in its metadata, and one
LangChain callback, `Recorder`, turns each finished call into an `Exchange`, the typed record of
one model exchange. It hands the exchange, and the graph's steps, to the sinks open at the time:
a run's `recording()` (its record, its progress line), its trace file, and OpenTelemetry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.context import register_configure_hook
from langchain_core.tracers.schemas import Run

from ethos.agents.models.local import message_text

Messages = Sequence[tuple[str, str]]  # ("system" | "human" | "ai", text); ("raw", text) for a raw prompt


log = logging.getLogger("ethos.models")  # `ethos ... -v` shows each call as it ends


@dataclass(frozen=True)
class Exchange:
    """One model call: who asked (the graph node, the persona slot, the role), what, and the reply."""

    role: str
    model: str
    messages: list[tuple[str, str]]
    reply: str
    params: dict = field(default_factory=dict)
    usage: dict = field(default_factory=dict)  # input_tokens, output_tokens, total_tokens
    seconds: float = 0.0
    cached: bool = False
    node: str | None = None
    persona_index: int | None = None
    top_logprobs: list | None = None  # of the first generated token, for option probabilities

    def as_dict(self) -> dict:
        """The stored form (a record's `conversation`, a trace line)."""
        data = asdict(self)
        data["messages"] = [list(m) for m in self.messages]
        return {k: v for k, v in data.items() if v is not None}


class Sink(Protocol):
    """Where recorded exchanges go. `step` is LangChain's run of a graph, a node or a model call."""

    def started(self, step: Run) -> None: ...

    def ended(self, step: Run, exchange: Exchange | None) -> None: ...


_sinks: ContextVar[tuple[Sink, ...]] = ContextVar("ethos_sinks", default=())
_process_sinks: list[Sink] = []  # for the whole process (OpenTelemetry export)
_labels: ContextVar[dict] = ContextVar("ethos_call_labels", default={})  # noqa: B039  (never changed in place: `labelled` sets a new dict)


@contextmanager
def labelled(**labels) -> Iterator[None]:
    """Add `labels` to the metadata of every model call made in this context: a streamed token
    then says which persona agent wrote it (LangGraph's `messages` stream mode passes it on)."""
    token = _labels.set({**_labels.get(), **labels})
    try:
        yield
    finally:
        _labels.reset(token)


def call_labels() -> dict:
    """The labels of the model call being made in this context (see `labelled`)."""
    return _labels.get()


@contextmanager
def sending_to(sink: Sink) -> Iterator[Sink]:
    """Send every step and exchange in this context (and the threads started with it) to `sink`."""
    token = _sinks.set((*_sinks.get(), sink))
    try:
        yield sink
    finally:
        _sinks.reset(token)


def send_everything_to(sink: Sink) -> None:
    """Send every step and exchange of this process to `sink` (OpenTelemetry export)."""
    _process_sinks.append(sink)


class _Collected(list):
    def started(self, step: Run) -> None:
        pass

    def ended(self, step: Run, exchange: Exchange | None) -> None:
        if exchange is not None:
            self.append(exchange)


@contextmanager
def recording() -> Iterator[list[Exchange]]:
    """Collect every model exchange made in this context (threads started with the context too).
    It nests: an eval item's recording also sees the exchanges its graph nodes record."""
    with sending_to(_Collected()) as exchanges:
        yield exchanges


def _messages(sent: list, params: dict) -> list[tuple[str, str]]:
    if params.get("raw"):  # the text went as it is, without a chat template (Backend.is_raw)
        return [("raw", "\n\n".join(message_text(m) for m in sent))]
    return [(m.type, message_text(m)) for m in sent]


def _hidden(run: Run) -> bool:
    """LangGraph's own plumbing (channel writes, routes), which it hides from tracers too."""
    return "langsmith:hidden" in (run.tags or [])


class Recorder(BaseTracer):
    """The one callback: joined to every LangChain run of the process, it makes the `Exchange` of
    each model call as it ends and gives steps and exchanges to the open sinks."""

    name: str = "ethos_recorder"

    def __init__(self) -> None:
        super().__init__()
        self._sent: dict[str, list] = {}  # a model run's messages and reply, before the tracer serialises them
        self._replies: dict[str, Any] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _sinks() -> tuple[Sink, ...]:
        return (*_process_sinks, *_sinks.get())

    def on_chat_model_start(self, serialized, messages, *, run_id, **kwargs):
        if self._sinks():
            with self._lock:
                self._sent[str(run_id)] = messages[0] if messages else []
        return super().on_chat_model_start(serialized, messages, run_id=run_id, **kwargs)

    def on_llm_end(self, response, *, run_id, **kwargs):
        if self._sinks() and response.generations and response.generations[0]:
            with self._lock:
                self._replies[str(run_id)] = response.generations[0][0].message
        return super().on_llm_end(response, run_id=run_id, **kwargs)

    def _persist_run(self, run: Run) -> None:  # each step goes to the sinks as it ends instead
        pass

    def _started(self, run: Run) -> None:
        if not _hidden(run):
            for sink in self._sinks():
                sink.started(run)

    def _ended(self, run: Run) -> None:
        with self._lock:
            sent, reply = self._sent.pop(str(run.id), None), self._replies.pop(str(run.id), None)
        sinks = self._sinks()
        if not sinks or _hidden(run):
            return
        exchange = self.exchange(run, sent, reply) if reply is not None and sent is not None else None
        for sink in sinks:
            sink.ended(run, exchange)

    @staticmethod
    def exchange(run: Run, sent: list, reply) -> Exchange | None:
        metadata = run.metadata or {}
        if "ethos_role" not in metadata:
            return None  # a model called outside a Backend: not one of the roles
        params = metadata.get("ethos_params") or {}
        content = (reply.response_metadata.get("logprobs") or {}).get("content")
        exchange = Exchange(
            role=metadata["ethos_role"],
            model=metadata.get("ethos_model", "?"),
            messages=_messages(sent, params),
            reply=message_text(reply),
            params=params,
            usage=dict(reply.usage_metadata or {}),
            seconds=round((run.end_time - run.start_time).total_seconds(), 3) if run.end_time else 0.0,
            cached=bool(reply.response_metadata.get("ethos_cached")),
            node=metadata.get("langgraph_node"),
            persona_index=metadata.get("ethos_persona_index"),
            top_logprobs=content[0].get("top_logprobs", [])[:20] if content else None,
        )
        log.info(
            "%s on %s: %s prompt + %s new tokens in %.2f s%s",
            exchange.role.replace("_", " "),
            exchange.model,
            exchange.usage.get("input_tokens", "?"),
            exchange.usage.get("output_tokens", "?"),
            exchange.seconds,
            " (from the cache)" if exchange.cached else "",
        )
        return exchange

    _on_chain_start = _on_llm_start = _on_chat_model_start = _started
    _on_chain_end = _on_chain_error = _on_llm_end = _on_llm_error = _ended


# The recorder joins every LangChain run (graph nodes and model calls alike), in every thread.
_recorder: ContextVar[Recorder | None] = ContextVar("ethos_recorder", default=Recorder())  # noqa: B039  (one recorder for the process, on purpose)
register_configure_hook(_recorder, inheritable=True)
