"""What the llama.cpp batch engine (`llama_batch.py`) schedules: a call (its prompt, budget,
decoding settings and reply so far), a slot (a sequence of the KV cache and what it holds), a pool
(one llama.cpp context and its slots), and each call's own sampler chain."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ethos.agents.seeds import SEED_SPACE

TOP_K, MIN_P = 40, 0.05  # llama.cpp's usual top-k and min-p, unless a call asks for others (the reference protocol's: 50, none)
SAMPLER_KEYS = ("repeat_penalty", "top_k", "min_p")  # what only a llama.cpp backend takes (Backend.penalties)
DEFAULT_TOP_P = 0.95  # llama.cpp's usual nucleus, unless a call asks for its own (the reference's community messages: 0.9)

# Exact reading reads prompts in chunks that end at multiples of this many tokens (see `_step`).
CHUNK = 64


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    top: list[dict] | None = None  # next-token logprobs, for a call with max_tokens 0


@dataclass(eq=False)  # a call is itself: the engine's queue finds and removes it by identity
class Call:
    tokens: list[int]
    max_tokens: int  # 0: only the next token's logprobs are wanted
    temperature: float = 0.0
    seed: int = 0
    stop: list[str] | None = None
    grammar: str | None = None
    top_logprobs: int = 20
    repeat_penalty: float = 1.0  # llama.cpp's penalty on the last 64 tokens (1: none)
    top_p: float = DEFAULT_TOP_P
    top_k: int = TOP_K
    min_p: float = MIN_P  # 0: none
    special: bool = False  # the reply keeps the special tokens it draws, its end-of-turn token too (the reference's decoding)
    future: Future = field(default_factory=Future)
    slot: Slot | None = None
    sampler: Any = None
    next_token: int | None = None  # sampled, not yet in the KV cache
    out: list[int] = field(default_factory=list)
    text: bytes = b""
    on_text: Callable[[str], None] | None = None  # receives the reply as it is decoded (streaming)
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))

    def __post_init__(self):
        self.seed %= SEED_SPACE  # below llama.cpp's "random seed" value
        self.stop = [s for s in (self.stop or []) if s]


@dataclass(eq=False)
class Slot:
    seq: int  # its sequence (and, in exact mode, its KV stream) in its pool's context
    pool: Pool = field(repr=False)
    tokens: list[int] = field(default_factory=list)  # what this sequence holds in the KV cache
    read: int = 0  # how many of them were read as a prompt (the rest were generated one by one)
    call: Call | None = None
    last_used: int = 0


@dataclass(eq=False)
class Pool:
    """One llama.cpp context and its slots: a KV stream of `width` cells per slot (exact mode), or
    (`shared`, fast mode) one cache of twice `width` cells that the slots share. `ctx` is None while
    it is closed."""

    width: int  # the most tokens one call in this pool may hold (prompt and reply)
    streams: int
    shared: bool = False
    slots: list[Slot] = field(default_factory=list)
    ctx: Any = None
    memory: Any = None

    def __post_init__(self):
        self.slots = [Slot(i, self) for i in range(self.streams)]

    @property
    def cells(self) -> int:
        """The KV cells its context holds."""
        return 2 * self.width if self.shared else self.width * self.streams

    def busy(self) -> bool:
        return any(slot.call for slot in self.slots)


def shared_prefix(a: list[int], b: list[int]) -> int:
    n, most = 0, min(len(a), len(b))
    while n < most and a[n] == b[n]:
        n += 1
    return n


def reusable_prefix(slot: Slot, tokens: list[int], usable: int, *, exact: bool) -> int:
    """How much of a slot's cache a call may start from. Exact reading: only whole chunks that were
    read as a prompt, as a fresh reading would have read them (a generated token was decoded alone,
    and a prompt's last chunk may have been short)."""
    shared = min(shared_prefix(slot.tokens, tokens), usable)
    if not exact:
        return shared
    shared = min(shared, slot.read)
    return shared - shared % CHUNK
