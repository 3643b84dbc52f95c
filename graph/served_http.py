"""The served graph's HTTP edge (`langgraph.json` `http.app`): a run request whose input or context
breaks a rule, and an assistant whose stored context would, is answered 422 with the field and the
rule, before anything is stored, a run is made or a model called.

LangGraph's server would otherwise accept the run and report any error raised inside the graph as
"An internal error occurred". The rules are the graph's own: `validate_request` for the input (as
`ethos run` checks it) and `ServedContext` for the context (strict types, the server's bounds, known
ablation names and agent variants), so the edge and the graph can never disagree.
"""

from __future__ import annotations

import json
import re

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse

from ethos.errors import EthosError
from ethos.graph.state import validate_request

RUN_PATH = re.compile(r"^/(?:threads/[^/]+/)?runs(?:/wait|/stream|/batch)?/?$")  # every route that starts a run
ASSISTANT_PATH = re.compile(r"^/assistants(?:/[^/]+)?/?$")  # an assistant stores a context every later run of it takes
MAX_BODY = 2**20  # bytes: a request is a situation, some options and a few settings


def request_problem(body: bytes) -> str | None:
    """What is wrong with a run request's body, as one line naming the field and the rule; None if nothing."""
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return "the request body is not JSON"
    for run in payload if isinstance(payload, list) else [payload]:  # /runs/batch sends a list of runs
        if not isinstance(run, dict):
            return "a run request must be a JSON object"
        if (problem := _input_problem(run.get("input"))) or (problem := _context_problem(run.get("context"))):
            return problem
    return None


def assistant_problem(body: bytes) -> str | None:
    """What is wrong with the context an assistant would store (POST /assistants, PATCH
    /assistants/ID), as one line naming the field and the rule; None if nothing."""
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return "the request body is not JSON"
    if not isinstance(payload, dict):
        return "an assistant must be a JSON object"
    return _context_problem(payload.get("context"))


def _input_problem(request) -> str | None:
    if request is None:  # a run resumed from a thread's checkpoint, or a command: the graph's own checks apply
        return None

    try:
        validate_request(request)
    except EthosError as exc:
        return f"input: {exc}"
    return None


def _context_problem(context) -> str | None:
    from ethos.graph.served import ServedContext

    if context is None:
        return None
    if not isinstance(context, dict):
        return f"context must be an object of method settings, got {type(context).__name__}"
    try:
        ServedContext(**context).context()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "context"
        return f"context.{field}: {error['msg']}"[:500]
    except EthosError as exc:
        return f"context: {str(exc)[:500]}"
    return None


class RequestChecks:
    """ASGI middleware: reads a run request's body (at most MAX_BODY), refuses it with 422 when
    `request_problem` finds one, and otherwise hands the same body on to the server."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if method == "POST" and RUN_PATH.match(path):
            check = request_problem
        elif (method, path.rstrip("/")) == ("POST", "/assistants") or (method == "PATCH" and ASSISTANT_PATH.match(path)):
            check = assistant_problem
        else:
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                return await JSONResponse({"detail": f"the request body is larger than {MAX_BODY} bytes"}, 413)(scope, receive, send)
        if problem := check(body):
            return await JSONResponse({"detail": problem}, 422)(scope, receive, send)
        sent = False

        async def replay():  # the body once, then whatever the client sends next (a disconnect)
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


app = Starlette(middleware=[Middleware(RequestChecks)])
