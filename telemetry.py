"""OpenTelemetry export of runs, with the OpenInference conventions that Arize Phoenix and other
LLM trace tools read: the graph, each node and each model call (its messages, reply and tokens).

Off unless asked: `--otel ENDPOINT`, or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
`OTEL_EXPORTER_OTLP_ENDPOINT` variables. Spans go over OTLP/HTTP. Needs the `otel` extra.
"""

from __future__ import annotations


from ethos.errors import EthosError
from ethos import settings

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
    """Send every LangChain and LangGraph run of this process to `endpoint` as OTLP spans."""
    global _provider
    if _provider is not None:
        return
    if not endpoint.startswith(("http://", "https://")):
        raise EthosError(f"--otel takes an http(s) URL such as http://127.0.0.1:6006, got {endpoint!r}")
    try:
        from openinference.instrumentation.langchain import LangChainInstrumentor
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise EthosError("--otel needs the otel extra: bash scripts/setup.sh --otel (or, in a checkout, .venv/bin/pip install -e '.[otel]')") from None
    _provider = TracerProvider(resource=Resource.create({"service.name": project, "openinference.project.name": project}))
    url, headers = _credentials_apart(endpoint)  # the exporter logs its URL when a send fails: it never holds a secret
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, headers=headers or None)))
    LangChainInstrumentor().instrument(tracer_provider=_provider)


def flush() -> None:
    """Send what is buffered (the CLI calls it before it exits)."""
    if _provider is not None:
        _provider.force_flush()
