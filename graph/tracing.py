"""A run's `trace.jsonl`: one line per step (the graph, each node) and per model exchange, written
as each ends, so that a crash keeps what ran. The lines come from the recorder
(`agents/models/recording.py`), as the run record's conversation and the OpenTelemetry spans do.
"""

from __future__ import annotations

import json
from pathlib import Path

from ethos.agents.models.recording import Exchange, Step
from ethos.errors import EthosError
from ethos.inputs import append_text, bounded, json_line, read_text


def step_line(step: Step, exchange: Exchange | None) -> dict:
    """The trace line of one step: a model exchange, or a graph or node step with its timing."""
    line = {
        "id": str(step.id),
        "parent_id": str(step.parent_run_id) if step.parent_run_id else None,
        "start": step.start_time.isoformat(),
        "end": step.end_time.isoformat() if step.end_time else None,
    }
    if exchange is not None:
        return {"kind": "exchange", **line, **exchange.as_dict()}
    node = (step.metadata or {}).get("langgraph_node")
    return {
        "kind": "model" if step.run_type in ("llm", "chat_model") else "step",
        **line,
        "name": step.name,
        **({"node": node} if node and node != step.name else {}),
        "error": step.error,
    }


class TraceFile:
    """A sink (recording.py) that appends each step of a run to `path` as it ends."""

    def __init__(self, path: Path):
        self.path = path

    def started(self, step: Step) -> None:
        pass

    def ended(self, step: Step, exchange: Exchange | None) -> None:
        try:
            append_text(self.path, json_line(bounded(step_line(step, exchange))))
        except OSError:  # a full disk: the run's record, written when it ends, names the path once (a
            pass  # callback's error would be logged by LangChain on every later step)


def exchanges_so_far(path: Path) -> list[dict]:
    """The model exchanges a run's trace holds so far (a run still going has no conversation in its
    record yet); lines that are not whole JSON are skipped."""
    try:
        lines = read_text(path).splitlines()
    except (OSError, UnicodeDecodeError, EthosError):
        return []
    found = []
    for line in lines:
        try:
            step = json.loads(line)
        except (ValueError, RecursionError):
            continue  # the line being written
        if isinstance(step, dict) and step.get("kind") == "exchange":
            found.append({k: v for k, v in step.items() if k not in ("kind", "id", "parent_id", "start", "end")})
    return found
