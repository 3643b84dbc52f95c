"""Model backends behind one interface (`Backend`), chosen per role by a spec string.

Specs: `embedded` (default), `gguf:FILE` (any GGUF via llama.cpp), `hf:DIR` (a transformers
model directory), `openai:MODEL` (an OpenAI-compatible endpoint; `--base-url`), `fake`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ethos import settings
from ethos.errors import EthosError

PROMPT_FORMATS = ("auto", "chat", "raw")  # how prompts are sent: by their kind, all as chat, all raw (see Backend.formatted)

if TYPE_CHECKING:
    from ethos.agents.models.base import Backend, Decoding
    from ethos.agents.models.options import OptionDistribution


def __getattr__(name: str):
    # The interface loads LangChain, so it is imported on first use: `ethos --help` stays fast.
    if name in ("Backend", "Decoding", "OptionDistribution"):
        from ethos.agents.models import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SPEC_HELP = "embedded, gguf:FILE, hf:DIR, openai:MODEL or fake (fake:SECONDS: a slow fake)"


def spec_name(spec: str) -> str:
    """A model by its own name: a file or endpoint model by the file or model (`gguf:/m/x.gguf` is
    x.gguf), `embedded` and the fakes by their spec."""
    return spec if spec.startswith("fake") else Path(spec.partition(":")[2] or spec).name or spec


__all__ = ["SPEC_HELP", "spec_name", "Backend", "Decoding", "OptionDistribution", "load_backend", "register_backend", "use_cache"]

_REGISTERED: dict[str, Backend] = {}


def use_cache(backend: Backend, path: Path | None, base_url: str | None = None, decoding: str = "exact") -> None:
    """Serve repeated calls from the persistent cache at `path` (None: no cache at all)."""
    from ethos.agents.models.cache import SqliteCallCache

    backend.chat.cache = SqliteCallCache(path, namespace=f"{backend.spec}|{base_url or ''}|{decoding}") if path else False


def register_backend(name: str, backend: Backend) -> None:
    """Make an already-built backend (a test double, a model shared across graphs) available by name."""
    _REGISTERED[name] = backend


def load_backend(
    spec: str,
    base_url: str | None = None,
    *,
    rps: float | None = None,
    max_retries: int = 4,
    timeout: float = 120.0,
    decoding: str = "exact",
    key_env: str = settings.API_KEY_ENV,
) -> Backend:
    """The backend a spec names, built once per process (the endpoint settings apply to `openai:`,
    `decoding` to the llama.cpp backends: "exact" or "fast", see `llama_batch.py`)."""
    return _REGISTERED.get(spec) or _build_backend(spec, base_url, rps, max_retries, timeout, decoding, key_env)


@lru_cache(maxsize=16)
def _build_backend(
    spec: str, base_url: str | None, rps: float | None, max_retries: int, timeout: float, decoding: str, key_env: str
) -> Backend:
    from ethos.agents.models.base import Backend

    kind, _, arg = spec.partition(":")
    if kind == "embedded" and not arg:
        from ethos.agents.models.embedded import ChatLlamaCpp, embedded_gguf_path

        chat = ChatLlamaCpp(model_path=str(embedded_gguf_path()), exact=decoding == "exact")
        return Backend(spec, chat, top_logprobs=100, constraints=["grammar"], prefill=True, penalties=True, special_tokens=True)
    if kind == "gguf" and arg:
        from ethos.agents.models.embedded import ChatLlamaCpp

        chat = ChatLlamaCpp(model_path=str(Path(arg).expanduser()), exact=decoding == "exact")
        return Backend(spec, chat, top_logprobs=100, constraints=["grammar"], prefill=True, penalties=True, special_tokens=True)
    if kind == "hf" and arg:
        from ethos.agents.models.hf import ChatTransformers, grammar_support

        if not Path(arg).expanduser().is_dir():
            raise EthosError(f"model directory not found: {arg}")
        chat = ChatTransformers(model_dir=str(Path(arg).expanduser()))
        return Backend(
            spec, chat, top_logprobs=100, constraints=["grammar"] if grammar_support() else [], prefill=True, special_tokens=True
        )
    if kind == "openai" and arg:
        from ethos.agents.models.openai import openai_backend

        return openai_backend(spec, arg, base_url=base_url, rps=rps, max_retries=max_retries, timeout=timeout, key_env=key_env)
    if kind == "fake":
        from ethos.agents.models.fake import fake_backend

        try:
            delay = float(arg) if arg else 0.0
        except ValueError:
            delay = -1.0
        if not 0 <= delay <= 60:
            raise EthosError(f"fake:SECONDS takes a delay per call between 0 and 60 seconds, got {arg!r}")
        return fake_backend(spec, delay=delay)
    raise EthosError(f"unknown model '{spec}': expected {SPEC_HELP}")
