"""The models a run needs, loaded before any work: every role's backend with its call cache, and the
persona library, so a bad spec, a missing model or a broken persona file fails first, by name."""

from __future__ import annotations

import sys
from pathlib import Path


def prepare_backends(context, cache: Path | None, say) -> None:
    """Load every role's model (each serving repeated calls from the cache at `cache`; None: no
    cache) and the persona library; a bad file in the persona folder is skipped and said. `say`
    gets the notes a person would want (a base model without a chat template)."""
    from ethos.personas.library import load_library

    load_library(context.persona_files)
    warn_persona_folder()
    context.load_models(cache)
    for spec in context.models():
        if not context.model(spec).chat_template:
            say(f"{spec} has no chat template (a base model): every prompt goes to it as raw text, messages as paragraphs")


def warn_persona_folder() -> None:
    from ethos.personas.library import user_folder, user_persona_dir

    for problem in user_folder(user_persona_dir())[1]:
        print(f"ethos: warning: {problem}: `ethos personas validate` names the mistake", file=sys.stderr)
