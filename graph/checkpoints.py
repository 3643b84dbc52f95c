"""Where `ethos run` keeps its checkpoints: a SQLite file in the runs folder (the embedded default), or
a PostgreSQL database (`--checkpointer postgresql://...`; the `postgres` extra), which any machine
that reaches it can resume from.

Each checkpoint's metadata carries the run's request and settings (credentials masked), so that a
run started on one machine resumes on another that has no record of it. Checkpoints are redacted as
records are: a key pasted into a situation is masked in both.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from ethos.errors import EthosError, RunFailure
from ethos.inputs import own_file
from ethos.redaction import MASK, public_endpoint, redact, redacted

POSTGRES = ("postgres://", "postgresql://")


def is_postgres(spec: str | None) -> bool:
    return bool(spec) and spec.startswith(POSTGRES)


def _redacted(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_redacted(v) for v in value)
    from langgraph.types import Overwrite, Send

    if isinstance(value, Send):  # a persona agent's task: its situation and prompt
        return Send(value.node, _redacted(value.arg))
    if isinstance(value, Overwrite):  # a conversation replaced whole (a retried generator)
        return Overwrite(_redacted(value.value))
    return value


def redacting_serde():
    """LangGraph's own serializer, with every text in what it stores redacted first."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    class RedactingSerializer(JsonPlusSerializer):
        def dumps_typed(self, obj):
            return super().dumps_typed(_redacted(obj))

    return RedactingSerializer()


def open_checkpointer(spec: str | None, runs_dir: Path):
    """A LangGraph checkpointer: PostgreSQL for a postgres:// URI, else SQLite (a file path, or
    checkpoints.sqlite in the runs folder)."""
    if is_postgres(spec):
        return _postgres(spec)
    if spec and "://" in spec:
        raise EthosError(f"--checkpointer {public_endpoint(spec)}: expected a postgresql:// URI or a SQLite file path")
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(spec) if spec else own_file(runs_dir / "checkpoints.sqlite", "checkpoint database")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a file that is no database fails here, named
        return SqliteSaver(conn, serde=redacting_serde())
    except (OSError, sqlite3.Error) as exc:
        raise EthosError(f"--checkpointer {path}: cannot open the SQLite file ({exc})") from None


def _postgres(uri: str):
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError:
        raise EthosError(
            "--checkpointer postgresql://... needs the postgres extra: bash scripts/setup.sh --postgres (or, in a checkout, .venv/bin/pip install -e '.[postgres]')"
        ) from None
    try:
        # PostgresSaver's own settings: autocommit, no prepared statements, rows as dicts.
        conn = psycopg.connect(uri, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=10)
        saver = PostgresSaver(conn, serde=redacting_serde())
        saver.setup()  # creates or migrates its tables; safe to repeat
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())[:200]
        password = urlsplit(uri).password
        if password:
            reason = reason.replace(password, MASK)
        raise RunFailure(f"--checkpointer {public_endpoint(uri)}: cannot use the database ({redact(reason)})") from None
    return saver


def run_metadata(request: dict | None, config: dict) -> dict:
    """Checkpoint metadata that lets another machine resume the run (LangGraph keeps only plain values)."""
    return {"ethos_run": json.dumps(redacted({"request": request, "config": config}))}


def saved_run(saver, run_id: str) -> dict | None:
    """The request and settings a checkpointed run started with, or None when the checkpointer has no such thread."""
    found = saver.get_tuple({"configurable": {"thread_id": run_id}})
    if not found:
        return None
    saved = (found.metadata or {}).get("ethos_run")
    if not saved:
        raise EthosError(f"the checkpointer holds thread {run_id!r}, but not as an ethos run (no settings saved with it)")
    return json.loads(saved)
