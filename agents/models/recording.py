"""Who asked what: every model call carries labels (its role, its persona) in its metadata, and each
exchange (prompt, reply, usage, time) goes to the recordings open in its context."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from langchain_core.messages import AIMessage

from ethos.agents.models.local import message_text

Messages = Sequence[tuple[str, str]]  # ("system" | "human" | "ai", text)


log = logging.getLogger("ethos.models")  # `ethos ... -v` shows each call as it ends


_exchanges: ContextVar[tuple[list, ...]] = ContextVar("ethos_exchanges", default=())


_labels: ContextVar[dict] = ContextVar("ethos_call_labels", default={})


@contextmanager
def labelled(**labels) -> Iterator[None]:
    """Add `labels` to the metadata of every model call made in this context: a streamed token
    then says which persona agent wrote it (LangGraph's `messages` stream mode passes it on)."""
    token = _labels.set({**_labels.get(), **labels})
    try:
        yield
    finally:
        _labels.reset(token)


@contextmanager
def recording() -> Iterator[list[dict]]:
    """Collect every model exchange made in this context (threads started with the context too).

    Graph nodes use it to put what each agent was asked and answered into the graph state. It
    nests: an eval item's recording also sees the exchanges its graph nodes record.
    """
    exchanges: list[dict] = []
    token = _exchanges.set((*_exchanges.get(), exchanges))
    try:
        yield exchanges
    finally:
        _exchanges.reset(token)


def call_labels() -> dict:
    """The labels of the model call being made in this context (see `labelled`)."""
    return _labels.get()


def exchange_of(spec: str, role: str, messages: Messages, params: dict, reply: AIMessage, seconds: float) -> dict:
    exchange = {
        "role": role,
        "model": spec,
        "messages": [list(m) for m in messages],
        "params": params,
        "reply": message_text(reply),
        "usage": dict(reply.usage_metadata or {}),
        "seconds": round(seconds, 3),
        "cached": bool(reply.response_metadata.get("ethos_cached")),
    }
    content = (reply.response_metadata.get("logprobs") or {}).get("content")
    if content:
        exchange["top_logprobs"] = content[0].get("top_logprobs", [])[:20]
    return exchange


def record(exchange: dict) -> None:
    """Hand `exchange` to every recording open in this context."""
    for exchanges in _exchanges.get():
        exchanges.append(exchange)
