"""What the local backends (embedded llama.cpp, transformers, the fake model) share: replies as
LangChain messages with OpenAI-style logprobs, streamed piece by piece, and a message's text."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult


def message_text(message: BaseMessage) -> str:
    """A message's text, whether its content is a string or a list of parts."""
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def chat_dicts(messages: Sequence[BaseMessage]) -> list[dict]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles.get(m.type, "user"), "content": message_text(m)} for m in messages]


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
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=reply.content if content is None else content,
            response_metadata=reply.response_metadata,
            usage_metadata=reply.usage_metadata,
        ),
        generation_info=generation_info,
    )


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
            yield whole_chunk(value, value.content[len(streamed) :] if value.content.startswith(streamed) else "")
            return
        streamed += value
        yield ChatGenerationChunk(message=AIMessageChunk(content=value))  # LangChain passes it on to the callbacks
