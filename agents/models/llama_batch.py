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
  `_step`). `bench/bench_exact.py` measures what it costs.
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

from ethos.agents.models.llama_calls import CHUNK, Call, Completion, Slot, reusable_prefix, sampler_chain, shared_prefix
from ethos.agents.models.local import top_logprobs_from_logits
from ethos.errors import EthosError, RunFailure


class LlamaBatchEngine:
    """Serves `submit` calls from any thread; `stats` counts steps and prompt tokens for benchmarks."""

    def __init__(self, llm: Any, *, n_ctx: int = 2048, n_slots: int = 8, n_batch: int = 512, n_threads: int = 1, exact: bool = True):
        """`n_ctx`: the most tokens one call may hold (prompt and reply). The cache holds `n_ctx`
        tokens per slot in exact mode, and twice `n_ctx`, shared, in fast mode."""
        import llama_cpp

        self._lib = llama_cpp
        self._llm = llm  # the llama_cpp.Llama that holds the weights and the tokenizer
        self.exact = exact
        cells = n_ctx * n_slots if exact else 2 * n_ctx
        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = cells, n_batch, n_batch, n_slots
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = not exact  # exact: a KV stream per sequence; fast: one cache, prefixes shared
        if exact:
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
        if not self._ctx:
            raise RunFailure(f"llama.cpp could not create a context of {cells} tokens for {n_slots} sequences")
        self.n_ctx, self.n_batch, self._cells = n_ctx, n_batch, cells
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._slots = [Slot(i) for i in range(n_slots)]
        self._queue: deque[Call] = deque()
        self._cond = threading.Condition()
        self._clock = itertools.count(1)
        self._closed = False
        self.stats = {"steps": 0, "most_sequences": 0, "prompt_tokens": 0, "prompt_evaluated": 0, "generated": 0}
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
        self._lib.llama_free(self._ctx)

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
                    self._step()
            except Exception as exc:  # never leave a caller waiting on a dead scheduler
                self._fail_all(RunFailure(f"the llama.cpp engine failed: {exc.__class__.__name__}: {exc}"))
                for slot in self._slots:
                    self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
                    slot.tokens = []

    def _fail_all(self, exc: EthosError) -> None:
        with self._cond:
            calls = [*self._active(), *self._queue]
            self._queue.clear()
        for call in calls:
            self._fail(call, exc)

    def _active(self) -> list[Call]:
        return [slot.call for slot in self._slots if slot.call]

    def _cells_needed(self) -> int:
        # Conservative: shared prefixes are counted once per sequence that holds them.
        held = sum(len(slot.tokens) for slot in self._slots)
        return held + sum(len(c.tokens) + c.max_tokens - len(c.slot.tokens) for c in self._active())

    def _admit(self) -> None:
        """Move queued calls into free slots, each starting from the longest cached prefix."""
        lib = self._lib
        while self._queue:
            call = self._queue[0]
            free = [slot for slot in self._slots if slot.call is None]
            if not free:
                return
            usable = len(call.tokens) - 1  # at least one prompt token is evaluated, for its logits
            if not self.exact and not self._active():
                # A new phase (the moderator after the agents): drop the caches it cannot use, since
                # every step attends over the whole span of occupied cells, used or not.
                for idle in free:
                    if idle.tokens and 2 * shared_prefix(idle.tokens, call.tokens) < len(idle.tokens):
                        lib.llama_memory_seq_rm(self._memory, idle.seq, -1, -1)
                        idle.tokens = []
            shared = {s.seq: reusable_prefix(s, call.tokens, usable, exact=self.exact) for s in self._slots}
            slot = max(free, key=lambda s: (shared[s.seq], -s.last_used))
            donor = max(self._slots, key=lambda s: shared[s.seq])
            if not self.exact and shared[donor.seq] > shared[slot.seq]:  # copy the longer prefix another sequence holds
                lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
                lib.llama_memory_seq_cp(self._memory, donor.seq, slot.seq, 0, shared[donor.seq])
                slot.tokens = call.tokens[: shared[donor.seq]]
                slot.read = len(slot.tokens)
            else:  # keep this sequence's own prefix
                lib.llama_memory_seq_rm(self._memory, slot.seq, shared[slot.seq], -1)
                slot.tokens = slot.tokens[: shared[slot.seq]]
                slot.read = min(slot.read, len(slot.tokens))
            # Fast mode shares one cache: make room by forgetting idle slots, least recently used first.
            idle = sorted((s for s in free if s is not slot and s.tokens), key=lambda s: s.last_used)
            need = len(call.tokens) + call.max_tokens - len(slot.tokens)
            while not self.exact and self._cells_needed() + need > self._cells and idle:
                victim = idle.pop(0)
                lib.llama_memory_seq_rm(self._memory, victim.seq, -1, -1)
                victim.tokens = []
            if not self.exact and self._cells_needed() + need > self._cells and self._active():
                return  # wait for a running call to end
            self._queue.popleft()
            call.slot, slot.call = slot, call  # active from here: a fault below fails it with the others
            if call.max_tokens:
                try:
                    call.sampler = sampler_chain(self._lib, self._vocab, self._n_vocab, call)
                except EthosError as exc:
                    self._fail(call, exc)
                    continue
            self.stats["prompt_tokens"] += len(call.tokens)

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
        for length in dict.fromkeys(len(tokens) for _, tokens, _ in entries):
            self._decode([e for e in entries if len(e[1]) == length])

    def _decode(self, entries: list[tuple[Call, list[int], bool]]) -> None:
        """One `llama_decode` of `entries`, then a token (or the logprobs) for each that wants logits."""
        lib, batch = self._lib, self._batch
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
        code = lib.llama_decode(self._ctx, batch)
        if code != 0:
            for call, _, _ in entries:
                lib.llama_memory_seq_rm(self._memory, call.slot.seq, -1, -1)
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
        lib = self._lib
        if not call.max_tokens:
            logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(self._ctx, index), shape=(self._n_vocab,))
            top = top_logprobs_from_logits(np.array(logits), call.top_logprobs, self._piece)
            self._finish(call, Completion(top[0]["token"], len(call.tokens), 1, top))
            return
        token = lib.llama_sampler_sample(call.sampler, self._ctx, index)
        self.stats["generated"] += 1
        if lib.llama_vocab_is_eog(self._vocab, token):  # the end-of-turn token ends every reply
            self._finish(call, self._completion(call))
            return
        call.out.append(token)
        piece = self._llm.detokenize([token])
        call.text += piece
        if call.on_text:
            text = call.decoder.decode(piece)  # a character split over two tokens waits for its rest
            if text:
                call.on_text(text)
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
            self._lib.llama_sampler_free(call.sampler)
            call.sampler = None
        if call.slot:
            call.slot.call, call.slot.last_used = None, next(self._clock)

    def _finish(self, call: Call, result: Completion) -> None:
        self._release(call)
        call.future.set_result(result)

    def _fail(self, call: Call, exc: Exception) -> None:
        self._release(call)
        call.future.set_exception(exc)
