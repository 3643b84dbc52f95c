"""The moderator: combines the persona comments the way Modular Pluralism combines community messages.

A moderator is one class with one method, `moderate`. Moderators are registered under a mode
name through the `ethosagents.moderators` entry point group; the three built-in modes are
registered there too (pyproject.toml), and a plugin's moderator becomes a new `--mode`.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import numpy as np

from ethos.agents.models.base import Backend, Decoding
from ethos.agents.prompts import answer_messages, option_labels, overton_messages, select_messages
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


class SteerableModerator:
    """Select the comment that best fits the target, then answer with it as the passage."""

    def moderate(self, request, comments, backend, decoding, samples):
        situation, options, target = request["situation"], request["options"], request["target"]
        selection = backend.option_distribution(
            select_messages(situation, options, comments, target),
            option_labels(len(comments)),
            role="steerable_select",
            samples=samples,
            seed=decoding.seed,
        )
        index = int(np.argmax(selection.probs))
        messages = answer_messages(situation, options, comments[index]["text"], target=target)
        result = {"target": target, "selection": selection.as_dict(), "selected": index, "selected_persona": comments[index]["persona"]}
        if options:
            answer = backend.option_distribution(
                messages, option_labels(len(options)), role="steerable_answer", samples=samples, seed=decoding.seed
            )
            result |= {"distribution": answer.as_dict(), "choice": answer.choice}
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
        per_persona = []
        for comment in comments:
            dist = backend.option_distribution(
                answer_messages(situation, options, comment["text"], attribute=request.get("attribute")),
                labels,
                role="distributional_moderator",
                samples=samples,
                seed=decoding.seed,
            )
            persona = personas[comment["index"]] if comment.get("index", len(personas)) < len(personas) else {}
            weight = persona.get("weight") or 1.0  # library personas may carry a population weight
            per_persona.append({"persona": comment["persona"], "weight": weight, **dist.as_dict()})
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
        moderator = entry() if isinstance(entry, type) else entry
        if not callable(getattr(moderator, "moderate", None)):
            raise EthosError(f"moderator plugin '{name}' has no moderate() method")
        found[name] = moderator
    return found
