"""A JSONL trace of a run through LangChain's own tracer interface (no cloud account needed).

Joined to every LangChain run started inside `tracing_to(path)` (a configure hook, in this thread
and the threads that copy its context), it sees every graph node and model call with its parent,
and writes one line per finished (or failed) run as it happens, so a crash keeps what ran.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.context import register_configure_hook
from langchain_core.tracers.schemas import Run

from ethos.graph.records import bounded, redact
from ethos.inputs import append_text


class JsonlTracer(BaseTracer):
    name: str = "ethos_jsonl_tracer"

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self._lock = threading.Lock()

    def _persist_run(self, run: Run) -> None:  # every run is written as it ends instead
        pass

    def _write(self, run: Run) -> None:
        metadata = {k: v for k, v in (run.metadata or {}).items() if k.startswith(("ethos_", "langgraph_node", "langgraph_step"))}
        line = {
            "id": str(run.id),
            "parent_id": str(run.parent_run_id) if run.parent_run_id else None,
            "name": run.name,
            "run_type": run.run_type,
            "start": run.start_time.isoformat(),
            "end": run.end_time.isoformat() if run.end_time else None,
            "tags": run.tags,
            "metadata": metadata,
            "inputs": run.inputs,
            "outputs": run.outputs,
            "error": run.error,
        }
        if run.run_type in ("llm", "chat_model"):
            params = (run.extra or {}).get("invocation_params") or {}
            line["params"] = {k: params[k] for k in ("temperature", "max_tokens", "seed", "logprobs", "top_logprobs", "model", "model_name") if k in params}
        text = redact(json.dumps(bounded(json.loads(json.dumps(line, default=str))), ensure_ascii=False))
        with self._lock:
            append_text(self.path, text + "\n")

    _on_chain_end = _on_chain_error = _on_llm_end = _on_llm_error = _write


# A tracer set here joins every LangChain run started in this context (graph nodes and bare model
# calls alike), in this thread and the threads started with a copy of its context.
_active: ContextVar[JsonlTracer | None] = ContextVar("ethos_jsonl_tracer", default=None)
register_configure_hook(_active, inheritable=True)


@contextmanager
def tracing_to(path: Path) -> Iterator[JsonlTracer]:
    """Trace every run started inside the block, in this thread and the threads it starts with a
    copy of its context (LangGraph's and `in_parallel`'s), to `path`."""
    tracer = JsonlTracer(path)
    token = _active.set(tracer)
    try:
        yield tracer
    finally:
        _active.reset(token)
