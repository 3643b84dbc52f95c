"""The baselines' roles, as graph nodes call them: a community agent, MoE's router and the main
model answering on its own (vanilla, prompting, and MoE after its expert wrote).

Community agents stand in for Modular Pluralism's fine-tuned community models (see
`baseline_prompts.py`). Each role runs Modular Pluralism's protocol (`reference.py`) unless this
project's choices (`choices`, see graph/ablations.py ETHOS_CHOICES) say otherwise: with "prompts" the
prompts of `baseline_prompts.py`, where community agents choose their option as persona agents do;
with "letters" MoE's router reads its choice from first-token probabilities.
"""

from __future__ import annotations

from collections.abc import Collection

from ethos.agents import reference
from ethos.agents.baseline_prompts import (
    COMMUNITIES,
    community_messages,
    direct_messages,
    expert_choice_messages,
    passage_messages,
    prompting_instruction,
)
from ethos.agents.models.base import Backend, Decoding
from ethos.agents.persona_agent import write_with_choice
from ethos.agents.prompts import option_labels


def community_comment(backend: Backend, community: dict, request: dict, decoding: Decoding) -> dict:
    """One community's message as `{persona, text, choice, choice_source}`. Its seed comes from the
    item and the community (not its place among the voices), so MoE's expert and ModPlural's same
    community write the same message, which the call cache then holds once, as the reference
    generates one message per item and community for both methods."""
    if "prompts" in (request.get("choices") or ()):
        comment = write_with_choice(
            backend, community_messages(community["description"], request), request["options"], role="community_agent", decoding=decoding
        )
    else:  # as the reference sends it: one user turn through the chat template, nucleus sampling; not asked to choose an option
        text = backend.complete(
            [("human", reference.community_prompt(request))],
            role="community_agent",
            max_tokens=decoding.max_tokens,
            temperature=decoding.temperature,
            seed=decoding.seed,
            top_p=reference.COMMUNITY_TOP_P,
            sampler=reference.sampler(request.get("choices")),
        )
        comment = {"text": text.strip(), "choice": None, "choice_source": "not_asked"}
    return {"persona": community["name"], **comment}


def route_expert(backend: Backend, request: dict, *, samples: int, seed: int, choices: Collection[str]) -> tuple[dict, dict]:
    """MoE's router: the community best placed to inform the answer, and how it was chosen (the
    router's distribution, or its reply and the expert read from it)."""
    prompt = expert_choice_messages(request) if "prompts" in choices else reference.router_prompt(request)
    labels = option_labels(len(COMMUNITIES)) if "prompts" in choices else [str(i) for i in range(1, len(COMMUNITIES) + 1)]
    if "letters" in choices:
        router = backend.option_distribution(
            prompt, labels, role="moe_router", samples=samples, seed=seed, reading=reference.letter_reading(choices)
        )
        return COMMUNITIES[labels.index(router.pick(seed))], router.as_dict()  # a uniform fallback picks at random
    budget = reference.ROUTER_TOKENS["generate" if reference.generates(request) else "probability"]
    reply = backend.complete(
        prompt, role="moe_router", max_tokens=budget, temperature=reference.TEMPERATURE, seed=seed, sampler=reference.sampler(choices)
    )
    index, drawn = reference.first_label(reply, labels, seed)
    return COMMUNITIES[index], {"reply": reply, "chosen": labels[index], "source": "random_fallback" if drawn else "generated"}


def direct_answer(
    backend: Backend, request: dict, *, passage: str | None, instruct: bool, decoding: Decoding, samples: int, choices: Collection[str]
) -> dict:
    """The main model's own answer: free text (`response`) for an Overton or open question, generated
    text (`answer`) where the reference generates one (steerable ValueKaleidoscope), else the option
    distribution (`distribution`, `choice`). `passage` is an expert's message to answer with (MoE);
    `instruct` puts the prompting baseline's instruction in front."""
    if "prompts" in choices:
        prompt = (
            passage_messages(request, passage)
            if passage is not None
            else direct_messages(request, prompting_instruction(request) if instruct else "")
        )
    else:
        prompt = reference.passage_prompt(request, passage) if passage is not None else reference.direct_prompt(request, instruct)

    def generated(max_tokens: int) -> str:
        return backend.complete(
            prompt,
            role="main_model",
            max_tokens=max_tokens,
            temperature=decoding.temperature,
            seed=decoding.seed,
            sampler=reference.sampler(choices),
        ).strip()

    if request["mode"] == "overton" or not request["options"]:
        return {"response": generated(decoding.max_tokens)}
    if reference.generates(request) and "letters" not in choices:
        return {"answer": generated(reference.SHORT_TOKENS)}
    dist = backend.option_distribution(
        prompt,
        option_labels(len(request["options"])),
        role="main_model",
        samples=samples,
        seed=decoding.seed,
        reading=reference.letter_reading(choices),
    )
    return {"distribution": dist.as_dict(), "choice": dist.pick(decoding.derive("tie").seed)}
