"""The curated health stakeholder personas, read from TOML files and schema-checked."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from ethos import settings
from ethos.errors import EthosError
from ethos.inputs import read_text
from ethos.personas.schema import Persona, normalise
from ethos.plugins import PERSONAS, load_group

LIBRARY_DIR = Path(__file__).parent / "library"


def user_persona_dir() -> Path:
    """Where a user drops persona files: $ETHOS_PERSONA_DIR, else ~/.config/ethosagents/personas."""
    return settings.persona_dir()


def _validated(entry, where: str, label: str, source: str = "library") -> Persona:
    try:
        return Persona(**{"source": source, **entry})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        raise EthosError(f"{where}: {label}: field '{field}': {err['msg']}") from exc
    except TypeError as exc:
        raise EthosError(f"{where}: {label}: not a table of fields") from exc


def _label(i: int, entry) -> str:
    return f"persona {i}" + (f" ({entry['name']})" if isinstance(entry, dict) and "name" in entry else "")


def load_persona_file(path: Path, source: str = "library") -> list[Persona]:
    """Read `[[persona]]` tables from a TOML file; a bad entry names the file, the entry and the field."""
    try:
        data = tomllib.loads(read_text(path))
    except OSError as exc:
        raise EthosError(f"cannot read persona file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise EthosError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise EthosError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise EthosError(f"{path}: nested too deeply to be a persona file") from None
    entries = data.get("persona")
    if not isinstance(entries, list) or not entries:
        raise EthosError(f"{path}: no [[persona]] entries")
    return [_validated(entry, str(path), _label(i, entry), source) for i, entry in enumerate(entries, 1)]


def load_persona_path(path: Path, source: str = "library") -> list[Persona]:
    """A TOML file, or every `*.toml` file in a folder; `source` says where its personas come from."""
    if path.is_dir():
        return [p for f in sorted(path.glob("*.toml")) for p in load_persona_file(f, source)]
    return load_persona_file(path, source)


def _plugin_personas() -> list[Persona]:
    personas = []
    for name, provider in load_group(PERSONAS).items():
        where = f"persona plugin '{name}'"
        try:
            provided = provider() if callable(provider) else provider
        except Exception as exc:
            raise EthosError(f"{where} failed: {exc.__class__.__name__}: {exc}") from exc
        if isinstance(provided, (str, Path)):
            if not Path(provided).exists():
                raise EthosError(f"{where}: persona file not found: {provided}")
            personas += load_persona_path(Path(provided), "plugin")
            continue
        if not isinstance(provided, (list, tuple)):
            raise EthosError(f"{where} returned {type(provided).__name__}: expected a list of personas or a TOML path")
        for i, entry in enumerate(provided, 1):
            entry = entry.model_dump() if isinstance(entry, Persona) else entry
            personas.append(_validated(entry, f"persona plugin '{name}'", _label(i, entry), "plugin"))
    return personas


@cache
def default_library() -> tuple[Persona, ...]:
    """The curated personas shipped in `personas/library/`."""
    return tuple(load_persona_path(LIBRARY_DIR))


def load_library(files: Iterable[str | Path] = ()) -> list[Persona]:
    """The curated library, then the user's folder, installed plugins and `files`.

    A later persona with the same name replaces an earlier one, so a user can adapt a built-in.
    Read once per process (the graph asks on every run, an evaluation on every item).
    """
    return list(_library(tuple(str(f) for f in files), user_persona_dir()))


@cache
def user_folder(user_dir: Path) -> tuple[tuple[Persona, ...], tuple[str, ...]]:
    """The personas of the user's folder, and one line for each file in it that cannot be read: a
    bad file is skipped (and said), so that it does not stop every run; `ethos personas validate`
    names its mistake."""
    if not user_dir.is_dir():
        return (), ()
    personas, problems = [], []
    for file in sorted(user_dir.glob("*.toml")):
        try:
            personas += load_persona_file(file, "user")
        except EthosError as exc:
            problems.append(f"skipped {file.name} in the persona folder ({exc})"[:400])
    return tuple(personas), tuple(problems)


@cache
def _library(files: tuple[str, ...], user_dir: Path) -> tuple[Persona, ...]:
    sources = [*default_library(), *user_folder(user_dir)[0], *_plugin_personas()]
    for file in files:
        if not Path(file).exists():
            raise EthosError(f"persona file not found: {file}")
        sources += load_persona_path(Path(file), "file")
    by_name = {}
    for persona in sources:
        by_name.pop(persona.key(), None)  # keep the position of the latest definition
        by_name[persona.key()] = persona
    return tuple(by_name.values())


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
            key=lambda p: (normalise(p.stakeholder) not in stakeholders) + (normalise(p.framework) not in frameworks),
        )
        candidates.remove(best)
        chosen.append(best)
        stakeholders.add(normalise(best.stakeholder))
        frameworks.add(normalise(best.framework))
    return chosen
