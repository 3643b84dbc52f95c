"""Option probabilities and answer labels: a distribution over option labels (read from a reply's
first-token logprobs, or estimated by sampling), and the label a reply opens with."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ethos.agents.seeds import seeded_argmax


@dataclass
class OptionDistribution:
    labels: list[str]
    probs: list[float]
    source: str  # "logprobs", "sampling" or "uniform_fallback"

    def pick(self, seed: int) -> str:
        """The most likely label; a tie (a uniform fallback, say) is broken by a draw from `seed`."""
        return self.labels[seeded_argmax(self.probs, seed)]

    def sample(self, temperature: float, seed: int) -> str:
        """One label drawn at `temperature` (0: the most likely), reproducibly from `seed`."""
        probs = np.asarray(self.probs, dtype=float)
        if temperature <= 0 or probs.sum() <= 0:
            return self.pick(seed)
        weights = np.power(probs, 1.0 / temperature)
        return self.labels[int(np.random.default_rng(seed).choice(len(probs), p=weights / weights.sum()))]

    def as_dict(self) -> dict:
        return asdict(self)


def uniform(labels: Sequence[str]) -> OptionDistribution:
    return OptionDistribution(list(labels), [1 / len(labels)] * len(labels), "uniform_fallback")


def _token_label(token: str) -> str:
    # "A", " A", "(A" and "A." all name option A; their probabilities are summed.
    return token.strip().lstrip("(*[").rstrip(".):]*")


def distribution_from_top_logprobs(top: Sequence[dict], labels: Sequence[str]) -> list[float] | None:
    """Sum the probability of every candidate token that names a label, renormalised over the labels."""
    mass = dict.fromkeys(labels, 0.0)
    for entry in top:
        label = _token_label(str(entry.get("token", "")))
        logprob = entry.get("logprob")
        # an endpoint's logprob that is no log-probability (NaN, above 0, text) counts as absent
        if label in mass and isinstance(logprob, (int, float)) and math.isfinite(logprob) and logprob <= 1e-6:
            mass[label] += math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return [mass[label] / total for label in labels]


# A label only counts when punctuation or the end of the reply follows it: "B. ...", "(C) ...",
# "D: ...", "**A**" and a bare "B" are choices; "A patient should ..." is not.
_LEADING_LABEL = re.compile(r"^[\s*_\[(]*([A-Za-z0-9]+)[*_]*(?:[.):\]]|\s*$)")


def leading_label(text: str, labels: Sequence[str]) -> str | None:
    """The option label a reply opens with, if it is one of `labels` and reads as a choice."""
    match = _LEADING_LABEL.match(text)
    return match[1] if match and match[1] in labels else None


def strip_leading_label(text: str) -> str:
    """The reply without the option label it opens with (see `leading_label`)."""
    match = _LEADING_LABEL.match(text)
    return text[match.end():].lstrip() if match else text
