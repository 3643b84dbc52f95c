"""The `hf` backend: a local transformers model directory, through langchain-huggingface and torch.

Persona agents call the model in parallel; a micro-batcher turns their calls into one batched
`generate` (left padding), which is several times faster on a CPU than one prompt at a time.
Option probabilities come from the last position's logits. Constrained output (a GBNF grammar,
the same text llama.cpp takes) goes through xgrammar's logits processor: the structured-generation
engine vLLM and SGLang use, which compiles GBNF directly, so one grammar serves both local backends.
xgrammar is an optional extra (`ethosagents[hf]`); without it the reply is parsed and that is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from ethos.agents.models.batching import MicroBatcher
from ethos.agents.models.local import ai_message, chat_dicts, stream_pieces, top_logprobs_from_logits, whole_chunk
from ethos.errors import EthosError


class ChatTransformers(BaseChatModel):
    model_dir: str
    batch_size: int = 8
    _llm: Any = PrivateAttr(default=None)  # langchain_huggingface.HuggingFacePipeline
    _batcher: MicroBatcher = PrivateAttr(default=None)
    _grammars: Any = PrivateAttr(default=None)  # (xgrammar compiler, {gbnf: compiled grammar})

    def model_post_init(self, __context: Any) -> None:
        path = Path(self.model_dir)
        if not (path / "config.json").is_file():
            raise EthosError(f"not a transformers model directory (no config.json): {self.model_dir}")
        from langchain_huggingface import HuggingFacePipeline
        from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

        tokenizer = AutoTokenizer.from_pretrained(path)
        tokenizer.padding_side = "left"  # batched generation continues every prompt from its end
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(path)
        model.eval()
        pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, batch_size=self.batch_size)
        self._llm = HuggingFacePipeline(pipeline=pipe, batch_size=self.batch_size)
        self._batcher = MicroBatcher(self._generate_batch, max_batch=self.batch_size)

    @property
    def _llm_type(self) -> str:
        return "transformers"

    @property
    def _identifying_params(self) -> dict:
        return {"model_dir": self.model_dir}

    @property
    def batch_sizes(self) -> list[int]:
        return self._batcher.batch_sizes

    @property
    def chat_template(self) -> bool:
        return bool(self._llm.pipeline.tokenizer.chat_template)

    def _render(self, messages, prefix: str = "", raw: bool = False) -> str:
        """The prompt as text with every special token written out, so that it is tokenized without
        adding any (`add_special_tokens=False` everywhere): a chat template writes its own BOS; a raw
        prompt gets the tokenizer's BOS when the tokenizer adds one. Either way there is one BOS."""
        tokenizer = self._llm.pipeline.tokenizer
        if raw:
            text = "\n\n".join(d["content"] for d in chat_dicts(messages))
            adds_bos = tokenizer.bos_token_id is not None and tokenizer("x")["input_ids"][:1] == [tokenizer.bos_token_id]
            return (tokenizer.bos_token if adds_bos else "") + text + prefix
        return tokenizer.apply_chat_template(chat_dicts(messages), tokenize=False, add_generation_prompt=True) + prefix

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        prompt = self._render(messages, kwargs.get("prefix") or "", bool(kwargs.get("raw")))
        tokenizer = self._llm.pipeline.tokenizer
        prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        model = Path(self.model_dir).name
        if kwargs.get("logprobs"):
            top = self._next_token_logprobs(prompt, kwargs.get("top_logprobs") or 20)
            message = ai_message(top[0]["token"], prompt_tokens=prompt_tokens, completion_tokens=1, model=model, top=top)
        else:
            # Calls that differ only in their seed share a batch, seeded by the batch's lowest seed.
            key = (
                kwargs.get("max_tokens", 256),
                kwargs.get("temperature", 0.8),
                kwargs.get("grammar"),
                kwargs.get("top_p"),
                bool(kwargs.get("special_tokens")),
            )
            text = self._batcher.submit(key, (prompt, kwargs.get("seed")))
            completion_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
            message = ai_message(text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, model=model)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        # A streamed reply is generated alone (transformers streams one sequence at a time), with
        # a streamer that hands each finished word on; option probabilities come whole.
        if kwargs.get("logprobs"):
            yield whole_chunk(self._generate(messages, stop, **kwargs))
            return
        yield from stream_pieces(lambda on_text: self._generate_streamed(messages, on_text, **kwargs))

    def _generate_streamed(self, messages, on_text, **kwargs):
        import torch
        from transformers import TextStreamer

        class Streamer(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    on_text(text)

        pipe = self._llm.pipeline
        tokenizer = pipe.tokenizer
        prompt = self._render(messages, kwargs.get("prefix") or "", bool(kwargs.get("raw")))
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        settings = self._decoding(kwargs.get("max_tokens", 256), kwargs.get("temperature", 0.8), kwargs.get("grammar"), kwargs.get("top_p"))
        special = bool(kwargs.get("special_tokens"))
        streamer = Streamer(tokenizer, skip_prompt=True, skip_special_tokens=not special)
        settings |= {"pad_token_id": tokenizer.pad_token_id, "streamer": streamer}
        with self._batcher.model_lock, torch.inference_mode():
            if kwargs.get("seed") is not None:
                torch.manual_seed(kwargs["seed"])
            out = pipe.model.generate(**ids, **settings)
        new = out[0][ids["input_ids"].shape[1] :]
        return ai_message(
            tokenizer.decode(new, skip_special_tokens=not special),
            prompt_tokens=ids["input_ids"].shape[1],
            completion_tokens=len(new),
            model=Path(self.model_dir).name,
        )

    def _generate_batch(self, key: tuple, items: list[tuple[str, int | None]]) -> list[str]:
        import torch

        max_tokens, temperature, grammar, top_p, special = key
        prompts = [prompt for prompt, _ in items]
        seeds = [seed for _, seed in items if seed is not None]
        if seeds:
            torch.manual_seed(min(seeds))
        # The pipeline would add the tokenizer's special tokens (a second BOS): the prompts hold theirs.
        pipeline_kwargs = self._decoding(max_tokens, temperature, grammar, top_p) | {"return_full_text": False, "add_special_tokens": False}
        pipeline_kwargs["skip_special_tokens"] = not special
        with torch.inference_mode():
            result = self._llm.generate(prompts, pipeline_kwargs=pipeline_kwargs)
        texts = [generations[0].text for generations in result.generations]
        return [_unpadded(text, self._llm.pipeline.tokenizer) for text in texts] if special else texts

    def _decoding(self, max_tokens: int, temperature: float, grammar: str | None, top_p: float | None = None) -> dict:
        """`generate` settings for a budget, a temperature (0: greedy), nucleus sampling (None: the
        model's default) and an optional GBNF grammar."""
        settings: dict = {"max_new_tokens": max_tokens, "do_sample": temperature > 0}
        if temperature > 0:
            settings["temperature"] = temperature
            if top_p is not None:
                settings["top_p"] = top_p
        if grammar:
            import xgrammar

            # A fresh processor per generate: it keeps one grammar matcher per sequence of the batch.
            settings["logits_processor"] = [xgrammar.contrib.hf.LogitsProcessor(self._compiled_grammar(grammar))]
        return settings

    def _compiled_grammar(self, gbnf: str):
        import xgrammar

        if self._grammars is None:
            pipe = self._llm.pipeline
            info = xgrammar.TokenizerInfo.from_huggingface(pipe.tokenizer, vocab_size=pipe.model.config.vocab_size)
            self._grammars = (xgrammar.GrammarCompiler(info), {})
        compiler, compiled = self._grammars
        if gbnf not in compiled:
            compiled[gbnf] = compiler.compile_grammar(gbnf)
        return compiled[gbnf]

    def _next_token_logprobs(self, prompt: str, k: int) -> list[dict]:
        import torch

        pipe = self._llm.pipeline
        with self._batcher.model_lock, torch.inference_mode():
            ids = pipe.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
            logits = pipe.model(**ids).logits[0, -1].float().numpy()
        return top_logprobs_from_logits(logits, k, lambda i: pipe.tokenizer.decode([i]))


def _unpadded(text: str, tokenizer) -> str:
    """A reply decoded with its special tokens, without the padding a batch adds after its end token."""
    end = tokenizer.eos_token
    if end and end in text:
        text = text[: text.index(end) + len(end)]
    pad = tokenizer.pad_token
    while pad and pad != end and text.endswith(pad):
        text = text[: -len(pad)]
    return text


@cache
def grammar_support() -> bool:
    """Whether xgrammar is installed (the `hf` extra), so that replies can be constrained."""
    import importlib.util

    return importlib.util.find_spec("xgrammar") is not None


def export_embedded_to_transformers(out_dir: Path) -> Path:
    """Turn the embedded GGUF into a transformers directory (for the `hf` backend and its tests).

    transformers dequantises the GGUF to fp32 but refuses to save that model, so a fresh model
    is built from the config and given the state dict.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from ethos.agents.models.embedded import embedded_gguf_path

    gguf = embedded_gguf_path()
    out_dir = Path(out_dir)
    if (out_dir / "config.json").is_file():
        return out_dir
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items() if k != "quantization_config"})
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict())
    tmp = out_dir.with_name(out_dir.name + ".partial")
    fresh.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(out_dir)  # a half-written directory is never mistaken for a finished one
    return out_dir
