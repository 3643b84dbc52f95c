"""What the commands share: the run settings from the flags, the runs folder, the backends loaded
before any work, and the telemetry export."""

from __future__ import annotations

from pathlib import Path

from ethos import settings
from ethos.cli.render import info
from ethos.graph.backends import prepare_backends as prepare
from ethos.inputs import writable_dir
from ethos.redaction import endpoints


def context_from(args, **defaults):
    """The run settings from the flags; `defaults` are the command's own (eval: the reference protocol)."""
    from ethos.graph.context import Context

    values = defaults | {name: getattr(args, name) for name in Context.model_fields if getattr(args, name, None) not in (None, [])}
    if isinstance(values.get("method"), list):  # eval's --method is a list: each method gets its own context
        del values["method"]
    if args.model:
        values["model"] = args.model  # Context applies it to every role not given its own
    values["persona_files"] = [str(Path(f).resolve()) for f in values.get("persona_files", [])]
    if args.base_url:
        endpoints(args.base_url)  # a malformed URL fails here, named, before any work
    return Context(**values)  # checks every setting, the agent variant included


def runs_dir_of(args) -> Path:
    named = "--runs-dir" if args.runs_dir else "$ETHOS_RUNS_DIR" if settings.env("ETHOS_RUNS_DIR") else "the runs folder"
    return writable_dir(args.runs_dir or default_runs_dir(), named)


def prepare_backends(context, args, runs_dir: Path) -> None:
    """Every role's model loaded, with the runs folder's call cache unless --no-cache (see `graph/backends.py`)."""

    prepare(context, None if args.no_cache else runs_dir / "cache.sqlite", info)


def default_runs_dir() -> Path:
    """$ETHOS_RUNS_DIR, or ~/.local/share/ethosagents: records in runs/<id>, checkpoints, cache, eval/."""
    return settings.runs_dir()


def cut(text: str, width: int) -> str:
    """`text` in `width` characters, with "…" where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def start_telemetry(args) -> None:
    from ethos.graph.telemetry import export_traces, traces_endpoint

    endpoint = traces_endpoint(args.otel)
    if endpoint:
        export_traces(endpoint)


def persona_agent_variants() -> dict:
    from ethos.agents.persona_agent import persona_agents

    return persona_agents()
