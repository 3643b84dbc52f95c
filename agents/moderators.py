"""The moderator: combines the persona comments the way Modular Pluralism combines community messages.

A moderator is one class with one method, `moderate`. Moderators are registered under a mode
name through the `ethosagents.moderators` entry point group; the three built-in modes are
registered there too (pyproject.toml), and a plugin's moderator becomes a new `--mode`.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import numpy as np

from ethos.agents.models.base import Backend, Decoding, OptionDistribution, in_parallel
from ethos.agents.seeds import derive_seed, seeded_argmax
from ethos.agents.prompts import MAX_SELECTION, answer_messages, option_labels, overton_messages, select_messages, selection_labels
from ethos.errors import EthosError
from ethos.plugins import MODERATORS, load_group


class Moderator(Protocol):
    def moderate(self, request: dict, comments: list[dict], backend: Backend, decoding: Decoding, samples: int) -> dict:
        """Combine `comments` on `request` into a JSON-serialisable result.

        `request` is the graph state: situation, mode, options, target, attribute, personas.
        Each comment is {index, persona, text, choice}. Call the model through
        `backend.complete(...)` and `backend.option_distribution(...)` with `decoding`'s budget
        (and `samples`, for endpoints without logprobs).
        """


class OvertonModerator:
    """Summarise every comment into one response that covers each perspective."""

    def moderate(self, request, comments, backend, decoding, samples):
        response = backend.complete(
            overton_messages(request["situation"], comments),
            role="overton_moderator",
            max_tokens=decoding.max_tokens,
            temperature=decoding.temperature,
            seed=decoding.seed,
        )
        return {"response": response.strip()}


def _worst_source(dists: list[OptionDistribution]) -> str:
    sources = {d.source for d in dists}
    return next((s for s in ("uniform_fallback", "sampling") if s in sources), "logprobs")


def balanced_groups(n: int, size: int = MAX_SELECTION) -> list[list[int]]:
    """`range(n)` cut into as few groups of at most `size` as possible, whose sizes differ by at most
    one: no comment gets a bye (a lone last comment would win its group with probability 1)."""
    count = -(-n // size)
    bounds = [round(i * n / count) for i in range(count + 1)]
    return [list(range(a, b)) for a, b in zip(bounds, bounds[1:])]


def select_comment(
    backend: Backend, situation: str, texts: list[str], target: str, *, samples: int, seed: int
) -> tuple[int, OptionDistribution]:
    """The comment that best reflects `target`, and the selection probabilities over all comments.

    Up to nine comments are numbered 1-9 and chosen by the first-token probabilities of the
    numbers. A larger set is compared in two rounds, because "1" would also be the first token of
    "10"-"19": every comment in a group of balanced size (`balanced_groups`, no byes), then the
    groups' best in a final. As in Luce's choice model, a comment's strength is its probability
    relative to its group's winner, times that winner's probability in the final; the strengths
    are renormalised. Equal comments then get equal probabilities, whichever group they are in.
    Ties are broken by a draw from `seed`, never by position.
    """

    def ask(indices: list[int]) -> OptionDistribution:
        return backend.option_distribution(
            select_messages(situation, [texts[i] for i in indices], target), selection_labels(len(indices)),
            role="steerable_select", samples=samples, seed=seed,
        )

    labels = [str(i) for i in range(1, len(texts) + 1)]
    if len(texts) <= MAX_SELECTION:
        dist = ask(list(range(len(texts))))
        return seeded_argmax(dist.probs, seed), OptionDistribution(labels, dist.probs, dist.source)
    groups = balanced_groups(len(texts))
    if len(groups) > MAX_SELECTION:
        raise EthosError(f"at most {MAX_SELECTION ** 2} comments can be compared, got {len(texts)}")
    rounds = in_parallel(ask, groups)
    winners = [group[seeded_argmax(d.probs, derive_seed(seed, "group", g))] for g, (group, d) in enumerate(zip(groups, rounds))]
    final = ask(winners)
    probs = np.array([p / max(d.probs) * final.probs[g] if max(d.probs) > 0 else 0.0
                      for g, d in enumerate(rounds) for p in d.probs])
    probs = probs / probs.sum() if probs.sum() > 0 else np.full(len(texts), 1 / len(texts))
    return seeded_argmax(probs, seed), OptionDistribution(labels, probs.tolist(), _worst_source([*rounds, final]))


class SteerableModerator:
    """Select the comment that best fits the target, then answer with it as the passage."""

    def moderate(self, request, comments, backend, decoding, samples):
        situation, options, target = request["situation"], request["options"], request["target"]
        index, selection = select_comment(
            backend, situation, [c["text"] for c in comments], target, samples=samples, seed=decoding.seed
        )
        messages = answer_messages(situation, options, comments[index]["text"], target=target)
        result = {"target": target, "selection": selection.as_dict(), "selected": index, "selected_persona": comments[index]["persona"]}
        if options:
            answer = backend.option_distribution(
                messages, option_labels(len(options)), role="steerable_answer", samples=samples, seed=decoding.seed
            )
            result |= {"distribution": answer.as_dict(), "choice": answer.pick(decoding.derive("tie").seed)}
        else:
            result["answer"] = backend.complete(
                messages,
                role="steerable_answer",
                max_tokens=decoding.max_tokens,
                temperature=decoding.temperature,
                seed=decoding.seed,
            ).strip()
        return result


class DistributionalModerator:
    """Answer once per comment, read the option probabilities, and average them over the personas."""

    def moderate(self, request, comments, backend, decoding, samples):
        situation, options = request["situation"], request["options"]
        labels = option_labels(len(options))
        personas = request.get("personas") or []
        author_voice = "no-author-voice" not in (request.get("ablations") or [])

        def answer(comment: dict) -> dict:
            dist = backend.option_distribution(
                answer_messages(situation, options, comment["text"], attribute=request.get("attribute"), author_voice=author_voice),
                labels,
                role="distributional_moderator",
                samples=samples,
                seed=decoding.derive(comment.get("index")).seed,
            )
            persona = personas[comment["index"]] if comment.get("index", len(personas)) < len(personas) else {}
            weight = persona.get("weight") or 1.0  # library personas may carry a population weight
            return {"persona": comment["persona"], "weight": weight, **dist.as_dict()}

        per_persona = in_parallel(answer, comments)  # one batch on llama.cpp, overlapping requests on an endpoint
        weights = np.array([p["weight"] for p in per_persona])
        combined = np.average([p["probs"] for p in per_persona], axis=0, weights=weights)
        return {
            "options": options,
            "labels": labels,
            "per_persona": per_persona,
            "distribution": [float(p) for p in combined / combined.sum()],
        }


@cache
def moderators() -> dict[str, Moderator]:
    """Every registered moderator by mode name: the built-ins, then installed plugins."""
    found = {}
    for name, entry in load_group(MODERATORS).items():
        try:
            moderator = entry() if isinstance(entry, type) else entry
        except Exception as exc:
            raise EthosError(f"moderator plugin '{name}' failed to start: {exc.__class__.__name__}: {exc}") from exc
        if not callable(getattr(moderator, "moderate", None)):
            raise EthosError(f"moderator plugin '{name}' has no moderate() method")
        found[name] = moderator
    return found
