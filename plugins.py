"""Entry points through which installed packages extend EthosAgents, built-ins included.

| group                      | an entry point names                                             |
|----------------------------|------------------------------------------------------------------|
| `ethosagents.moderators`   | a class (or instance) with `moderate(...)`; its name is a --mode |
| `ethosagents.persona_agents` | a function like `ethos.agents.persona_agent.draft_comment`     |
| `ethosagents.personas`     | a function returning personas (dicts), or a TOML file or folder |
| `ethosagents.tasks`        | a `Task` subclass (evaluation/tasks/base.py); its name is a --task |
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ethos.errors import EthosError

MODERATORS = "ethosagents.moderators"
PERSONA_AGENTS = "ethosagents.persona_agents"
PERSONAS = "ethosagents.personas"
TASKS = "ethosagents.tasks"


def group_names(group: str) -> list[str]:
    """The names registered in `group`, EthosAgents' own first, without loading any of them (the
    parser lists the tasks this way: `ethos --help` stays light)."""
    found = sorted(entry_points(group=group), key=lambda ep: (not ep.value.startswith("ethos."), ep.name))
    return list(dict.fromkeys(ep.name for ep in found))


def load_group(group: str) -> dict[str, object]:
    """Every entry point of `group`, loaded, by name (EthosAgents' own come first)."""
    found = sorted(entry_points(group=group), key=lambda ep: (not ep.value.startswith("ethos."), ep.name))
    loaded: dict[str, object] = {}
    for ep in found:
        try:
            loaded.setdefault(ep.name, ep.load())
        except Exception as exc:
            raise EthosError(f"plugin '{ep.name}' ({ep.value}) in {group} failed to load: {exc.__class__.__name__}: {exc}") from exc
    if not any(ep.value.startswith("ethos.") for ep in found) and group != PERSONAS:
        raise EthosError(f"no built-in {group} found: install EthosAgents (`pip install -e .`) so its entry points exist")
    return loaded
