"""Continuous batching on one llama.cpp context: the calls in flight decode together.

One scheduler thread owns the context. Each call takes a sequence (a slot), and every step
decodes the next token of each generating call plus a chunk of the prompts still to be read. A slot keeps its tokens after its call ends, and a new call starts from
the slot whose cache shares the longest prompt prefix with it. Each call samples with its own
llama.cpp sampler chain and seed, so no call draws from another's random stream.

Two modes:
- exact (the default): a call's logits, and so its reply, are those of the same call run alone on
  a fresh context, whatever it is batched with and whatever was cached. Four things make it so,
  each found by measurement: every sequence has a KV stream of its own (its cells, in order,
  attended to alone); flash attention is off (llama.cpp's CPU flash attention is not
  batch-invariant); prompts are read in chunks that end at multiples of `CHUNK` tokens, and only
  whole chunks read as a prompt are reused, so a cached prefix was computed in the same pieces as
  a fresh reading computes it; and one `llama_decode` holds entries of one length only (see
  `_step`). Memory: llama.cpp gives every stream of a context the same width, and a call needs
  its prompt and budget, not the whole context; so the calls go to two pools (contexts): many
  short streams, a few long ones, each opened when a call needs it and closed when another opens
  while it is idle. The README's run then holds one phase's cache at a time (see `__init__`).
  `bench/bench_exact.py` and `bench/bench_seed_pipeline.py` measure what it costs.
- fast (`exact=False`): one unified KV cache, where a prefix any sequence holds is copied to
  another, prompts are read in whatever chunk fits, and each step is one `llama_decode`. Log-probabilities then move with the batch
  and the cache by up to about 0.35 nats on the embedded model.
"""

from __future__ import annotations

import atexit
import itertools
import threading
from collections import deque
from typing import Any

import numpy as np

from ethos.agents.models.cpu_share import CpuShare
from ethos.agents.models.llama_calls import CHUNK, Call, Completion, Pool
from ethos.agents.models.llama_pools import PoolContexts
from ethos.agents.models.local import top_logprobs_from_logits
from ethos.errors import EthosError, RunFailure

# llama.cpp pads a stream's attended cells to multiples of 256: a stream this wide or wider attends
# over the same cells as any other, so the width of a pool never changes a call's logits.
STREAM_STEP = 256
LONG_STREAMS = 2


class LlamaBatchEngine(PoolContexts):
    """Serves `submit` calls from any thread; `stats` counts steps and prompt tokens for benchmarks."""

    def __init__(
        self,
        llm: Any,
        *,
        n_ctx: int = 2048,
        n_slots: int = 8,
        n_batch: int = 512,
        n_threads: int = 1,
        exact: bool = True,
        short: int | None = None,
        share_cpu: bool = False,
    ):
        """`n_ctx`: the most tokens one call may hold (prompt and reply). Fast mode: one context, its
        cache twice `n_ctx` tokens, shared. Exact mode: two pools, each a context opened when a call
        needs it; a call goes to the narrowest that holds it. The short pool has `n_slots` streams
        of `short` tokens (default: a quarter of `n_ctx`), the long pool `LONG_STREAMS` of `n_ctx`;
        each holds as many cells as fast mode's cache. `short=0`: one pool, `n_slots` × `n_ctx`.
        `share_cpu`: decode with the cores other processes leave free, up to `n_threads` (cpu_share.py)."""
        import llama_cpp

        self._lib = llama_cpp
        self._llm = llm  # the llama_cpp.Llama that holds the weights and the tokenizer
        self.exact = exact
        self.n_ctx, self.n_batch, self._n_threads = n_ctx, n_batch, n_threads
        self._share = CpuShare(n_threads) if share_cpu else None
        self._vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        short = n_ctx // 4 // STREAM_STEP * STREAM_STEP if short is None else short
        if not exact:
            self._pools = [Pool(n_ctx, n_slots, shared=True)]
        elif STREAM_STEP <= short < n_ctx:
            long = min(LONG_STREAMS, n_slots)
            self._pools = [Pool(short, n_slots), Pool(n_ctx, long)]
        else:
            self._pools = [Pool(n_ctx, n_slots)]
        self.stats = {"steps": 0, "most_sequences": 0, "prompt_tokens": 0, "prompt_evaluated": 0, "generated": 0, "contexts_opened": 0}
        if not exact:  # one cache for the engine's life
            self._open(self._pools[0])
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._queue: deque[Call] = deque()
        self._cond = threading.Condition()
        self._clock = itertools.count(1)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ethos-llama-batch", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def submit(self, tokens: list[int], *, max_tokens: int, **decoding) -> Completion:
        """Run one call to the end (blocking); calls submitted meanwhile from other threads join its
        batch. `decoding`: the `Call`'s settings (temperature, seed, stop, grammar, top_logprobs,
        repeat_penalty, top_p) and `on_text`, which gets the reply piece by piece as it is decoded,
        from the engine's thread."""
        if not tokens:
            raise RunFailure("empty prompt")
        if len(tokens) + max_tokens > self.n_ctx:
            raise RunFailure(
                f"the prompt ({len(tokens)} tokens) and the reply budget ({max_tokens}) exceed the model context of {self.n_ctx} tokens"
            )
        call = Call(list(tokens), max_tokens, **decoding)
        with self._cond:
            if self._closed:
                raise RunFailure("the llama.cpp engine is closed")
            self._queue.append(call)
            self._cond.notify()
        return call.future.result()

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self._fail_all(RunFailure("the llama.cpp engine was closed"))
        self._lib.llama_batch_free(self._batch)
        for pool in self._pools:
            self._shut(pool)

    # ---- the scheduler thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                with self._cond:
                    while not self._closed and not self._queue and not self._active():
                        self._cond.wait()
                    if self._closed:
                        return
                    self._admit()
                if self._active():
                    self._follow_cpu_share()
                    self._step()
            except Exception as exc:  # never leave a caller waiting on a dead scheduler
                self._fail_all(RunFailure(f"the llama.cpp engine failed: {exc.__class__.__name__}: {exc}"))
                for pool in self._pools:
                    for slot in pool.slots:
                        if pool.memory:
                            self._lib.llama_memory_seq_rm(pool.memory, slot.seq, -1, -1)
                        slot.tokens = []

    def _follow_cpu_share(self) -> None:
        if not self._share:
            return
        threads = self._share.threads()
        if threads != self._n_threads:  # no output changes with it: see cpu_share.py
            self._n_threads = threads
            for pool in self._pools:
                if pool.ctx:
                    self._lib.llama_set_n_threads(pool.ctx, threads, threads)

    def _fail_all(self, exc: EthosError) -> None:
        with self._cond:
            calls = [*self._active(), *self._queue]
            self._queue.clear()
        for call in calls:
            self._fail(call, exc)

    def _active(self) -> list[Call]:
        return [slot.call for pool in self._pools for slot in pool.slots if slot.call]

    def _step(self) -> None:
        """One step: the next token of every generating call and a prompt chunk of the others, then
        one sampled token per call that has logits. Fast mode decodes the step in one `llama_decode`.
        Exact mode decodes together only entries of one length: with a KV stream per sequence,
        llama.cpp splits a batch into equal per-sequence pieces, which would cut a 64-token chunk
        read beside a one-token step into 1 + 63 tokens, not as a fresh reading cuts it."""
        calls = self._active()
        self.stats["most_sequences"] = max(self.stats["most_sequences"], len(calls))
        entries: list[tuple[Call, list[int], bool]] = []  # (call, tokens added, logits wanted)
        room = self.n_batch
        for call in calls:  # generating calls first: one token each
            if call.next_token is not None:
                entries.append((call, [call.next_token], True))
                room -= 1
        for call in calls:  # then prompt chunks, oldest call first
            read = len(call.slot.tokens)
            pending = call.tokens[read:]
            if call.next_token is None and pending and room > 0:
                # Exact reading: every chunk ends at a multiple of `chunk` (or at the prompt's end), so
                # a prompt is read in the same pieces whether its prefix was cached or not.
                size = CHUNK - read % CHUNK if self.exact else room
                if self.exact and size > room and len(pending) > room:
                    continue  # wait for a step with room for the whole chunk
                chunk = pending[: min(size, room)]
                entries.append((call, chunk, len(chunk) == len(pending)))
                room -= len(chunk)
        if not self.exact:
            self._decode(entries)
            return
        for pool, length in dict.fromkeys((call.slot.pool, len(tokens)) for call, tokens, _ in entries):
            self._decode([e for e in entries if e[0].slot.pool is pool and len(e[1]) == length])

    def _decode(self, entries: list[tuple[Call, list[int], bool]]) -> None:
        """One `llama_decode` of `entries` (of one pool), then a token (or the logprobs) for each that wants logits."""
        lib, batch, pool = self._lib, self._batch, entries[0][0].slot.pool
        n, outputs = 0, []
        for call, tokens, logits in entries:
            start = len(call.slot.tokens)
            for offset, token in enumerate(tokens):
                batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, start + offset, 1
                batch.seq_id[n][0] = call.slot.seq
                batch.logits[n] = logits and offset == len(tokens) - 1
                n += 1
            if logits:
                outputs.append((call, n - 1))
        batch.n_tokens = n
        code = lib.llama_decode(pool.ctx, batch)
        if code != 0:
            for call, _, _ in entries:
                lib.llama_memory_seq_rm(pool.memory, call.slot.seq, -1, -1)
                call.slot.tokens = []
                self._fail(call, RunFailure(f"llama.cpp could not decode a batch of {n} tokens (code {code})"))
            return
        self.stats["steps"] += 1
        for call, tokens, _ in entries:
            call.slot.tokens.extend(tokens)
            if call.next_token is None:
                self.stats["prompt_evaluated"] += len(tokens)
                call.slot.read = len(call.slot.tokens)
            call.next_token = None
        for call, index in outputs:
            try:
                self._advance(call, index)
            except Exception as exc:  # one call's failure ends that call only
                self._fail(call, exc if isinstance(exc, EthosError) else RunFailure(f"llama.cpp sampling failed: {exc}"))

    def _advance(self, call: Call, index: int) -> None:
        lib, ctx = self._lib, call.slot.pool.ctx
        if not call.max_tokens:
            logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, index), shape=(self._n_vocab,))
            top = top_logprobs_from_logits(np.array(logits), call.top_logprobs, self._piece)
            self._finish(call, Completion(top[0]["token"], len(call.tokens), 1, top))
            return
        token = call.sampler.sample(ctx, index)
        self.stats["generated"] += 1
        end = lib.llama_vocab_is_eog(self._vocab, token)  # the end-of-turn token ends every reply
        if end and not call.special:
            self._finish(call, self._completion(call))
            return
        if not end:
            call.out.append(token)
        piece = self._llm.detokenize([token], special=call.special)
        call.text += piece
        if call.on_text:
            text = call.decoder.decode(piece)  # a character split over two tokens waits for its rest
            if text:
                call.on_text(text)
        if end:  # its text kept, as transformers' decode without skip_special_tokens keeps it
            self._finish(call, self._completion(call))
            return
        if call.stop:
            text = call.text.decode("utf-8", errors="ignore")
            cut = min((text.find(s) for s in call.stop if s in text), default=-1)
            if cut >= 0:
                self._finish(call, self._completion(call, text[:cut]))
                return
        if len(call.out) >= call.max_tokens:
            self._finish(call, self._completion(call))
        else:
            call.next_token = token

    def _piece(self, token: int) -> str:
        return self._llm.detokenize([token]).decode("utf-8", errors="replace")

    @staticmethod
    def _completion(call: Call, text: str | None = None) -> Completion:
        return Completion(call.text.decode("utf-8", errors="replace") if text is None else text, len(call.tokens), len(call.out))

    def _release(self, call: Call) -> None:
        if call.sampler:
            call.sampler.free()
            call.sampler = None
        if call.slot:
            call.slot.call, call.slot.last_used = None, next(self._clock)

    def _finish(self, call: Call, result: Completion) -> None:
        self._release(call)
        call.future.set_result(result)

    def _fail(self, call: Call, exc: Exception) -> None:
        self._release(call)
        call.future.set_exception(exc)
