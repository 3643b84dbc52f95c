"""The results store of one evaluation folder (`--out`): `results.jsonl`, one record per finished
item, appended atomically by the worker that ran it and synced, so a kill loses nothing finished.

- One writer at a time: a second `ethos eval` on the same folder is refused (an advisory lock).
- A line cut short by a kill is cut off on open; a line that is not a record is skipped. Both are
  counted and reported (the item then simply runs again).
- The last record of an id wins: succeeded items are skipped, failed ones run again.
- `running.jsonl` lists the run records of items in flight; records a killed process left
  "running" are marked "interrupted" on the next start.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from ethos.errors import EthosError, RunFailure
from ethos.evaluation.log import read_result_lines
from ethos.graph.records import RunRecord, is_run_id, mark_interrupted
from ethos.inputs import append_text, json_line, write_file


class ResultStore:
    def __init__(self, out_dir: Path, runs_dir: Path | None = None, *, distributions: bool = False):
        self.distributions = distributions  # the task's predictions are distributions: an ok line must hold one
        self.path = out_dir / "results.jsonl"
        self._running = out_dir / "running.jsonl"  # the run records of items in flight
        self.records: dict[str, dict] = {}
        self.repairs = {"cut_lines": 0, "unreadable_lines": 0, "interrupted_runs": 0}
        self._write_lock = threading.Lock()
        self._lock_file = _acquire(out_dir / ".lock")
        try:
            self._load()
            self._close_interrupted(runs_dir)
        except BaseException:
            self.close()
            raise

    def _load(self) -> None:
        for path in (self.path, self._running):
            if path.is_symlink():  # never read, cut or append through a link someone planted
                raise EthosError(f"{path}: a link, not this folder's own file: remove it, or use another --out")
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # a kill in the middle of an append
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(keep)
            data = data[:keep]
            self.repairs["cut_lines"] += 1
        self.records, self.repairs["unreadable_lines"] = read_result_lines(data, distributions=self.distributions)

    def _close_interrupted(self, runs_dir: Path | None) -> None:
        if self._running.exists() and runs_dir is not None:
            for line in self._running.read_text(encoding="utf-8", errors="replace").splitlines():
                if not is_run_id(line.strip()):
                    continue
                try:
                    record = RunRecord(runs_dir, line.strip())
                except EthosError:
                    continue  # an unreadable record: `ethos runs` skips it too
                if record.data.get("status") == "running":  # we hold the lock: its writer is gone
                    mark_interrupted(record.path, record.data, "the eval was killed while this item ran")
                    self.repairs["interrupted_runs"] += 1
        write_file(self._running, "")

    def succeeded(self) -> set[str]:
        return {key for key, record in self.records.items() if record["status"] == "ok"}

    def started(self, run_id: str) -> None:
        self._append(self._running, run_id + "\n")

    def add(self, record: dict) -> None:
        self._append(self.path, json_line(record))
        self.records[str(record["id"])] = record

    def _append(self, path: Path, text: str) -> None:
        # One write call per line on an O_APPEND descriptor, then fsync: a line is whole or cut
        # at its end, never interleaved with another worker's.
        with self._write_lock:
            append_text(path, text, sync=True)

    def report(self) -> str | None:
        parts = [
            f"{n} {what}"
            for what, n in (
                ("line cut short by a kill was cut off", self.repairs["cut_lines"]),
                ("unreadable line(s) skipped", self.repairs["unreadable_lines"]),
                ("item run(s) left running by a killed process marked interrupted", self.repairs["interrupted_runs"]),
            )
            if n
        ]
        return f"{self.path}: " + "; ".join(parts) + " (those items run again)" if parts else None

    def close(self) -> None:
        """Release the folder. Every item started here has ended and recorded itself by now (a
        kill never gets here), so the in-flight list is emptied."""
        if self._lock_file is not None:
            if self._running.exists():
                write_file(self._running, "")
            self._lock_file.close()  # closing the descriptor releases the lock
            self._lock_file = None


def _acquire(path: Path):
    try:
        f = os.fdopen(os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644), "a+", encoding="utf-8")
    except OSError as exc:
        raise EthosError(f"cannot write to {path.parent}: {exc.strerror}") from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise RunFailure(
            f"{path.parent} is in use by another ethos eval (pid {holder}): wait for it to finish, or use another --out"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f
