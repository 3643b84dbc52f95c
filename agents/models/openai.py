"""The `openai` backend: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, ...)."""

from __future__ import annotations

import os

from ethos.agents.models.base import Backend
from ethos.agents.models.tokens import openai_token_counter
from ethos.errors import EthosError

API_KEY_ENV = "OPENAI_API_KEY"


def openai_backend(spec: str, model: str, *, base_url: str | None, timeout: float = 120.0) -> Backend:
    import openai
    from langchain_openai import ChatOpenAI

    key = os.environ.get(API_KEY_ENV)
    if not key:
        if base_url is None:
            raise EthosError(f"the openai backend needs {API_KEY_ENV} in the environment (or --base-url for a local server)")
        key = "unused"  # local servers ignore the key, but the client requires one
    where = base_url or "the OpenAI API"
    chat = ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=key,
        use_responses_api=False,  # chat completions: the API every compatible server implements
        max_retries=2,
        timeout=timeout,
    )

    def explain(exc: Exception) -> EthosError | None:
        if isinstance(exc, openai.APIConnectionError):
            return EthosError(f"cannot reach the model endpoint at {where} ({exc.__class__.__name__})")
        if isinstance(exc, openai.AuthenticationError):
            return EthosError(f"the model endpoint at {where} rejected the API key in {API_KEY_ENV}")
        if isinstance(exc, openai.NotFoundError):
            return EthosError(f"the model endpoint at {where} does not serve model '{model}'")
        if isinstance(exc, openai.APIStatusError):
            return EthosError(f"the model endpoint at {where} answered {exc.status_code}: {exc.message}")
        return None

    return Backend(spec, chat, top_logprobs=20, explain=explain, count_tokens=openai_token_counter(model))
