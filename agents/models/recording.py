"""Who asked what. Every model call carries labels (its role, its persona) in its metadata, and one
LangChain callback, `Recorder`, turns each finished call into an `Exchange`, the typed record of
one model exchange. It hands the exchange, and the graph's steps, to the sinks open at the time:
a run's `recording()` (its record, its progress line), its trace file, and OpenTelemetry.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

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
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # not asdict: its deep copy was most of a trace line's CPU
        data.update(messages=[list(m) for m in self.messages], params=dict(self.params), usage=dict(self.usage))
        if self.top_logprobs is not None:
            data["top_logprobs"] = [dict(t) if isinstance(t, dict) else t for t in self.top_logprobs]
        return {k: v for k, v in data.items() if v is not None}


class Sink(Protocol):
    """Where recorded exchanges go. A `Step` is one LangChain run: the graph, a node or a model call."""

    def started(self, step: Step) -> None: ...

    def ended(self, step: Step, exchange: Exchange | None) -> None: ...


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
    def started(self, step: Step) -> None:
        pass

    def ended(self, step: Step, exchange: Exchange | None) -> None:
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


@dataclass(slots=True)
class Step:
    """One LangChain run (the graph, a node, a model call) as the sinks read it: what LangChain's
    tracer `Run` held of it, without the inputs and outputs it serialised for every run (a model
    call's messages, a node's whole state), which cost a tenth of a call's CPU and nobody read."""

    id: UUID
    parent_run_id: UUID | None
    name: str
    run_type: str  # "chain" (the graph, a node) or "llm" (a model call)
    metadata: dict
    start_time: datetime
    end_time: datetime | None = None
    error: str | None = None


def _name(name: str | None, serialized: dict | None) -> str:
    """A run's name as LangChain's tracer gives it."""
    if name is None and serialized:
        name = serialized["name"] if "name" in serialized else (serialized.get("id") or [None])[-1]
    return name if name is not None else "Unnamed"


def _stacktrace(error: BaseException) -> str:
    """An error as LangChain's tracer writes it: its repr, then its traceback."""
    try:
        return (repr(error) + "\n\n".join(traceback.format_exception(error))).strip()
    except Exception:
        return repr(error)


class Recorder(BaseCallbackHandler):
    """The one callback: joined to every LangChain run of the process, it makes the `Exchange` of
    each model call as it ends and gives steps and exchanges to the open sinks. LangGraph's own
    plumbing (channel writes, routes), which it tags hidden, is not followed."""

    def __init__(self) -> None:
        self._steps: dict[UUID, Step] = {}  # open steps; a dict's set and pop hold across threads
        self._sent: dict[UUID, list] = {}  # a model call's messages, then its reply
        self._replies: dict[UUID, Any] = {}

    @staticmethod
    def _sinks() -> tuple[Sink, ...]:
        return (*_process_sinks, *_sinks.get())

    def _start(self, run_id, parent_run_id, tags, metadata, name, serialized, run_type) -> None:
        if tags and "langsmith:hidden" in tags:
            return
        step = Step(run_id, parent_run_id, _name(name, serialized), run_type, metadata or {}, datetime.now(UTC))
        self._steps[run_id] = step
        for sink in self._sinks():
            sink.started(step)

    def _end(self, run_id, error: BaseException | None = None) -> None:
        step = self._steps.pop(run_id, None)
        sent, reply = self._sent.pop(run_id, None), self._replies.pop(run_id, None)
        if step is None:
            return
        step.end_time = datetime.now(UTC)
        if error is not None:
            step.error = _stacktrace(error)
        sinks = self._sinks()
        if not sinks:
            return
        exchange = self.exchange(step, sent, reply) if reply is not None and sent is not None else None
        for sink in sinks:
            sink.ended(step, exchange)

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, tags=None, metadata=None, name=None, run_type=None, **kw):
        self._start(run_id, parent_run_id, tags, metadata, name, serialized, run_type or "chain")

    def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, tags=None, metadata=None, name=None, **kw):
        if self._sinks():
            self._sent[run_id] = messages[0] if messages else []
        self._start(run_id, parent_run_id, tags, metadata, name, serialized, "llm")

    def on_llm_start(self, serialized, prompts, *, run_id, parent_run_id=None, tags=None, metadata=None, name=None, **kw):
        self._start(run_id, parent_run_id, tags, metadata, name, serialized, "llm")

    def on_llm_end(self, response, *, run_id, **kw):
        if self._sinks() and response.generations and response.generations[0]:
            self._replies[run_id] = response.generations[0][0].message
        self._end(run_id)

    def on_chain_end(self, outputs, *, run_id, **kw):
        self._end(run_id)

    def on_chain_error(self, error, *, run_id, **kw):
        self._end(run_id, error)

    def on_llm_error(self, error, *, run_id, **kw):
        self._end(run_id, error)

    @staticmethod
    def exchange(step: Step, sent: list, reply) -> Exchange | None:
        metadata = step.metadata or {}
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
            seconds=round((step.end_time - step.start_time).total_seconds(), 3) if step.end_time else 0.0,
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


# The recorder joins every LangChain run (graph nodes and model calls alike), in every thread.
_recorder: ContextVar[Recorder | None] = ContextVar("ethos_recorder", default=Recorder())  # noqa: B039  (one recorder for the process, on purpose)
register_configure_hook(_recorder, inheritable=True)
