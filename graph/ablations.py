"""The ablations: parts of the method that can be switched off, and this project's choices that
can be switched on under the reference protocol (or back off under this project's), each measured
as an evaluation row of its own."""

from __future__ import annotations

import re

from ethos.errors import EthosError
from ethos.graph.setting import shown

# Where this project departs from Modular Pluralism's protocol (agents/reference.py). `--protocol
# ethos` makes every one of these choices; a reference run adds one with `--ablation ethos-NAME`.
ETHOS_CHOICES = {
    "letters": "comment selection, MoE's expert choice and steerable ValueKaleidoscope answers are read from first-token "
    "probabilities, not parsed from 20 generated tokens",
    "prompts": "this project's chat prompts (the situation beside the comments, the target phrased 'in terms of ...', answers "
    "'as the passage's author would') instead of the reference's completion prompts",
    "weights": "the distributional mean is weighted by library personas' population weights, not a plain mean",
    "letter-reading": "option letters are read from every next-token candidate the backend gives (100 local, 20 on an endpoint) "
    "with every token that names a letter summed ('A', ' A', '(A'), and estimated by sampling where an endpoint "
    "gives no logprobs, not from the top 10 by the first match as the reference reads them",
    "sampler": "generated replies on llama.cpp sample with its usual top-k 40 and min-p 0.05, not transformers' defaults "
    "(top-k 50, no min-p) as the authors' generate does",
    "special-tokens": "generated replies drop the special tokens the model writes (its end-of-turn token's text, such as "
    "'</s>'), which the authors' decoding keeps (transformers' decode without skip_special_tokens)",
}

# Parts of the method that can be switched off (or, ethos-NAME, switched on), each measured as its own evaluation row.
ABLATIONS = {
    "no-target-persona": "no persona holding the steering target is added when none of the set holds it",
    "no-author-voice": "distributional answers are not asked 'as the passage's author would' (this project's prompts only)",
    "no-top-up": "no library personas fill a short generation (the set may be smaller)",
    "personas-N": "N personas instead of the default number",
    **{f"ethos-{name}": f"this project's choice under the reference protocol: {about}" for name, about in ETHOS_CHOICES.items()},
    **{
        f"reference-{name}": f"the reference's way under --protocol ethos, instead of this project's choice '{name}'"
        for name in ETHOS_CHOICES
    },
}
# Ablations that change the protocol, not the persona method: they make a row of every evaluated method.
PROTOCOL_ABLATIONS = tuple(name for name in ABLATIONS if name.startswith(("ethos-", "reference-")))


def ablation_changes(spec: str, protocol: str, ablations: list[str], persona_limits: tuple[int, int]) -> dict:
    """The settings an `--ablation` spec (comma-separated names) changes: the ablations, and the
    number of personas for `personas-N`; an unknown name, or a choice already in effect, is refused."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    changes: dict = {"ablations": sorted(set(ablations) | set(names))}
    for name in names:
        count = re.fullmatch(r"personas-(\d{1,6})", name)
        if count:
            low, high = persona_limits
            if not low <= int(count[1]) <= high:
                raise EthosError(f"--ablation {name}: the number of personas must be between {low} and {high}")
            changes["n_personas"] = int(count[1])
        elif name not in ABLATIONS:
            raise EthosError(f"unknown --ablation {name[:60]!r}: choose from {', '.join(ABLATIONS)}")
        elif name.startswith(f"{protocol}-"):
            raise EthosError(f"--ablation {name}: already so under --protocol {protocol}")
    return changes


def choices_in_effect(protocol: str, ablations: list[str]) -> list[str]:
    """This project's choices in effect (ETHOS_CHOICES): under `--protocol ethos` all but those a
    `reference-NAME` ablation takes back, under the reference protocol those an `ethos-NAME` adds."""
    if protocol == "ethos":
        return sorted(name for name in ETHOS_CHOICES if f"reference-{name}" not in ablations)
    return sorted(a.removeprefix("ethos-") for a in ablations if a.removeprefix("ethos-") in ETHOS_CHOICES)


def check_ablations(names: list[str]) -> None:
    """A context's ablations are names from ABLATIONS (or personas-N), a few of them: a served
    client's list too (names, never paths). A ValueError names the first that is not."""
    bad = next((a for a in names if not re.fullmatch(r"personas-\d{1,2}", a) and a not in ABLATIONS), None)
    if bad is not None:
        raise ValueError(f"ablations: unknown {shown(bad)}: choose from {', '.join(ABLATIONS)}")
    if len(names) > len(ABLATIONS):
        raise ValueError(f"ablations: at most {len(ABLATIONS)} names, got {len(names)}")
