"""Option probabilities and answer labels: a distribution over option labels (read from a reply's
first-token logprobs, or estimated by sampling), and the label a reply opens with."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ethos.agents.seeds import seeded_argmax
from ethos.inputs import real_number

# How the letters are read from the next-token candidates (`option_distribution(reading=...)`):
# - "reference": Modular Pluralism's reading (its `lm_utils.py` and `vanilla_lm.py`): the top 10
#   candidates keyed by their decoded text, the first key whose stripped text is the label, 0 for a
#   label outside the top 10, uniform when no label is there; an endpoint without logprobs gives
#   its fixed stand-in (A-D at 0.25 each, see `reference_stand_in`);
# - "ethos": this project's (the ablation `ethos-letter-reading`): every candidate the backend
#   gives, every token that names a label summed ("A", " A", "(A", "A."), and a sampled estimate
#   where an endpoint gives no logprobs.
READINGS = ("reference", "ethos")
REFERENCE_CANDIDATES = 10


@dataclass
class OptionDistribution:
    labels: list[str]
    probs: list[float]
    source: str  # "logprobs", "sampling", "uniform_fallback" or "reference_stand_in"
    capped: int | None = None  # the endpoint gave at most this many candidates, fewer than the reading asks

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
        found = asdict(self)
        if self.capped is None:
            del found["capped"]
        return found


def uniform(labels: Sequence[str], capped: int | None = None) -> OptionDistribution:
    return OptionDistribution(list(labels), [1 / len(labels)] * len(labels), "uniform_fallback", capped)


def _usable(entry: dict) -> float | None:
    """A candidate's probability; an endpoint's logprob that is no log-probability (NaN, above 0,
    text) counts as absent."""
    logprob = entry.get("logprob") if isinstance(entry, dict) else None
    if real_number(logprob, math.inf) and logprob <= 1e-6:
        return math.exp(logprob)
    return None


def _normalised(probs: list[float]) -> list[float] | None:
    total = sum(probs)
    return [p / total for p in probs] if total > 0 else None


def reference_distribution(top: Sequence[dict], labels: Sequence[str]) -> list[float] | None:
    """Modular Pluralism's reading of the next-token candidates, renormalised over `labels` (None:
    no label among them). The top 10 (the API's `top_logprobs=10`) go into a dict keyed by decoded
    text in the order the backend lists them, as the authors read the API's list (a local backend
    lists them by probability), so a later token with the same text overwrites the probability and
    keeps the first one's place; each label takes the first key whose stripped text equals it."""
    usable = [e for e in top if _usable(e) is not None]
    kept = {id(e) for e in sorted(usable, key=lambda e: -_usable(e))[:REFERENCE_CANDIDATES]}  # which 10: the most probable
    ranked = [e for e in usable if id(e) in kept]  # in the listed order
    keyed: dict[str, float] = {}
    for entry in ranked:
        keyed[str(entry.get("token", ""))] = _usable(entry)
    return _normalised([next((p for key, p in keyed.items() if key.strip() == label), 0.0) for label in labels])


# The reference's stand-in when an OpenAI reply holds no logprobs (`lm_utils.llm_response`): these
# token probabilities, read as any reply's; a fifth option (E) gets 0.
REFERENCE_STAND_IN = [
    {"token": t, "logprob": math.log(p)}
    for t, p in [("A", 0.25), ("B", 0.25), ("C", 0.25), ("D", 0.25), *((str(i), 0.2) for i in range(1, 6))]
]


def reference_stand_in(labels: Sequence[str]) -> OptionDistribution:
    probs = reference_distribution(REFERENCE_STAND_IN, labels)
    return OptionDistribution(list(labels), probs, "reference_stand_in") if probs else uniform(labels)


def _token_label(token: str) -> str:
    # "A", " A", "(A" and "A." all name option A; their probabilities are summed.
    return token.strip().lstrip("(*[").rstrip(".):]*")


def distribution_from_top_logprobs(top: Sequence[dict], labels: Sequence[str]) -> list[float] | None:
    """Sum the probability of every candidate token that names a label, renormalised over the labels."""
    mass = dict.fromkeys(labels, 0.0)
    for entry in top:
        label = _token_label(str(entry.get("token", ""))) if isinstance(entry, dict) else None
        if label in mass and _usable(entry) is not None:
            mass[label] += _usable(entry)
    return _normalised([mass[label] for label in labels])


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
    return text[match.end() :].lstrip() if match else text
