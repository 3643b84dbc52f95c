"""The graph a LangGraph server serves (`langgraph.json`): clients choose the method's settings only.

A client of a served graph is outside text. Its `context` may set the settings `Context` declares
`client`, within their `client_high` (tighter than a local run's: one client's request must not
hold the server for hours); everything that reaches the host (models, endpoints and
their keys, persona files, decoding, timeouts) comes from the operator: the server's environment
(`ETHOS_MODEL`, `ETHOS_BASE_URL`, `OPENAI_API_KEY`), as in `Context`'s defaults. A context key
that is not a client setting is refused with its name, so `context={"base_url": ...}` can never
send the server's key to a host the client picked.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, create_model

from ethos.errors import RunFailure
from ethos.graph.builder import build_graph
from ethos.graph.context import MODEL_ROLES, RENAMED, Context

CLIENT_SETTINGS = Context.declared("client")  # the method's settings (graph/context.py says which)


def _client_fields() -> dict[str, Any]:
    """The client settings as `Context` describes them, with the server's tighter limits."""
    out = {}
    for name, s in Context.settings().items():
        if name not in CLIENT_SETTINGS:
            continue
        bounds = {"ge": s["low"], "le": min(s["high"], s["client_high"] or s["high"])} if s["low"] is not None else {}
        old = [o for o, new in RENAMED.items() if new == name]  # a client may still send the old name
        alias = {"validation_alias": AliasChoices(name, *old)} if old else {}
        out[name] = (Context.model_fields[name].annotation, Field(s["default"], description=s["help"], **bounds, **alias))
    return out


SERVER_MODELS = "x-ethos-models"  # where the served context schema says which models answer


def _server_models(schema: dict) -> None:
    """The operator's models, in the context schema a client reads (`server_models`): results are
    filed under the models that made them, not under whatever the client names."""
    operator = Context()
    schema[SERVER_MODELS] = {role: getattr(operator, role) for role in MODEL_ROLES}


class _Base(BaseModel):
    # An unknown key, or one only the operator may set, is refused by name; types are strict, as the CLI's.
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_server_models)

    def context(self) -> Context:
        """The run's full settings: the client's, and the operator's for everything else."""
        return Context(**self.model_dump())


ServedContext = create_model("ServedContext", __base__=_Base, **_client_fields())

graph = build_graph(ServedContext, summary=True).compile(name="ethos")


def server_models(url: str) -> dict[str, str]:
    """The models a LangGraph server's graph runs with, as its context schema says."""
    import httpx
    from langgraph_sdk import get_sync_client

    try:
        assistants = get_sync_client(url=url, timeout=30).assistants
        (found,) = assistants.search(graph_id="ethos", limit=1)  # the graph's default assistant
        schemas = assistants.get_schemas(found["assistant_id"])
    except httpx.TransportError as exc:
        raise RunFailure(f"cannot reach the LangGraph server at {url} ({exc.__class__.__name__})") from None
    except Exception as exc:  # not a LangGraph server, no `ethos` graph: one line, named
        raise RunFailure(f"cannot ask the LangGraph server at {url} which models it runs ({exc.__class__.__name__})") from None
    models = ((schemas or {}).get("context_schema") or {}).get(SERVER_MODELS)
    if not (isinstance(models, dict) and all(isinstance(models.get(role), str) for role in MODEL_ROLES)):
        raise RunFailure(f"the LangGraph server at {url} does not say which models it runs: it serves another version of the graph")
    return {role: models[role][:200] for role in MODEL_ROLES}


def client_context(ctx: Context) -> dict:
    """What `ethos eval --server` may send: the client settings of `ctx`, never an endpoint or a key."""
    return {name: getattr(ctx, name) for name in CLIENT_SETTINGS}
