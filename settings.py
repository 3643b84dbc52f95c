"""Where EthosAgents reads and writes, and what the environment may set: every path and every
environment variable the project reads is here, once. The run settings (models, budgets,
temperatures, ...) are `graph.context.Context`; this module is what surrounds a run.

Read on each call, not at import, so that a test or a long-lived process sees the environment as it
is now.
"""

from __future__ import annotations

import os
from pathlib import Path

API_KEY_ENV = "OPENAI_API_KEY"  # the default variable of an endpoint's key (--api-key-env names another)

# name -> what it sets (docs/architecture.md lists them from here)
ENVIRONMENT = {
    "ETHOS_MODEL": "the model of every role when no --model flag names one (default: embedded)",
    "ETHOS_BASE_URL": "the OpenAI-compatible endpoint of openai:MODEL when no --base-url is given",
    API_KEY_ENV: "the key sent to that endpoint (never written anywhere)",
    "ETHOS_RUNS_DIR": "the runs folder: records, checkpoints, the call cache and evaluations",
    "ETHOS_CHECKPOINTER": "where `ethos run` checkpoints when no --checkpointer is given",
    "ETHOS_PERSONA_DIR": "the folder of the user's own persona files",
    "ETHOS_DEBUG": "1: an error also prints its traceback (as --debug)",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "an OTLP/HTTP traces URL: each run's spans go there (as --otel)",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "the same, as a base URL (/v1/traces is added)",
    "TIKTOKEN_CACHE_DIR": "tiktoken's BPE files (filled from the bpe-openai package, offline)",
    "OMP_NUM_THREADS": "threads of the llama.cpp models, fixed (default: every core the other processes leave free)",
    "OMP_WAIT_POLICY": "PASSIVE: llama.cpp's threads sleep while waiting; for several embedded processes on one CPU (docs/models.md)",
    "NO_COLOR": "set: plain tables, no colour",
    "TERM": "dumb: no live view and no colour",
    "XDG_DATA_HOME": "the base of the default runs folder (~/.local/share)",
    "XDG_CONFIG_HOME": "the base of the default persona folder (~/.config)",
    "XDG_CACHE_HOME": "the base of the caches (~/.cache)",
}


def env(name: str) -> str | None:
    """The variable's value, or None where it is unset or empty."""
    assert name in ENVIRONMENT, f"{name} is not in settings.ENVIRONMENT"
    return os.environ.get(name) or None


def key(name: str) -> str | None:
    """An endpoint's key from the variable `--api-key-env` names (OPENAI_API_KEY by default): any
    variable whose name says it holds a secret, so that redaction masks its value."""
    return os.environ.get(name) or None


def _base(variable: str, default: str) -> Path:
    return Path(env(variable) or Path.home() / default)


def runs_dir() -> Path:
    """$ETHOS_RUNS_DIR, or ~/.local/share/ethosagents: records in runs/<id>, checkpoints, cache, eval/."""
    if env("ETHOS_RUNS_DIR"):
        return Path(env("ETHOS_RUNS_DIR"))
    data = _base("XDG_DATA_HOME", ".local/share") / "ethosagents"
    earlier = data / "runs"  # releases before 0.2 used ethosagents/runs, so records sat in runs/runs/<id>
    return earlier if (earlier / "checkpoints.sqlite").exists() else data


def persona_dir() -> Path:
    """Where a user drops persona files: $ETHOS_PERSONA_DIR, else ~/.config/ethosagents/personas."""
    return Path(env("ETHOS_PERSONA_DIR") or _base("XDG_CONFIG_HOME", ".config") / "ethosagents" / "personas")


def cache_dir() -> Path:
    """~/.cache/ethosagents (or under $XDG_CACHE_HOME): files made once per machine."""
    return _base("XDG_CACHE_HOME", ".cache") / "ethosagents"


def tiktoken_dir() -> Path:
    return Path(env("TIKTOKEN_CACHE_DIR") or cache_dir() / "tiktoken")


def debug() -> bool:
    return (env("ETHOS_DEBUG") or "0") != "0"


def threads() -> int:
    return max(1, int(env("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1)


def coloured_terminal(stream) -> bool:
    """Colour and boxes for a person at a terminal; plain text when piped, with NO_COLOR or TERM=dumb."""
    return stream.isatty() and not env("NO_COLOR") and env("TERM") != "dumb"
