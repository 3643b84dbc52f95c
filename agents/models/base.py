"""One interface for every model backend: text completion and option probabilities.

Each backend is a LangChain chat model, so LangChain callbacks (tracing, token usage) see every
call. Option probabilities come from the first generated token's `top_logprobs` in the OpenAI
format, which the local backends compute exactly from their logits; where an endpoint returns no
logprobs they are estimated by sampling, and the result says so.

Two capabilities differ by backend and are declared on `Backend`:
- `constraints`: how a reply can be forced into a format, dialects tried in order (see
  `_constraint_kwargs`); none means the reply is parsed.
- `prefill`: whether a reply can be started with given text that the model then continues.
- `penalties`: whether a repetition penalty and llama.cpp's sampler settings (`top_k`, `min_p`) can
  be asked for; elsewhere they are dropped (an endpoint and transformers keep their own).
- `special_tokens`: whether a reply can keep the special tokens the model writes (its end-of-turn
  token's text), as the reference's decoding does; an endpoint's server decodes its replies itself.

A prompt is chat messages, or a plain string: a completion prompt, which Modular Pluralism's
protocol sends as it is, without a chat template (`agents/reference.py`). The run setting
`--prompt-format` (`Backend.formatted`) decides: `auto` sends strings raw and messages through the
chat template; `chat` and `raw` send every prompt one way. A model without a chat template (a base
model) always gets raw prompts; messages then become their texts, one paragraph each.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from ethos.agents.models import PROMPT_FORMATS
from ethos.agents.models.llama_calls import SAMPLER_KEYS
from ethos.agents.models.local import message_text
from ethos.agents.models.options import (
    REFERENCE_CANDIDATES,
    OptionDistribution,
    distribution_from_top_logprobs,
    leading_label,
    reference_distribution,
    reference_stand_in,
    uniform,
)
from ethos.agents.models.parallel import in_parallel
from ethos.agents.models.recording import Messages, call_labels, labelled
from ethos.agents.seeds import derive_seed
from ethos.errors import EthosError
from ethos.redaction import redact

Prompt = Messages | str  # a string is a completion prompt (see the module's docstring)


@dataclass(frozen=True)
class Decoding:
    """How a role decodes: its new-token budget, temperature and seed."""

    max_tokens: int
    temperature: float
    seed: int = 0

    def derive(self, *parts) -> Decoding:
        """The same budget and temperature, with the seed of the sub-call that `parts` name."""
        return replace(self, seed=derive_seed(self.seed, *parts))


# The constraint dialects a backend may declare:
# - "grammar": a GBNF grammar (llama.cpp, its servers' `grammar` field; xgrammar for transformers);
# - "json_schema": OpenAI structured outputs, response_format json_schema (OpenAI, vLLM, SGLang);
# - "json_object_schema": llama.cpp servers' dialect, response_format json_object with a schema.
def _constraint_kwargs(dialect: str, grammar: str, json_schema: dict) -> dict:
    if dialect == "grammar":
        return {"grammar": grammar}
    if dialect == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": json_schema, "strict": True}}}
    return {"response_format": {"type": "json_object", "schema": json_schema}}


class Backend:
    """A model used by one or more roles (persona generator, persona agents, moderator)."""

    def __init__(
        self,
        spec: str,
        chat: BaseChatModel,
        *,
        top_logprobs: int = 20,
        explain: Callable[[Exception], EthosError | None] | None = None,
        constraints: Sequence[str] = (),
        prefill: bool = False,
        penalties: bool = False,
        special_tokens: bool = False,
        rejects_constraint: Callable[[Exception], bool] | None = None,
    ):
        self.spec = spec
        self.chat = chat
        self.top_logprobs = top_logprobs
        self.constraints = tuple(constraints)  # dialects, see _constraint_kwargs; none: replies are parsed
        self.prefill = prefill
        self.penalties = penalties
        self.special_tokens = special_tokens
        self._explain = explain
        self._rejects_constraint = rejects_constraint or (lambda exc: False)
        self.prompt_format = "auto"
        self._formats: dict[str, Backend] = {}

    @property
    def chat_template(self) -> bool:
        """Whether the model has a chat template (a base model has none, and gets raw prompts)."""
        return getattr(self.chat, "chat_template", True)

    def formatted(self, prompt_format: str) -> Backend:
        """This backend sending prompts as `prompt_format` says (one of PROMPT_FORMATS): the same
        model, one view per format."""
        if prompt_format == self.prompt_format:
            return self
        if prompt_format not in PROMPT_FORMATS:
            raise EthosError(f"--prompt-format: unknown value {prompt_format!r}: choose one of {', '.join(PROMPT_FORMATS)}")
        if prompt_format == "chat" and not self.chat_template:
            raise EthosError(f"--prompt-format chat: {self.spec} has no chat template (a base model): use auto or raw")
        if prompt_format not in self._formats:
            view = copy.copy(self)
            view.prompt_format, view._formats = prompt_format, self._formats
            self._formats[prompt_format] = view
        return self._formats[prompt_format]

    def is_raw(self, prompt: Prompt) -> bool:
        """Whether `prompt` goes to the model without a chat template."""
        if not self.chat_template or self.prompt_format == "raw":
            return True
        return self.prompt_format == "auto" and isinstance(prompt, str)

    def _takes(self, key: str, value) -> bool:
        """Whether a setting goes to this backend: llama.cpp's sampler settings and kept special
        tokens only where it declares them (`penalties`, `special_tokens`), a penalty of 1 (none) never."""
        if key in SAMPLER_KEYS and not self.penalties:
            return False
        if key == "repeat_penalty":
            return value != 1.0
        return key != "special_tokens" or (value and self.special_tokens)

    def _invoke(self, prompt: Prompt, role: str, **kwargs) -> AIMessage:
        kwargs = {k: v for k, v in kwargs.items() if v is not None and self._takes(k, v)}
        raw = self.is_raw(prompt)
        if raw:
            kwargs["raw"] = True  # the backend sends the text as it is, with the model's BOS token where it has one
        # The metadata is what the recorder (recording.py) makes the call's Exchange from.
        config = {
            "tags": [f"role:{role}"],
            "metadata": {"ethos_role": role, "ethos_model": self.spec, "ethos_params": kwargs, **call_labels()},
        }
        messages = [("human", prompt_text(prompt))] if raw else [("human", prompt)] if isinstance(prompt, str) else list(prompt)
        try:
            with labelled(ethos_role=role):  # also for models that stream, whose `_stream` sees no tags
                reply = self.chat.invoke(messages, config=config, **kwargs)
            if isinstance(reply.content, str):  # a key an endpoint reflects never enters the state, a print or a served client's reply
                reply.content = redact(reply.content)
            return reply
        except EthosError:
            raise
        except Exception as exc:
            explained = self._explain(exc) if self._explain else None
            if explained is None:
                raise
            raise explained from exc

    def complete(
        self,
        messages: Prompt,
        *,
        role: str,
        max_tokens: int,
        temperature: float,
        seed: int | None = None,
        prefix: str = "",
        top_p: float | None = None,
        sampler: dict | None = None,
    ) -> str:
        """The reply text. A `prefix` starts the reply and is part of the returned text: a backend
        with `prefill` continues it; any other is told to begin with it. `top_p`: nucleus sampling
        (None: the backend's default); `sampler`: llama.cpp's `top_k` and `min_p`, and
        `special_tokens` (the reference protocol's, `reference.sampler`)."""
        extra = sampler or {}
        if prefix and not self.prefill and not self.is_raw(messages):
            if isinstance(messages, str):
                messages = [("human", messages)]
            *head, (kind, last) = messages
            messages = [*head, (kind, f'{last}\nBegin your reply with "{prefix}".')]
            text = message_text(
                self._invoke(messages, role, max_tokens=max_tokens, temperature=temperature, seed=seed, top_p=top_p, **extra)
            ).lstrip()
            return f"{prefix} {text.removeprefix(prefix).lstrip()}"
        reply = self._invoke(
            messages, role, max_tokens=max_tokens, temperature=temperature, seed=seed, prefix=prefix or None, top_p=top_p, **extra
        )
        return prefix + message_text(reply) if prefix else message_text(reply)

    def complete_constrained(
        self,
        messages: Prompt,
        *,
        grammar: str,
        json_schema: dict,
        role: str,
        max_tokens: int,
        temperature: float,
        seed: int | None = None,
        repeat_penalty: float | None = None,
    ) -> tuple[str, str | None]:
        """The reply forced into a format: by the GBNF `grammar` or by the `json_schema`, in the
        first of this backend's `constraints` that the model accepts. Returns (text, note): `note`
        is None when the reply was constrained, else one line saying why it was not (the caller
        then parses the text, and counts that)."""
        notes = []
        for dialect in list(self.constraints):
            try:
                reply = self._invoke(
                    messages,
                    role,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed,
                    repeat_penalty=repeat_penalty,
                    **_constraint_kwargs(dialect, grammar, json_schema),
                )
                return message_text(reply), None
            except Exception as exc:
                cause = exc.__cause__ if isinstance(exc, EthosError) and exc.__cause__ else exc
                if not self._rejects_constraint(cause):
                    raise
                self.constraints = tuple(d for d in self.constraints if d != dialect)  # ask once per process
                notes.append(f"rejected the {dialect} constraint ({cause.__class__.__name__})")
        text = self.complete(messages, role=role, max_tokens=max_tokens, temperature=temperature, seed=seed)
        return text, f"{self.spec} " + ("; ".join(notes) if notes else "cannot constrain its output") + ": the reply was parsed"

    def option_distribution(
        self, messages: Prompt, labels: Sequence[str], *, role: str, samples: int = 10, seed: int = 0, reading: str = "ethos"
    ) -> OptionDistribution:
        """The next-token distribution over `labels` (same signature for every backend), read as
        `reading` says (see `options.READINGS`: Modular Pluralism's top 10, or every candidate)."""
        labels = list(labels)
        reference = reading == "reference"
        reply = self._invoke(
            messages,
            role,
            max_tokens=1,
            temperature=0.0,
            logprobs=True,
            top_logprobs=REFERENCE_CANDIDATES if reference else self.top_logprobs,
        )
        content = (reply.response_metadata.get("logprobs") or {}).get("content")
        if content:
            top = content[0].get("top_logprobs") or []
            if reference:
                capped = reply.response_metadata.get("top_logprobs_cap")  # an API that gives fewer than 10
                probs = reference_distribution(top, labels)
                return OptionDistribution(labels, probs, "logprobs", capped) if probs else uniform(labels, capped)
            probs = distribution_from_top_logprobs(top, labels)
            return OptionDistribution(labels, probs, "logprobs") if probs else uniform(labels)
        if reference:
            return reference_stand_in(labels)
        return self._sampled_distribution(messages, labels, role=role, samples=samples, seed=seed)

    def _sampled_distribution(self, messages: Prompt, labels: list[str], *, role: str, samples: int, seed: int) -> OptionDistribution:
        # The endpoint gave no logprobs: estimate from the first label of `samples` sampled replies.
        def sample(i: int) -> str | None:
            return leading_label(
                self.complete(messages, role=role, max_tokens=4, temperature=1.0, seed=derive_seed(seed, "sample", i)), labels
            )

        picked = [label for label in in_parallel(sample, range(samples)) if label]
        if not picked:
            return uniform(labels)
        return OptionDistribution(labels, [picked.count(label) / len(picked) for label in labels], "sampling")


def prompt_text(prompt: Prompt) -> str:
    """A prompt as one text: a string as it is, messages as their texts, one paragraph each."""
    return prompt if isinstance(prompt, str) else "\n\n".join(text for _, text in prompt)
