"""The curated health stakeholder personas, read from TOML files and schema-checked."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from ethos.errors import EthosError
from ethos.personas.schema import Persona, normalise

LIBRARY_DIR = Path(__file__).parent / "library"


def load_persona_file(path: Path) -> list[Persona]:
    """Read `[[persona]]` tables from a TOML file; a bad entry names the file, the entry and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EthosError(f"cannot read persona file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise EthosError(f"{path}: not valid TOML: {exc}") from exc
    entries = data.get("persona")
    if not isinstance(entries, list) or not entries:
        raise EthosError(f"{path}: no [[persona]] entries")
    personas = []
    for i, entry in enumerate(entries, 1):
        label = f"persona {i}" + (f" ({entry['name']})" if isinstance(entry, dict) and "name" in entry else "")
        try:
            personas.append(Persona(**{"source": "library", **entry}))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "entry"
            raise EthosError(f"{path}: {label}: field '{field}': {err['msg']}") from exc
        except TypeError as exc:
            raise EthosError(f"{path}: {label}: not a table of fields") from exc
    return personas


@cache
def default_library() -> tuple[Persona, ...]:
    return tuple(p for path in sorted(LIBRARY_DIR.glob("*.toml")) for p in load_persona_file(path))


def top_up(personas: list[Persona], library: list[Persona] | tuple[Persona, ...], k: int) -> list[Persona]:
    """Choose `k` library personas, preferring stakeholders and frameworks the set does not cover yet."""
    if k <= 0:
        return []
    chosen: list[Persona] = []
    stakeholders = {normalise(p.stakeholder) for p in personas}
    frameworks = {normalise(p.framework) for p in personas}
    names = {p.key() for p in personas}
    candidates = [p for p in library if p.key() not in names]
    while candidates and len(chosen) < k:
        best = max(
            candidates,
            key=lambda p: (normalise(p.stakeholder) not in stakeholders)
            + (normalise(p.framework) not in frameworks),
        )
        candidates.remove(best)
        chosen.append(best)
        stakeholders.add(normalise(best.stakeholder))
        frameworks.add(normalise(best.framework))
    return chosen
