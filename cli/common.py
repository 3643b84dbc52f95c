"""What the commands share: the run settings from the flags, the runs folder, the backends loaded
before any work, and the telemetry export."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ethos import settings
from ethos.cli.render import info
from ethos.errors import EthosError


def writable_dir(path: Path, flag: str) -> Path:
    """`path` as a folder EthosAgents can write to (created if missing), or an error naming the flag."""
    if path.exists() and not path.is_dir():
        raise EthosError(f"{flag} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EthosError(f"{flag} {path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise EthosError(f"{flag} {path}: the folder is not writable")
    return path


def context_from(args, **defaults):
    """The run settings from the flags; `defaults` are the command's own (eval: the reference protocol)."""
    from ethos.graph.context import MODEL_ROLES, Context

    values = defaults | {name: getattr(args, name) for name in Context.model_fields if getattr(args, name, None) not in (None, [])}
    if isinstance(values.get("method"), list):  # eval's --method is a list: each method gets its own context
        del values["method"]
    for role in MODEL_ROLES:
        if args.model and role not in values:
            values[role] = args.model
    values["persona_files"] = [str(Path(f).resolve()) for f in values.get("persona_files", [])]
    if args.base_url:
        from ethos.redaction import split_endpoint

        split_endpoint(args.base_url)  # a malformed URL fails here, named, before any work
    return Context(**values)  # checks every setting, the agent variant included


def runs_dir_of(args) -> Path:
    named = "--runs-dir" if args.runs_dir else "$ETHOS_RUNS_DIR" if settings.env("ETHOS_RUNS_DIR") else "the runs folder"
    return writable_dir(args.runs_dir or default_runs_dir(), named)


def prepare_backends(context, args, runs_dir: Path) -> None:
    """Load every role's model and its cache, and the persona library: a bad spec, a missing
    model or a broken --persona-file fails before any work; a bad file in the persona folder is
    skipped and said."""
    from ethos.personas.library import load_library

    load_library(context.persona_files)
    warn_persona_folder()
    context.load_models(None if args.no_cache else runs_dir / "cache.sqlite")
    for spec in context.models():
        if not context.model(spec).chat_template:
            info(f"{spec} has no chat template (a base model): every prompt goes to it as raw text, messages as paragraphs")


def warn_persona_folder() -> None:
    from ethos.personas.library import user_folder, user_persona_dir

    for problem in user_folder(user_persona_dir())[1]:
        print(f"ethos: warning: {problem}: `ethos personas validate` names the mistake", file=sys.stderr)


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
