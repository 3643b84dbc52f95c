"""OpenTelemetry export of runs, with the OpenInference conventions that Arize Phoenix and other
LLM trace tools read: the graph, each node and each model call (its messages, reply and tokens),
made from the steps and exchanges the recorder records (`agents/models/recording.py`).

Off unless asked: `--otel ENDPOINT`, or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
`OTEL_EXPORTER_OTLP_ENDPOINT` variables. Spans go over OTLP/HTTP. Needs the `otel` extra.
"""

from __future__ import annotations

import json
import threading

from ethos import settings
from ethos.agents.models.recording import send_everything_to
from ethos.errors import EthosError
from ethos.inputs import bounded
from ethos.redaction import outward

PROJECT = "ethosagents"
_provider = None


def traces_endpoint(flag: str | None) -> str | None:
    """The OTLP/HTTP traces URL from the flag or the standard variables (None: no export)."""
    endpoint = flag or settings.env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if endpoint:
        return endpoint if flag is None or flag.rstrip("/").endswith("/v1/traces") else flag.rstrip("/") + "/v1/traces"
    base = settings.env("OTEL_EXPORTER_OTLP_ENDPOINT")
    return base.rstrip("/") + "/v1/traces" if base else None


def _credentials_apart(endpoint: str) -> tuple[str, dict]:
    """The endpoint without user-info or query, and those as request headers: `user:pass@` becomes
    Basic authorization, `?name=value` a header of that name."""
    import base64
    from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

    parts = urlsplit(endpoint)
    headers = dict(parse_qsl(parts.query))
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")), headers


def export_traces(endpoint: str, project: str = PROJECT) -> None:
    """Send every step and model exchange of this process to `endpoint` as OTLP spans."""
    global _provider
    if _provider is not None:
        return
    if not endpoint.startswith(("http://", "https://")):
        raise EthosError(f"--otel takes an http(s) URL such as http://127.0.0.1:6006, got {endpoint!r}")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise EthosError(
            "--otel needs the otel extra: bash scripts/setup.sh --otel (or, in a checkout, .venv/bin/pip install -e '.[otel]')"
        ) from None

    _provider = TracerProvider(resource=Resource.create({"service.name": project, "openinference.project.name": project}))
    url, headers = _credentials_apart(endpoint)  # the exporter logs its URL when a send fails: it never holds a secret
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, headers=headers or None)))
    send_everything_to(Spans(_provider.get_tracer("ethos")))


# OpenInference's names for a message's author (https://github.com/Arize-ai/openinference, semantic conventions)
_AUTHORS = {"human": "user", "raw": "user", "ai": "assistant", "system": "system"}


def llm_attributes(exchange) -> dict:
    """An exchange as OpenInference span attributes (what Phoenix shows of a model call)."""

    def text(value: str) -> str:
        return outward(bounded(value))

    out = {
        "llm.model_name": exchange.model,
        "output.value": text(exchange.reply),
        "input.value": text(exchange.messages[-1][1] if exchange.messages else ""),
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": text(exchange.reply),
        "llm.invocation_parameters": text(json.dumps(exchange.params, default=str)),
        "metadata": json.dumps(
            {"role": exchange.role, "node": exchange.node, "persona_index": exchange.persona_index, "cached": exchange.cached}
        ),
    }
    for i, (kind, content) in enumerate(exchange.messages):
        out[f"llm.input_messages.{i}.message.role"] = _AUTHORS.get(kind, kind)
        out[f"llm.input_messages.{i}.message.content"] = text(content)
    for key, name in (("input_tokens", "prompt"), ("output_tokens", "completion"), ("total_tokens", "total")):
        if isinstance(exchange.usage.get(key), int):
            out[f"llm.token_count.{name}"] = exchange.usage[key]
    return out


class Spans:
    """A sink (`agents/models/recording.py`) that makes a span of each step (the graph, a node, a
    model call) as it starts, under its parent's, and ends it with the step; a model call's span
    carries its exchange."""

    def __init__(self, tracer):
        from opentelemetry import context, trace

        self.tracer, self._trace, self._root = tracer, trace, context.Context()  # a step without an open parent starts a trace
        self._open: dict[str, object] = {}
        self._lock = threading.Lock()

    def started(self, step) -> None:
        with self._lock:
            parent = self._open.get(str(step.parent_run_id))
        kind = "LLM" if step.run_type in ("llm", "chat_model") else "CHAIN"
        session = (step.metadata or {}).get("thread_id") or (step.metadata or {}).get("ethos_run_id")  # ethos run's, an eval item's
        span = self.tracer.start_span(
            step.name,
            context=self._trace.set_span_in_context(parent) if parent else self._root,
            start_time=_nanoseconds(step.start_time),
            attributes={"openinference.span.kind": kind, **({"session.id": str(session)} if session else {})},
        )
        with self._lock:
            self._open[str(step.id)] = span

    def ended(self, step, exchange) -> None:
        with self._lock:
            span = self._open.pop(str(step.id), None)
        if span is None:
            return
        if exchange is not None:
            span.set_attributes(llm_attributes(exchange))
        if step.error:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, outward(str(step.error)[:2000])))
        span.end(end_time=_nanoseconds(step.end_time) if step.end_time else None)


def _nanoseconds(moment) -> int:
    return int(moment.timestamp() * 1e9)


def flush() -> None:
    """Send what is buffered (the CLI calls it before it exits)."""
    if _provider is not None:
        _provider.force_flush()
