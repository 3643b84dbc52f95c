"""The `openai` backend: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, ...)."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from functools import cache
from typing import Any

from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from ethos import settings
from ethos.agents.models.base import Backend
from ethos.agents.models.http_client import MAX_REPLY_BYTES, LeanCompletions, ReplyTooLarge, WholeRequestTimeout, bounded_client, raised
from ethos.agents.models.local import ai_message, message_text, whole_chunk
from ethos.agents.models.tokens import openai_token_counter
from ethos.errors import EthosError, RunFailure
from ethos.redaction import endpoints, public_endpoint, split_endpoint
from ethos.settings import API_KEY_ENV

OPENAI_COMPLETION_CANDIDATES = 5  # OpenAI's completions endpoint gives at most this many logprobs


class Spread:
    """Calls spread over replicas: each goes to the one with the fewest in flight, ties taken in turn."""

    def __init__(self, n: int):
        self.busy, self.turn, self._lock = [0] * n, 0, threading.Lock()

    @contextmanager
    def one(self):
        with self._lock:
            n = len(self.busy)
            index = min(range(n), key=lambda i: (self.busy[i], (i - self.turn) % n))
            self.busy[index] += 1
            self.turn = (index + 1) % n
        try:
            yield index
        finally:
            with self._lock:
                self.busy[index] -= 1


def _chat_class():
    from langchain_openai import ChatOpenAI

    class ChatOpenAIEndpoint(ChatOpenAI):
        """Chat completions for OpenAI and OpenAI-compatible servers (llama.cpp, vLLM, ...).

        - Constraints travel in the request body as they are: a `response_format` kwarg would make
          langchain-openai parse the reply as structured output and fail on a truncated one, and
          `grammar` (llama.cpp's own field) is no argument of the OpenAI client.
        - langchain-openai sends the budget as `max_completion_tokens`, which OpenAI's own API
          wants but llama.cpp's server ignores (it would then generate without limit); every
          compatible server understands `max_tokens` (`compatible=True`).
        - A raw prompt (`raw=True`: a base model, or Modular Pluralism's protocol) goes to the
          completions endpoint, which applies no chat template; its legacy logprobs are turned
          into the chat format the interface reads.
        """

        compatible: bool = False
        replicas: list = Field(default_factory=list, exclude=True)  # the same model at other URLs: each call goes to one
        _spread: Any = PrivateAttr(default=None)
        _completions: Any = PrivateAttr(default=None)  # the completions endpoint, as `client` is the chat one

        def _replica(self):
            """The replica with the fewest calls in flight (ties in turn), held for one call."""
            if self._spread is None:
                self._spread = Spread(len(self.replicas))
            return self._spread.one()

        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            # Replies stream as the server sends them (SSE); option probabilities are one request
            # whose reply comes whole, with the retries of `_generate`.
            if self.replicas:
                with self._replica() as i:
                    yield from self.replicas[i]._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
                return
            if kwargs.get("logprobs") or kwargs.get("raw"):
                yield whole_chunk(self._generate(messages, stop=stop, **kwargs))
                return
            yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

        def _generate_with_cache(self, messages, stop=None, run_manager=None, **kwargs):
            # An endpoint that reports no usage is counted with the model's tokenizer, streamed or
            # not, before the callbacks (the recorder's Exchange) see the reply.
            result = super()._generate_with_cache(messages, stop=stop, run_manager=run_manager, **kwargs)
            for generation in result.generations:
                if not generation.message.usage_metadata:
                    count = openai_token_counter(self.model_name)
                    sent, made = sum(count(message_text(m)) for m in messages), count(message_text(generation.message))
                    generation.message.usage_metadata = {"input_tokens": sent, "output_tokens": made, "total_tokens": sent + made}
            return result

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            # A 200 reply that is not a completion (empty `choices`, a body that is not JSON, a
            # missing field) is retried with backoff like a 5xx, then reported as malformed.
            if self.replicas:
                with self._replica() as i:
                    return self.replicas[i]._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
            raw = kwargs.pop("raw", False)
            for attempt in range(self.max_retries + 1):
                try:
                    if raw:
                        result = self._completion(messages[0].content, stop, **kwargs)
                    else:
                        result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
                    if not result.generations:
                        raise IndexError("no choices")
                    return result
                except Exception as exc:
                    if not isinstance(exc, _malformed_errors()):
                        raise
                    if attempt == self.max_retries:
                        raise MalformedReply(_describe(exc), attempt + 1) from exc
                    time.sleep(min(8.0, 0.5 * 2**attempt))

        def _completion(
            self,
            prompt: str,
            stop,
            *,
            max_tokens=None,
            temperature=None,
            seed=None,
            logprobs=None,
            top_logprobs=None,
            prefix=None,
            top_p=None,
            **body,
        ):
            params = {
                "model": self.model_name,
                "prompt": prompt + (prefix or ""),
                "max_tokens": max_tokens,
                "temperature": temperature,
                "seed": seed,
                "stop": stop,
                "top_p": top_p,
            }
            cap = None
            if logprobs:  # OpenAI's completions give at most 5 alternatives; compatible servers more
                params["logprobs"] = (top_logprobs or 5) if self.compatible else min(top_logprobs or 5, OPENAI_COMPLETION_CANDIDATES)
                cap = params["logprobs"] if params["logprobs"] < (top_logprobs or 5) else None
            extra = {k: v for k, v in body.items() if k in ("grammar", "response_format") and v is not None}
            response = self._completions.create(**{k: v for k, v in params.items() if v is not None}, extra_body=extra or None).parse()
            choice = response["choices"][0]
            top = None
            if logprobs and (choice.get("logprobs") or {}).get("top_logprobs"):
                first = choice["logprobs"]["top_logprobs"][0]
                top = [{"token": str(t), "logprob": float(lp)} for t, lp in sorted(first.items(), key=lambda kv: -kv[1])]
            usage = response.get("usage")
            message = ai_message(
                choice["text"],
                prompt_tokens=int(usage["prompt_tokens"]) if usage else 0,
                completion_tokens=int(usage["completion_tokens"]) if usage else 0,
                model=self.model_name,
                top=top,
            )
            if not usage:
                message.usage_metadata = None  # the backend's token counter counts them
            if cap:
                message.response_metadata["top_logprobs_cap"] = cap  # the reading says so, and the run counts it
            return ChatResult(generations=[ChatGeneration(message=message)])

        def _get_request_payload(self, input_, *, stop=None, **kwargs):
            body = {k: kwargs.pop(k) for k in ("response_format", "grammar") if kwargs.get(k) is not None}
            payload = super()._get_request_payload(input_, stop=stop, **kwargs)
            if body:
                payload["extra_body"] = {**(payload.get("extra_body") or {}), **body}
            if self.compatible and "max_completion_tokens" in payload:
                payload["max_tokens"] = payload.pop("max_completion_tokens")
            return payload

    return ChatOpenAIEndpoint


class MalformedReply(Exception):
    def __init__(self, what: str, attempts: int):
        super().__init__(what)
        self.what, self.attempts = what, attempts


@cache
def _malformed_errors() -> tuple[type[Exception], ...]:
    import openai
    import pydantic

    return (
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        json.JSONDecodeError,
        pydantic.ValidationError,
        openai.APIResponseValidationError,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return "a body that is not JSON"
    if isinstance(exc, IndexError):
        return "a reply with no choices"
    return f"a reply without the expected fields ({exc.__class__.__name__}: {str(exc)[:120]})"


@cache
def shared_rate_limiter(rps: float):
    """One limiter per rate, shared by every role and every concurrent item of the process."""
    from langchain_core.rate_limiters import InMemoryRateLimiter

    return InMemoryRateLimiter(requests_per_second=rps, check_every_n_seconds=0.01, max_bucket_size=1)


def openai_backend(
    spec: str,
    model: str,
    *,
    base_url: str | None,
    rps: float | None = None,
    max_retries: int = 4,
    timeout: float = 120.0,
    key_env: str = API_KEY_ENV,
) -> Backend:
    import openai

    key = settings.key(key_env)  # a study may give each endpoint its own variable
    if not key:
        if base_url is None:
            raise EthosError(f"the openai backend needs {key_env} in the environment (or --base-url for a local server)")
        key = "unused"  # local servers ignore the key, but the client requires one
    urls = endpoints(base_url) if base_url else [None]
    where = ", ".join(public_endpoint(url) for url in urls) if base_url else "the OpenAI API"

    def endpoint(url: str | None):
        base, query = split_endpoint(url) if url else (None, {})
        chat = _chat_class()(
            compatible=base_url is not None,
            model=model,
            base_url=base,
            default_query=query or None,
            api_key=key,
            use_responses_api=False,  # chat completions: the API every compatible server implements
            max_retries=max_retries,  # the client retries 408/409/429/5xx and timeouts with exponential backoff
            timeout=timeout,
            http_client=bounded_client(timeout),
            rate_limiter=shared_rate_limiter(rps) if rps else None,  # --rps: the model's, over all its replicas
        )
        chat.client = LeanCompletions(chat.root_client, "/chat/completions", streamed=chat.root_client.chat.completions)
        chat._completions = LeanCompletions(chat.root_client, "/completions")
        return chat

    chat = endpoint(urls[0])
    if len(urls) > 1:  # replicas of one model: each call goes to the least busy
        chat.replicas = [endpoint(url) for url in urls]

    def explain(exc: Exception) -> EthosError | None:
        if raised(exc, ReplyTooLarge):
            return RunFailure(f"the model endpoint at {where} sent a reply larger than {MAX_REPLY_BYTES // 2**20} MB")
        if raised(exc, WholeRequestTimeout):
            return RunFailure(
                f"the model endpoint at {where} did not finish a reply within --timeout {timeout:g} s ({max_retries + 1} attempt(s))"
            )
        if isinstance(exc, openai.APIStatusError) and 300 <= exc.status_code < 400:
            return RunFailure(f"the model endpoint at {where} answered {exc.status_code} (a redirect, not followed)")
        if isinstance(exc, MalformedReply):
            return RunFailure(f"the model endpoint at {where} returned {exc.what} ({exc.attempts} attempt(s))")
        if isinstance(exc, openai.APIConnectionError):
            return RunFailure(f"cannot reach the model endpoint at {where} ({exc.__class__.__name__})")
        if isinstance(exc, openai.AuthenticationError):
            return RunFailure(f"the model endpoint at {where} rejected the API key in {API_KEY_ENV}")
        if isinstance(exc, openai.NotFoundError):
            return RunFailure(f"the model endpoint at {where} does not serve model '{model}'")
        if isinstance(exc, openai.APIStatusError):
            message = str(exc.message)
            message = message if len(message) <= 300 else message[:300] + f"... ({len(message) - 300} more characters)"
            return RunFailure(f"the model endpoint at {where} answered {exc.status_code}: {message}")
        return None

    def rejects_constraint(exc: Exception) -> bool:
        # 400 (OpenAI: unsupported response_format), 422 (a server's request validation), or any error
        # that names the field (llama-cpp-python's server answers 500 for a response_format it lacks).
        if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
            return True
        return isinstance(exc, openai.APIStatusError) and ("response_format" in str(exc) or "grammar" in str(exc))

    return Backend(
        spec,
        chat,
        top_logprobs=20,
        explain=explain,
        # OpenAI, vLLM and SGLang take `json_schema`; llama.cpp's servers take a GBNF `grammar` (much
        # faster there than their JSON-schema grammar), or a schema in their `json_object` dialect.
        constraints=["json_schema", "grammar", "json_object_schema"] if base_url else ["json_schema"],
        rejects_constraint=rejects_constraint,
    )
