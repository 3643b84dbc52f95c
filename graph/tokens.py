"""A run's calls, tokens and cost: summed per role and per model from its exchanges (the run
record's `tokens`), merged node by node in the graph state, and priced from a price table."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ethos.errors import EthosError
from ethos.inputs import read_text, real_number

COUNTS = ("calls", "cached_calls", "input_tokens", "output_tokens")  # what each row of a summary counts


def token_summary(conversation: list[dict], prices: dict | None = None) -> dict:
    """Calls and tokens per role and per model (and cost, for models in the price table)."""

    def row() -> dict:
        return dict.fromkeys(COUNTS, 0)

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


def merge_tokens(a: dict, b: dict) -> dict:
    """Two token summaries as one (the graph state's reducer: each node adds its calls')."""
    if not a or not b:
        return b or a or {}
    merged = {key: a.get(key, 0) + b.get(key, 0) for key in COUNTS}
    for by in ("by_role", "by_model"):
        rows = {name: dict(row) for name, row in a.get(by, {}).items()}
        for name, row in b.get(by, {}).items():
            rows[name] = {key: rows.get(name, {}).get(key, 0) + value for key, value in row.items()}
        merged[by] = rows
    return merged


def usage(tokens: dict) -> dict:
    """A run's usage as `ethos run --json` and a served run give it, from its token summary."""
    return {
        "new_tokens": tokens["output_tokens"],
        "by_role": tokens["by_role"],
        "by_model": tokens["by_model"],
        "cached_calls": tokens["cached_calls"],
        **({"cost_usd": tokens["cost_usd"]} if "cost_usd" in tokens else {}),
    }


MAX_PRICE = 1_000_000  # USD per million tokens: a price above this is a mistake, not a model's


def _price_ok(value) -> bool:
    return real_number(value) and 0 <= value <= MAX_PRICE


def load_prices(path: Path) -> dict:
    """A price table: {"MODEL": {"input": USD per million tokens, "output": USD per million tokens}}."""
    try:
        prices = json.loads(read_text(path))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # a 5,000-digit number, deep nesting
        raise EthosError(f"cannot read the price table {path}: {str(exc)[:200] or exc.__class__.__name__}") from None
    if not isinstance(prices, dict):
        raise EthosError(f'{path}: a price table is a JSON object of models, e.g. {{"gpt-4o": {{"input": 2.5, "output": 10}}}}')
    for model, price in prices.items():
        if not (isinstance(price, dict) and all(_price_ok(price.get(k)) for k in ("input", "output"))):
            raise EthosError(
                f"{path}: entry {model[:60]!r} needs 'input' and 'output' prices from 0 to {MAX_PRICE:,} (USD per million tokens)"
            )
    return prices
