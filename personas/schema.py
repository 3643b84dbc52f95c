"""The persona schema: a name plus the five slots of the EthosAgents method."""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator

GENERATED = ("constrained", "parsed")  # the sources of generated personas
# Personas written beforehand: the curated library, the user's folder, plugins, --persona-file.
WRITTEN = ("library", "user", "plugin", "file")
SLOTS = ("core_value", "framework", "right_or_duty", "emotion", "stakeholder")
SLOT_LABELS = {
    "core_value": "core value",
    "framework": "ethical framework",
    "right_or_duty": "key right or duty",
    "emotion": "emotion",
    "stakeholder": "stakeholder role",
}


class Persona(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    core_value: str
    framework: str
    right_or_duty: str
    emotion: str
    stakeholder: str
    # Optional attributes (library personas): who this persona is, and for which population it
    # speaks (VITAL group codes such as RELIG_Muslim, or countries), with a population weight.
    culture: str | None = None
    religion: str | None = None
    age_group: str | None = None
    care_role: str | None = None
    groups: tuple[str, ...] = ()
    weight: float | None = Field(default=None, gt=0, allow_inf_nan=False, le=1e6)
    # Where a persona came from is always visible: "constrained" or "parsed" (generated, see
    # generation.py), "library", or "target" (added to hold a steering target).
    source: str = "parsed"

    @field_validator("name", *SLOTS)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be empty")
        return value

    def describe(self) -> str:
        slots = [f"{SLOT_LABELS[s]}: {getattr(self, s)}" for s in SLOTS]
        slots += [f"{k.replace('_', ' ')}: {getattr(self, k)}" for k in ("culture", "religion", "age_group") if getattr(self, k)]
        return f"{self.name} ({'; '.join(slots)})"

    @property
    def generated(self) -> bool:
        return self.source in GENERATED

    def key(self) -> str:
        """Identity used for de-duplication: the name, case and punctuation ignored."""
        return normalise(self.name)

    def stance(self) -> tuple[str, ...]:
        """Two personas with the same value, framework and stakeholder say the same thing."""
        return tuple(normalise(getattr(self, s)) for s in ("core_value", "framework", "stakeholder"))


def normalise(text: str) -> str:
    """Letters and digits of any script, case folded; a name of punctuation only is its own key."""
    text = unicodedata.normalize("NFKC", text).casefold()
    words = re.sub(r"[\W_]+", " ", text).strip()
    return words or text.strip()
