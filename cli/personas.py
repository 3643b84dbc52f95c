"""`ethos personas list|show|validate`: the persona library and the registered roles."""

from __future__ import annotations

import json

from ethos.cli.common import cut, persona_agent_variants
from ethos.cli.render import info
from ethos.errors import EthosError
from ethos.graph.backends import warn_persona_folder
from ethos.plugins import TASKS, group_names


def personas_command(args) -> int:
    from ethos.personas.library import LIBRARY_DIR, load_library, load_persona_path, user_persona_dir
    from ethos.personas.schema import normalise

    if args.action == "validate":
        paths = args.paths or [LIBRARY_DIR, *([user_persona_dir()] if user_persona_dir().is_dir() else [])]
        total = 0
        for path in paths:
            if not path.exists():
                raise EthosError(f"persona file not found: {path}")
            count = len(load_persona_path(path))
            total += count
            print(f"{path}: {count} valid persona(s)")
        if not args.paths:
            total = len(load_library())  # plugins too
        print(f"ok: {total} persona(s)")
        return 0
    library = load_library(args.persona_file)
    warn_persona_folder()
    if args.action == "show":
        if not args.name.strip():
            raise EthosError("personas show needs a name (see `ethos personas list`)")
        matches = [p for p in library if normalise(args.name) in p.key()]
        if not matches:
            raise EthosError(f"no persona named like {args.name!r} (see `ethos personas list`)")
        shown = [p.model_dump(exclude_none=True) for p in matches]
        print(json.dumps(shown[0] if len(shown) == 1 else shown, indent=1, ensure_ascii=False))  # several: one JSON list
        return 0
    if args.json:
        print(json.dumps([p.model_dump(exclude_none=True) for p in library], ensure_ascii=False))
        return 0
    if args.roles:  # the roles alone: `ethos personas list` shows the personas
        from ethos.agents.moderators import moderators

        print(f"moderators (--mode): {', '.join(moderators())}")
        print(f"persona agents (--agent-variant): {', '.join(persona_agent_variants())}")
        print(f"tasks (ethos eval --task): {', '.join(group_names(TASKS))}")
        return 0
    print(f"{'name':<34} {'source':<8} {'stakeholder':<30} {'framework':<36} culture, religion, age")
    for p in library:
        who = ", ".join(v for v in (p.culture, p.religion, p.age_group) if v)
        print(f"{cut(p.name, 33):<34} {p.source:<8} {cut(p.stakeholder, 29):<30} {cut(p.framework, 35):<36} {who}")
    info(f"{len(library)} personas (curated library, {user_persona_dir()}, plugins, --persona-file)")
    return 0
