"""The persona schema: a name plus the five slots of the EthosAgents method."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

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
    source: str = "generated"  # "generated" or "library": top-ups are always visible

    @field_validator("name", *SLOTS)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be empty")
        return value

    def describe(self) -> str:
        slots = "; ".join(f"{SLOT_LABELS[s]}: {getattr(self, s)}" for s in SLOTS)
        return f"{self.name} ({slots})"

    def key(self) -> str:
        """Identity used for de-duplication: the name, case and punctuation ignored."""
        return normalise(self.name)

    def stance(self) -> tuple[str, ...]:
        """Two personas with the same value, framework and stakeholder say the same thing."""
        return tuple(normalise(getattr(self, s)) for s in ("core_value", "framework", "stakeholder"))


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
