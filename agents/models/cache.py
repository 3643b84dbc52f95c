"""A persistent model-call cache behind LangChain's own cache hook (`BaseChatModel.cache`).

LangChain keys a call by the full prompt and an `llm_string` holding the model's parameters and
the call's decoding arguments (temperature, max_tokens, seed = the sample index, logprobs).
The namespace adds the backend spec and endpoint, which a model's parameters may not include.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from ethos.errors import RunFailure
from ethos.inputs import own_file
from ethos.redaction import json_text

_CACHED_TYPES = [ChatGeneration, Generation, AIMessage]  # all a cache entry may hold


_OPENING = threading.Lock()  # a study's models open one cache at the same moment


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    try:
        # Switching to WAL takes the database whole and does not wait on the busy timeout: another
        # process opening it at the same moment gets "locked" at once, so try again for a while.
        with _OPENING:
            for attempt in range(100):
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.05)
            conn.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn


class SqliteCallCache(BaseCache):
    def __init__(self, path: Path, namespace: str):
        own_file(path, "model-call cache")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = _open(path)
        except sqlite3.OperationalError as exc:  # a full disk, a read-only folder: named, not mistaken for a spoilt file
            raise RunFailure(f"{path}: cannot open the model-call cache ({exc})") from None
        except sqlite3.DatabaseError:  # not a database (a crash, a disk error): set aside, and start afresh
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            path.rename(aside)
            print(
                f"ethos: the model-call cache {path} was not a readable database: moved to {aside.name}, starting a new one",
                file=sys.stderr,
            )
            self._conn = _open(path)
        self._lock = threading.Lock()
        self.namespace, self.path = namespace, path

    def _key(self, prompt: str, llm_string: str) -> str:
        return hashlib.sha256("\0".join((self.namespace, llm_string, prompt)).encode()).hexdigest()

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM calls WHERE key = ?", (self._key(prompt, llm_string),)).fetchone()
        if not row:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `loads` is marked beta
            return loads(row[0], allowed_objects=_CACHED_TYPES)

    def update(self, prompt: str, llm_string: str, return_val: Sequence) -> None:
        stored = []
        for generation in return_val:
            message = getattr(generation, "message", None)
            if message is not None:  # a replayed answer says it came from the cache
                generation = generation.model_copy(
                    update={
                        "message": message.model_copy(update={"response_metadata": {**message.response_metadata, "ethos_cached": True}})
                    }
                )
            stored.append(generation)
        try:
            with self._lock, self._conn:
                # through the output boundary as it goes in: a key an endpoint reflected never reaches the
                # disk, and JSON reads the escapes back, so a replay is the reply
                self._conn.execute(
                    "INSERT OR REPLACE INTO calls VALUES (?, ?)", (self._key(prompt, llm_string), json_text(json.loads(dumps(stored))))
                )
        except sqlite3.OperationalError as exc:  # a full disk: one line naming the file
            raise RunFailure(f"{self.path}: cannot store a model call ({exc})") from None

    def clear(self, **kwargs) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM calls")
