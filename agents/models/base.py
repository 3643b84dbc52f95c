"""One interface for every model backend: text completion and option probabilities.

Each backend is a LangChain chat model, so LangChain callbacks (tracing, token usage) see every
call. Option probabilities come from the first generated token's `top_logprobs` in the OpenAI
format, which the local backends compute exactly from their logits; where an endpoint returns no
logprobs they are estimated by sampling, and the result says so.

Two capabilities differ by backend and are declared on `Backend`:
- `constraints`: how a reply can be forced into a format, dialects tried in order (see
  `_constraint_kwargs`); none means the reply is parsed.
- `prefill`: whether a reply can be started with given text that the model then continues.
- `penalties`: whether a repetition penalty can be asked for (`repeat_penalty`); elsewhere it is dropped.

A prompt is chat messages, or a plain string: a completion prompt, which Modular Pluralism's
protocol sends as it is, without a chat template (`agents/reference.py`). The run setting
`--prompt-format` (`Backend.formatted`) decides: `auto` sends strings raw and messages through the
chat template; `chat` and `raw` send every prompt one way. A model without a chat template (a base
model) always gets raw prompts; messages then become their texts, one paragraph each.
"""

from __future__ import annotations

import copy
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables.config import ContextThreadPoolExecutor

from ethos.agents.seeds import derive_seed, seeded_argmax
from ethos.errors import EthosError

Messages = Sequence[tuple[str, str]]  # ("system" | "human" | "ai", text)
Prompt = Messages | str  # a string is a completion prompt (see the module's docstring)
PROMPT_FORMATS = ("auto", "chat", "raw")


@dataclass(frozen=True)
class Decoding:
    """How a role decodes: its new-token budget, temperature and seed."""

    max_tokens: int
    temperature: float
    seed: int = 0

    def derive(self, *parts) -> "Decoding":
        """The same budget and temperature, with the seed of the sub-call that `parts` name."""
        return replace(self, seed=derive_seed(self.seed, *parts))


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


_log = logging.getLogger("ethos.models")  # `ethos ... -v` shows each call as it ends
_exchanges: ContextVar[tuple[list, ...]] = ContextVar("ethos_exchanges", default=())
_labels: ContextVar[dict] = ContextVar("ethos_call_labels", default={})


@contextmanager
def labelled(**labels) -> Iterator[None]:
    """Add `labels` to the metadata of every model call made in this context: a streamed token
    then says which persona agent wrote it (LangGraph's `messages` stream mode passes it on)."""
    token = _labels.set({**_labels.get(), **labels})
    try:
        yield
    finally:
        _labels.reset(token)


@contextmanager
def recording() -> Iterator[list[dict]]:
    """Collect every model exchange made in this context (threads started with the context too).

    Graph nodes use it to put what each agent was asked and answered into the graph state. It
    nests: an eval item's recording also sees the exchanges its graph nodes record.
    """
    exchanges: list[dict] = []
    token = _exchanges.set((*_exchanges.get(), exchanges))
    try:
        yield exchanges
    finally:
        _exchanges.reset(token)


class Backend:
    """A model used by one or more roles (persona generator, persona agents, moderator)."""

    def __init__(
        self,
        spec: str,
        chat: BaseChatModel,
        *,
        top_logprobs: int = 20,
        explain: Callable[[Exception], EthosError | None] | None = None,
        count_tokens: Callable[[str], int] | None = None,
        constraints: Sequence[str] = (),
        prefill: bool = False,
        penalties: bool = False,
        rejects_constraint: Callable[[Exception], bool] | None = None,
    ):
        self.spec = spec
        self.chat = chat
        self.top_logprobs = top_logprobs
        self.constraints = tuple(constraints)  # dialects, see _constraint_kwargs; none: replies are parsed
        self.prefill = prefill
        self.penalties = penalties
        self._explain = explain
        self._count_tokens = count_tokens  # for endpoints that report no usage
        self._rejects_constraint = rejects_constraint or (lambda exc: False)
        self.prompt_format = "auto"
        self._formats: dict[str, Backend] = {}

    @property
    def chat_template(self) -> bool:
        """Whether the model has a chat template (a base model has none, and gets raw prompts)."""
        return getattr(self.chat, "chat_template", True)

    def formatted(self, prompt_format: str) -> "Backend":
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

    def _invoke(self, prompt: Prompt, role: str, **kwargs) -> AIMessage:
        config = {"tags": [f"role:{role}"], "metadata": {"ethos_role": role, "ethos_model": self.spec, **_labels.get()}}
        kwargs = {k: v for k, v in kwargs.items() if v is not None and (k != "repeat_penalty" or self.penalties and v != 1.0)}
        if self.is_raw(prompt):
            messages: Messages = [("raw", prompt_text(prompt))]
            kwargs["raw"] = True  # the backend sends the text as it is, with the model's BOS token where it has one
        else:
            messages = [("human", prompt)] if isinstance(prompt, str) else prompt
        started = time.perf_counter()
        try:
            with labelled(ethos_role=role):  # also for models that stream, whose `_stream` sees no tags
                reply = self.chat.invoke([("human", text) for _, text in messages] if kwargs.get("raw") else list(messages),
                                         config=config, **kwargs)
        except EthosError:
            raise
        except Exception as exc:
            explained = self._explain(exc) if self._explain else None
            if explained is None:
                raise
            raise explained from exc
        if not reply.usage_metadata and self._count_tokens:
            prompt, text = sum(self._count_tokens(m[1]) for m in messages), self._count_tokens(_text(reply))
            reply.usage_metadata = {"input_tokens": prompt, "output_tokens": text, "total_tokens": prompt + text}
        exchange = _exchange(self.spec, role, messages, kwargs, reply, time.perf_counter() - started)
        usage = exchange.get("usage") or {}
        _log.info("%s on %s: %s prompt + %s new tokens in %.2f s%s", role.replace("_", " "), self.spec, usage.get("input_tokens", "?"),
                  usage.get("output_tokens", "?"), exchange["seconds"], " (from the cache)" if exchange.get("cached") else "")
        for exchanges in _exchanges.get():
            exchanges.append(exchange)
        return reply

    def complete(
        self,
        messages: Prompt,
        *,
        role: str,
        max_tokens: int,
        temperature: float,
        seed: int | None = None,
        prefix: str = "",
    ) -> str:
        """The reply text. A `prefix` starts the reply and is part of the returned text: a backend
        with `prefill` continues it; any other is told to begin with it."""
        if prefix and not self.prefill and not self.is_raw(messages):
            if isinstance(messages, str):
                messages = [("human", messages)]
            *head, (kind, last) = messages
            messages = [*head, (kind, f'{last}\nBegin your reply with "{prefix}".')]
            text = _text(self._invoke(messages, role, max_tokens=max_tokens, temperature=temperature, seed=seed)).lstrip()
            return f"{prefix} {text.removeprefix(prefix).lstrip()}"
        reply = self._invoke(messages, role, max_tokens=max_tokens, temperature=temperature, seed=seed, prefix=prefix or None)
        return prefix + _text(reply) if prefix else _text(reply)

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
                reply = self._invoke(messages, role, max_tokens=max_tokens, temperature=temperature, seed=seed,
                                     repeat_penalty=repeat_penalty, **_constraint_kwargs(dialect, grammar, json_schema))
                return _text(reply), None
            except Exception as exc:
                cause = exc.__cause__ if isinstance(exc, EthosError) and exc.__cause__ else exc
                if not self._rejects_constraint(cause):
                    raise
                self.constraints = tuple(d for d in self.constraints if d != dialect)  # ask once per process
                notes.append(f"rejected the {dialect} constraint ({cause.__class__.__name__})")
        text = self.complete(messages, role=role, max_tokens=max_tokens, temperature=temperature, seed=seed)
        return text, f"{self.spec} " + ("; ".join(notes) if notes else "cannot constrain its output") + ": the reply was parsed"

    def option_distribution(
        self, messages: Prompt, labels: Sequence[str], *, role: str, samples: int = 10, seed: int = 0
    ) -> OptionDistribution:
        """The next-token distribution over `labels` (same signature for every backend)."""
        labels = list(labels)
        reply = self._invoke(
            messages, role, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=self.top_logprobs
        )
        content = (reply.response_metadata.get("logprobs") or {}).get("content")
        if content:
            probs = distribution_from_top_logprobs(content[0].get("top_logprobs") or [], labels)
            return OptionDistribution(labels, probs, "logprobs") if probs else uniform(labels)
        return self._sampled_distribution(messages, labels, role=role, samples=samples, seed=seed)

    def _sampled_distribution(
        self, messages: Prompt, labels: list[str], *, role: str, samples: int, seed: int
    ) -> OptionDistribution:
        # The endpoint gave no logprobs: estimate from the first label of `samples` sampled replies.
        def sample(i: int) -> str | None:
            return leading_label(
                self.complete(messages, role=role, max_tokens=4, temperature=1.0, seed=derive_seed(seed, "sample", i)), labels
            )

        picked = [label for label in in_parallel(sample, range(samples)) if label]
        if not picked:
            return uniform(labels)
        return OptionDistribution(labels, [picked.count(label) / len(picked) for label in labels], "sampling")


_parallel_limit: ContextVar[int | None] = ContextVar("ethos_parallel_limit", default=None)


@contextmanager
def parallel_limit(limit: int | None) -> Iterator[None]:
    """At most `limit` threads per `in_parallel` step started in this context (`--max-concurrency`)."""
    token = _parallel_limit.set(limit)
    try:
        yield
    finally:
        _parallel_limit.reset(token)


def in_parallel(fn: Callable, items: Iterable, max_workers: int = 8) -> list:
    """`[fn(x) for x in items]`, run from threads that carry this context (callbacks, recording):
    calls in flight together are batched by llama.cpp and overlap on an endpoint. The results come
    in the order of `items`, whichever call ends first."""
    items = list(items)
    workers = min(len(items), max_workers, _parallel_limit.get() or max_workers)
    if workers < 2:
        return [fn(x) for x in items]
    with ContextThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def _exchange(spec: str, role: str, messages: Messages, params: dict, reply: AIMessage, seconds: float) -> dict:
    exchange = {
        "role": role,
        "model": spec,
        "messages": [list(m) for m in messages],
        "params": params,
        "reply": _text(reply),
        "usage": dict(reply.usage_metadata or {}),
        "seconds": round(seconds, 3),
        "cached": bool(reply.response_metadata.get("ethos_cached")),
    }
    content = (reply.response_metadata.get("logprobs") or {}).get("content")
    if content:
        exchange["top_logprobs"] = content[0].get("top_logprobs", [])[:20]
    return exchange


def prompt_text(prompt: Prompt) -> str:
    """A prompt as one text: a string as it is, messages as their texts, one paragraph each."""
    return prompt if isinstance(prompt, str) else "\n\n".join(text for _, text in prompt)


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


# ---- helpers shared by the local backends -------------------------------------------------------


def chat_dicts(messages: Sequence[BaseMessage]) -> list[dict]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles.get(m.type, "user"), "content": _text(m)} for m in messages]


def top_logprobs_from_logits(logits: np.ndarray, k: int, decode: Callable[[int], str]) -> list[dict]:
    """OpenAI-style top_logprobs for one position, computed exactly from the full logits."""
    logits = logits.astype(np.float64)
    logprobs = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
    k = min(k, logprobs.shape[0])
    top = np.argpartition(-logprobs, k - 1)[:k]
    top = top[np.argsort(-logprobs[top])]
    return [{"token": decode(int(i)), "logprob": float(logprobs[i])} for i in top]


def ai_message(text: str, *, prompt_tokens: int, completion_tokens: int, model: str, top: list[dict] | None = None):
    metadata: dict = {"model_name": model}
    if top is not None:
        metadata["logprobs"] = {"content": [{"token": top[0]["token"], "logprob": top[0]["logprob"], "top_logprobs": top}]}
    return AIMessage(
        content=text,
        response_metadata=metadata,
        usage_metadata={
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    )


def whole_chunk(reply: AIMessage | ChatResult, content: str | None = None) -> ChatGenerationChunk:
    """A reply as one streamed chunk with its metadata (a call that has nothing to show piece by
    piece), or, with `content`, the last chunk of a streamed reply: the rest of it and its metadata."""
    generation_info = None
    if isinstance(reply, ChatResult):  # e.g. OpenAI's logprobs travel in the generation's info
        generation_info, reply = reply.generations[0].generation_info, reply.generations[0].message
    return ChatGenerationChunk(message=AIMessageChunk(content=reply.content if content is None else content, response_metadata=reply.response_metadata,
                                                      usage_metadata=reply.usage_metadata), generation_info=generation_info)


def call_labels() -> dict:
    """The labels of the model call being made in this context (see `labelled`)."""
    return _labels.get()


def stream_pieces(call: Callable[[Callable[[str], None]], AIMessage]) -> Iterator[ChatGenerationChunk]:
    """Stream a reply as `call(on_text)` produces it (in a worker thread), then a last chunk with the
    rest and the reply's metadata: the joined chunks are the message `call` returns."""
    pieces: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        try:
            pieces.put((True, call(lambda text: pieces.put((False, text)))))
        except BaseException as exc:  # handed to the consumer, which raises it
            pieces.put((True, exc))

    threading.Thread(target=work, name="ethos-stream", daemon=True).start()
    streamed = ""
    while True:
        done, value = pieces.get()
        if isinstance(value, BaseException):
            raise value
        if done:
            yield whole_chunk(value, value.content[len(streamed):] if value.content.startswith(streamed) else "")
            return
        streamed += value
        yield ChatGenerationChunk(message=AIMessageChunk(content=value))  # LangChain passes it on to the callbacks
