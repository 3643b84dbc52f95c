"""The moderator: combines the persona comments the way Modular Pluralism combines community messages.

Each mode runs Modular Pluralism's protocol (`reference.py`: its prompts, generated selections
read by its rule, generated steerable ValueKaleidoscope answers, the plain mean) unless this
project's choices in the request (`request["choices"]`, see graph/ablations.py ETHOS_CHOICES) say
otherwise: "prompts" (this project's prompts), "letters" (selection and answers read from
first-token probabilities), "weights" (the mean weighted by library personas' weights).

A moderator is one class with one method, `moderate`. Moderators are registered under a mode
name through the `ethosagents.moderators` entry point group; the three built-in modes are
registered there too (pyproject.toml), and a plugin's moderator becomes a new `--mode`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Protocol

import numpy as np

from ethos.agents import reference
from ethos.agents.models.base import Backend, Decoding, Prompt
from ethos.agents.models.options import OptionDistribution
from ethos.agents.models.parallel import in_parallel
from ethos.agents.prompts import MAX_SELECTION, answer_messages, option_labels, overton_messages, select_messages, selection_labels
from ethos.agents.seeds import derive_seed, seeded_argmax
from ethos.errors import EthosError
from ethos.plugins import MODERATORS, load_group


class Moderator(Protocol):
    def moderate(self, request: dict, comments: list[dict], backend: Backend, decoding: Decoding, samples: int) -> dict:
        """Combine `comments` on `request` into a JSON-serialisable result.

        `request` is the graph state: situation, mode, options, target, attribute, personas, and
        `choices` (this project's choices in effect; none: Modular Pluralism's protocol).
        Each comment is {index, persona, text, choice}. Call the model through
        `backend.complete(...)` and `backend.option_distribution(...)` with `decoding`'s budget
        (and `samples`, for endpoints without logprobs).
        """


class OvertonModerator:
    """Summarise every comment into one response that covers each perspective."""

    def moderate(self, request, comments, backend, decoding, samples):
        prompt = (
            overton_messages(request["situation"], comments)
            if _uses(request, "prompts")
            else reference.overton_prompt(request, [c["text"] for c in comments])
        )
        response = backend.complete(
            prompt,
            role="overton_moderator",
            max_tokens=decoding.max_tokens,
            temperature=decoding.temperature,
            seed=decoding.seed,
            sampler=reference.sampler(request.get("choices")),
        )
        return {"response": response.strip()}


def _uses(request: dict, choice: str) -> bool:
    return choice in (request.get("choices") or ())


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
    backend: Backend, texts: list[str], prompt: Callable[[list[str]], Prompt], *, samples: int, seed: int, reading: str = "ethos"
) -> tuple[int, OptionDistribution]:
    """The comment that best reflects the target, and the selection probabilities over all comments.
    `prompt(texts)` asks for the best of `texts`, numbered from 1.

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
            prompt([texts[i] for i in indices]),
            selection_labels(len(indices)),
            role="steerable_select",
            samples=samples,
            seed=seed,
            reading=reading,
        )

    labels = [str(i) for i in range(1, len(texts) + 1)]
    if len(texts) <= MAX_SELECTION:
        dist = ask(list(range(len(texts))))
        return seeded_argmax(dist.probs, seed), OptionDistribution(labels, dist.probs, dist.source)
    groups = balanced_groups(len(texts))
    if len(groups) > MAX_SELECTION:
        raise EthosError(f"at most {MAX_SELECTION**2} comments can be compared, got {len(texts)}")
    rounds = in_parallel(ask, groups)
    winners = [group[seeded_argmax(d.probs, derive_seed(seed, "group", g))] for g, (group, d) in enumerate(zip(groups, rounds))]
    final = ask(winners)
    probs = np.array([p / max(d.probs) * final.probs[g] if max(d.probs) > 0 else 0.0 for g, d in enumerate(rounds) for p in d.probs])
    probs = probs / probs.sum() if probs.sum() > 0 else np.full(len(texts), 1 / len(texts))
    return seeded_argmax(probs, seed), OptionDistribution(labels, probs.tolist(), _worst_source([*rounds, final]))


def generated_selection(backend: Backend, texts: list[str], prompt: Prompt, *, decoding: Decoding, sampler: dict) -> tuple[int, dict]:
    """The reference's selection: 20 tokens generated, the first comment number in the reply, and a
    seeded random comment when it names none (counted as `random_fallback`)."""
    reply = backend.complete(
        prompt,
        role="steerable_select",
        max_tokens=reference.SHORT_TOKENS,
        temperature=decoding.temperature,
        seed=decoding.seed,
        sampler=sampler,
    )
    index, drawn = reference.first_label(reply, [str(i) for i in range(1, len(texts) + 1)], decoding.derive("draw").seed)
    return index, {"reply": reply, "source": "random_fallback" if drawn else "generated"}


class SteerableModerator:
    """Select the comment that best fits the target, then answer with it as the passage."""

    def moderate(self, request, comments, backend, decoding, samples):
        situation, options, target = request["situation"], request["options"], request["target"]
        texts = [c["text"] for c in comments]
        ours = _uses(request, "prompts")
        ask = (lambda shown: select_messages(situation, shown, target)) if ours else (lambda shown: reference.select_prompt(request, shown))
        if _uses(request, "letters"):
            index, chosen = select_comment(
                backend, texts, ask, samples=samples, seed=decoding.seed, reading=reference.letter_reading(request.get("choices"))
            )
            selection = chosen.as_dict()
        else:
            index, selection = generated_selection(
                backend, texts, ask(texts), decoding=decoding, sampler=reference.sampler(request.get("choices"))
            )
        passage = comments[index]["text"]
        prompt = (
            answer_messages(situation, options, passage, target=target) if ours else reference.steerable_answer_prompt(request, passage)
        )
        result = {"target": target, "selection": selection, "selected": index, "selected_persona": comments[index]["persona"]}
        if options and (_uses(request, "letters") or not reference.generates(request)):
            answer = backend.option_distribution(
                prompt,
                option_labels(len(options)),
                role="steerable_answer",
                samples=samples,
                seed=decoding.seed,
                reading=reference.letter_reading(request.get("choices")),
            )
            result |= {"distribution": answer.as_dict(), "choice": answer.pick(decoding.derive("tie").seed)}
        else:  # an open question, or a generated steerable ValueKaleidoscope answer (read by the scorer's parser)
            budget = reference.SHORT_TOKENS if options else decoding.max_tokens
            result["answer"] = backend.complete(
                prompt,
                role="steerable_answer",
                max_tokens=budget,
                temperature=decoding.temperature,
                seed=decoding.seed,
                sampler=reference.sampler(request.get("choices")),
            ).strip()
        return result


class DistributionalModerator:
    """Answer once per comment, read the option probabilities, and average them over the comments."""

    def moderate(self, request, comments, backend, decoding, samples):
        situation, options = request["situation"], request["options"]
        labels = option_labels(len(options))
        personas = request.get("personas") or []
        author_voice = "no-author-voice" not in (request.get("ablations") or [])

        def prompt(passage: str) -> Prompt:
            if _uses(request, "prompts"):
                return answer_messages(situation, options, passage, attribute=request.get("attribute"), author_voice=author_voice)
            return reference.distributional_prompt(request, passage)

        def answer(comment: dict) -> dict:
            dist = backend.option_distribution(
                prompt(comment["text"]),
                labels,
                role="distributional_moderator",
                samples=samples,
                seed=decoding.derive(comment.get("index")).seed,
                reading=reference.letter_reading(request.get("choices")),
            )
            persona = personas[comment["index"]] if comment.get("index", len(personas)) < len(personas) else {}
            # library personas may carry a population weight; the reference takes the plain mean
            weight = (persona.get("weight") or 1.0) if _uses(request, "weights") else 1.0
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
