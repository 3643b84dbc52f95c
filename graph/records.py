"""Run records on disk: one folder per run id with `record.json` (input, configuration, the whole
agent conversation, tokens, timings, fallbacks) and `trace.jsonl` (each step as it ended, `tracing.py`).

Nothing secret is written: every file's values are redacted before it is serialised (`ethos.inputs.write_json`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import time
from pathlib import Path

from ethos.errors import EthosError
from ethos.graph.tokens import token_summary
from ethos.inputs import bounded, read_text, stored_number, write_json


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class RunRecord:
    def __init__(self, runs_dir: Path, run_id: str | None = None):
        self.run_id = run_id or new_run_id()
        self.dir = runs_dir / "runs" / self.run_id
        self.path = self.dir / "record.json"
        self.trace_path = self.dir / "trace.jsonl"
        self.data: dict = _read_record(self.path) if self.path.exists() else {}

    def start(self, kind: str, request: dict | None, config: dict, **extra) -> None:
        self.data = {
            "run_id": self.run_id,
            "kind": kind,
            "status": "running",
            "started": time.time(),
            "pid": os.getpid(),
            "host": socket.gethostname(),  # a killed run is found by its dead pid
            "request": request,
            "config": config,
            **extra,
        }
        write_json(self.path, self.data)

    def finish(
        self,
        state: dict,
        conversation: list[dict],
        *,
        status: str,
        seconds: float,
        fallbacks: dict | None = None,
        error: str | None = None,
        prices: dict | None = None,
    ) -> None:
        """The run's outcome: from its final `state` and its `conversation` (its exchanges, stored form)."""
        self.data |= {
            "status": status,
            "finished": time.time(),
            "seconds": round(seconds, 3),
            "error": bounded(error),
            "personas": state.get("personas"),
            "persona_report": state.get("persona_report"),
            "comments": state.get("comments"),
            "result": state.get("result"),
            "fallbacks": fallbacks,
            "tokens": token_summary(conversation, prices),
            "conversation": conversation,
        }
        write_json(self.path, self.data)


def read_json_object(path: Path, what: str, fix: str = "", *, follow: bool = True) -> dict:
    """A JSON object from `path`, or one line naming the file, what it should be, and the way out."""
    try:
        data = json.loads(read_text(path, follow=follow))
    except (OSError, ValueError, RecursionError) as exc:  # not UTF-8 or JSON, a 5,000-digit number, deep nesting
        raise EthosError(f"{path}: not a readable {what} ({exc.__class__.__name__}){fix}") from None
    if not isinstance(data, dict):
        raise EthosError(f"{path}: not a {what} (a JSON object){fix}")
    return data


def _of(kind: type):
    return lambda value: isinstance(value, kind)


# What each field of a record holds, and what a field of another shape reads as: a record some
# other program (or a disk error) spoilt still lists, traces and views, with that field empty.
_SHAPES = {
    "kind": (_of(str), "-"),
    "status": (_of(str), "-"),
    "started": (stored_number, None),
    "finished": (stored_number, None),
    "seconds": (stored_number, None),
    "request": (_of(dict), {}),
    "config": (_of(dict), {}),
    "tokens": (_of(dict), {}),
    "result": (_of(dict), {}),
    "fallbacks": (_of(dict), {}),
    "persona_report": (_of(dict), {}),
    "personas": (_of(list), []),
    "comments": (_of(list), []),
    "conversation": (_of(list), []),
    "error": (_of(str), None),
    "eval": (_of(dict), None),
    "host": (_of(str), None),
    "pid": (stored_number, None),
}  # (the check, what a field of another shape becomes; None: it is left out)


def sane(record: dict, run_id: str) -> dict:
    """`record` with every field in its shape: list items that are not objects dropped, counts
    that are not finite numbers dropped, and the run id its folder's."""
    out = dict(record)
    for key, (fits, default) in _SHAPES.items():
        if key in out and not fits(out[key]):
            if default is None:
                del out[key]
            else:
                out[key] = default
    for key in ("personas", "comments", "conversation"):
        out[key] = [x for x in out.get(key) or [] if isinstance(x, dict)]
    tokens = out.get("tokens") or {}
    out["tokens"] = {k: v for k, v in tokens.items() if stored_number(v) or (k in ("by_role", "by_model") and isinstance(v, dict))}
    out["fallbacks"] = {k: v for k, v in (out.get("fallbacks") or {}).items() if stored_number(v)}
    out["run_id"] = run_id
    return out


def _read_record(path: Path) -> dict:
    return sane(read_json_object(path, "run record"), path.parent.name)


def alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError, OverflowError):
        return True  # another user's process, or no pid to judge by: leave the record alone
    return True


def mark_interrupted(path: Path, record: dict, why: str) -> dict:
    """A record left "running" by a process that is gone, marked "interrupted" on disk too, so it
    never reads as running for good."""
    record = record | {"status": "interrupted", "error": why}
    try:
        write_json(path, record)
    except OSError:  # a full disk or a read-only folder: it still reads as interrupted here
        pass
    return record


def _mark_if_stale(path: Path, record: dict) -> dict:
    if record.get("status") == "running" and record.get("host") == socket.gethostname() and not alive(record.get("pid")):
        return mark_interrupted(path, record, "the process running it ended without finishing it")
    return record


def list_runs(runs_dir: Path) -> list[dict]:
    records = []
    for path in (runs_dir / "runs").glob("*/record.json"):
        try:
            record = _read_record(path)
        except EthosError:
            continue  # a record cut short by a crash before the atomic write existed
        records.append(_mark_if_stale(path, record))
    return sorted(records, key=started, reverse=True)


def started(record: dict) -> float:
    """When a run started (seconds since the epoch), or 0 where its record says nothing sensible."""
    value = record.get("started")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e11 else 0.0


def _finished(record: dict) -> float:
    value = record.get("finished")
    return float(value) if stored_number(value) and value > 0 and record.get("status") != "running" else 0.0


def is_run_id(text: str) -> bool:
    """A run id's shape (no path, no pattern): what `load_record` and the eval store accept."""
    return re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z-]*", text or "") is not None


def load_record(runs_dir: Path, run_id: str) -> RunRecord:
    if run_id == "last":  # the run that finished last; while none has finished, the one started last
        runs = [r for r in list_runs(runs_dir) if is_run_id(str(r.get("run_id")))]
        if not runs:
            raise EthosError(f"no runs yet in {runs_dir / 'runs'}")
        finished = [r for r in runs if _finished(r)]
        run_id = (max(finished, key=_finished) if finished else runs[0])["run_id"]
    if not is_run_id(run_id):
        raise EthosError(f"{run_id!r} is not a run id (ids look like 20260101-120000-a1b2c3; see `ethos runs`)")
    matches = sorted(p.parent.name for p in (runs_dir / "runs").glob(f"{run_id}*/record.json"))
    if not matches:
        raise EthosError(f"no run {run_id!r} in {runs_dir / 'runs'}")
    if len(matches) > 1 and run_id not in matches:
        raise EthosError(f"run id {run_id!r} is ambiguous: {', '.join(matches[:5])}")
    return RunRecord(runs_dir, run_id if run_id in matches else matches[0])
