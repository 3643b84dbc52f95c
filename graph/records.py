"""Run records on disk: one folder per run id with `record.json` (input, configuration, the whole
agent conversation, tokens, timings, fallbacks) and `trace.jsonl` (the LangChain trace).

Nothing secret is written: values of environment variables that hold keys, tokens or passwords
are redacted from every file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections import defaultdict
from pathlib import Path

from ethos.errors import EthosError

_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|AUTHORIZATION|CREDENTIAL)", re.IGNORECASE)


def redact(text: str) -> str:
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and len(value) >= 6 and value in text:
            text = text.replace(value, "[redacted]")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text)


def write_json(path: Path, data) -> None:
    """Atomic, redacted JSON write: a crash never leaves a half-written record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(redact(json.dumps(data, indent=1, ensure_ascii=False, default=str)), encoding="utf-8")
    tmp.replace(path)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def token_summary(conversation: list[dict], prices: dict | None = None) -> dict:
    """Calls and tokens per role and per model (and cost, for models in the price table)."""

    def row() -> dict:
        return {"calls": 0, "cached_calls": 0, "input_tokens": 0, "output_tokens": 0}

    by_role: dict[str, dict] = defaultdict(row)
    by_model: dict[str, dict] = defaultdict(row)
    cost = 0.0
    for exchange in conversation:
        usage = exchange.get("usage") or {}
        for counts in (by_role[exchange["role"]], by_model[exchange["model"]]):
            counts["calls"] += 1
            counts["cached_calls"] += int(exchange.get("cached", False))
            counts["input_tokens"] += usage.get("input_tokens", 0)
            counts["output_tokens"] += usage.get("output_tokens", 0)
        price = (prices or {}).get(exchange["model"].partition(":")[2] or exchange["model"])
        if price and not exchange.get("cached"):
            cost += (usage.get("input_tokens", 0) * price["input"] + usage.get("output_tokens", 0) * price["output"]) / 1e6
    summary = {
        "by_role": dict(by_role),
        "by_model": dict(by_model),
        **{key: sum(r[key] for r in by_role.values()) for key in row()},
    }
    if prices:
        summary["cost_usd"] = round(cost, 6)
    return summary


def load_prices(path: Path) -> dict:
    """A price table: {"MODEL": {"input": USD per million tokens, "output": USD per million tokens}}."""
    try:
        prices = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EthosError(f"cannot read the price table {path}: {exc}") from exc
    for model, price in prices.items() if isinstance(prices, dict) else [(None, None)]:
        if not (isinstance(price, dict) and all(isinstance(price.get(k), (int, float)) for k in ("input", "output"))):
            raise EthosError(f"{path}: entry {model!r} needs numeric 'input' and 'output' prices per million tokens")
    return prices


class RunRecord:
    def __init__(self, runs_dir: Path, run_id: str | None = None):
        self.run_id = run_id or new_run_id()
        self.dir = runs_dir / "runs" / self.run_id
        self.path = self.dir / "record.json"
        self.trace_path = self.dir / "trace.jsonl"
        self.data: dict = json.loads(self.path.read_text()) if self.path.exists() else {}

    def start(self, kind: str, request: dict | None, config: dict, **extra) -> None:
        self.data = {
            "run_id": self.run_id, "kind": kind, "status": "running", "started": time.time(),
            "request": request, "config": config, **extra,
        }
        write_json(self.path, self.data)

    def finish(self, state: dict, *, status: str, seconds: float, fallbacks: dict | None = None,
               error: str | None = None, prices: dict | None = None) -> None:
        conversation = state.get("conversation") or []
        self.data |= {
            "status": status, "finished": time.time(), "seconds": round(seconds, 3), "error": error,
            "personas": state.get("personas"), "persona_report": state.get("persona_report"),
            "comments": state.get("comments"), "result": state.get("result"), "fallbacks": fallbacks,
            "tokens": token_summary(conversation, prices), "conversation": conversation,
        }
        write_json(self.path, self.data)


def list_runs(runs_dir: Path) -> list[dict]:
    records = []
    for path in (runs_dir / "runs").glob("*/record.json"):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return sorted(records, key=lambda r: r.get("started", 0), reverse=True)


def load_record(runs_dir: Path, run_id: str) -> RunRecord:
    matches = sorted(p.parent.name for p in (runs_dir / "runs").glob(f"{run_id}*/record.json"))
    if not matches:
        raise EthosError(f"no run {run_id!r} in {runs_dir / 'runs'}")
    if len(matches) > 1 and run_id not in matches:
        raise EthosError(f"run id {run_id!r} is ambiguous: {', '.join(matches[:5])}")
    return RunRecord(runs_dir, run_id if run_id in matches else matches[0])
