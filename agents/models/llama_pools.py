"""The KV pools of the llama.cpp batch engine (`llama_batch.py`): each pool is a context, opened when
a call needs it and shut when another opens while it is idle; a queued call is admitted to the
narrowest pool that holds it, in the free slot whose cached prefix it shares the most. The engine's
scheduler (stepping, decoding, sampling) is in `llama_batch.py`; this is the memory it schedules on."""

from __future__ import annotations

from ethos.agents.models.llama_calls import Call, Pool, reusable_prefix, shared_prefix
from ethos.agents.models.llama_sampling import sampler_chain
from ethos.errors import EthosError, RunFailure


class PoolContexts:
    """The engine's pools (`_pools`) and their contexts, for `LlamaBatchEngine` (its `_lib`, `_llm`,
    `_vocab`, `exact`, `n_batch`, `_n_threads`, `_queue`, `stats` and `_fail`)."""

    @property
    def cells(self) -> int:
        """KV cells the open contexts hold (each about 22.5 KB on the embedded model)."""
        return sum(p.cells for p in self._pools if p.ctx)

    def _open(self, pool: Pool) -> None:
        """Create the pool's context. Exact: a KV stream per sequence; fast: one cache, prefixes shared."""
        lib, cells = self._lib, pool.cells
        params = lib.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = cells, self.n_batch, self.n_batch, pool.streams
        params.n_threads = params.n_threads_batch = self._n_threads
        params.kv_unified = pool.shared
        if self.exact:
            params.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        ctx = lib.llama_init_from_model(self._llm._model.model, params)
        if not ctx:
            raise RunFailure(f"llama.cpp could not create a context of {cells} tokens for {pool.streams} sequences")
        pool.ctx, pool.memory = ctx, lib.llama_get_memory(ctx)
        self.stats["contexts_opened"] += 1

    def _shut(self, pool: Pool) -> None:
        """Free the pool's context (and its memory); what its slots cached goes with it."""
        if pool.ctx:
            self._lib.llama_free(pool.ctx)
        pool.ctx = pool.memory = None
        for slot in pool.slots:
            slot.tokens, slot.read = [], 0

    def _cells_needed(self, pool: Pool) -> int:
        # Conservative: shared prefixes are counted once per sequence that holds them.
        held = sum(len(slot.tokens) for slot in pool.slots)
        return held + sum(len(s.call.tokens) + s.call.max_tokens - len(s.tokens) for s in pool.slots if s.call)

    def _admit(self) -> None:
        """Move queued calls into free slots of their pools, in order, each starting from the longest
        cached prefix. Exact mode opens a closed pool when a call needs it, closing the pools no call
        is using, so that one phase's caches (the agents') are gone when the next (the moderator's) runs."""
        for call in list(self._queue):
            pool = next(p for p in self._pools if len(call.tokens) + call.max_tokens <= p.width)
            if not any(slot.call is None for slot in pool.slots):
                if self.exact:
                    continue  # a call for another pool may still start
                break
            if pool.ctx is None:
                for idle in self._pools:
                    if idle.ctx and not idle.busy():
                        self._shut(idle)
                try:
                    self._open(pool)
                except EthosError as exc:
                    self._queue.remove(call)
                    self._fail(call, exc)
                    continue
            if not self._place(call, pool):
                break  # fast mode: wait for a running call to end
            self._queue.remove(call)  # out of the queue before it is active: a fault below fails it once
            if call.max_tokens:
                try:
                    call.sampler = sampler_chain(self._lib, self._vocab, self._n_vocab, call)
                except EthosError as exc:
                    self._fail(call, exc)
                    continue
            self.stats["prompt_tokens"] += len(call.tokens)

    def _place(self, call: Call, pool: Pool) -> bool:
        """Give the call the free slot of `pool` that shares the longest prefix with it (fast mode: copy
        a longer one another slot holds, and make room in the shared cache); False: no room yet."""
        lib, memory = self._lib, pool.memory
        free = [slot for slot in pool.slots if slot.call is None]
        usable = len(call.tokens) - 1  # at least one prompt token is evaluated, for its logits
        if not self.exact and not pool.busy():
            # A new phase (the moderator after the agents): drop the caches it cannot use, since
            # every step attends over the whole span of occupied cells, used or not.
            for idle in free:
                if idle.tokens and 2 * shared_prefix(idle.tokens, call.tokens) < len(idle.tokens):
                    lib.llama_memory_seq_rm(memory, idle.seq, -1, -1)
                    idle.tokens = []
        shared = {s.seq: reusable_prefix(s, call.tokens, usable, exact=self.exact) for s in pool.slots}
        slot = max(free, key=lambda s: (shared[s.seq], -s.last_used))
        donor = max(pool.slots, key=lambda s: shared[s.seq])
        if not self.exact and shared[donor.seq] > shared[slot.seq]:  # copy the longer prefix another sequence holds
            lib.llama_memory_seq_rm(memory, slot.seq, -1, -1)
            lib.llama_memory_seq_cp(memory, donor.seq, slot.seq, 0, shared[donor.seq])
            slot.tokens = call.tokens[: shared[donor.seq]]
            slot.read = len(slot.tokens)
        else:  # keep this sequence's own prefix
            lib.llama_memory_seq_rm(memory, slot.seq, shared[slot.seq], -1)
            slot.tokens = slot.tokens[: shared[slot.seq]]
            slot.read = min(slot.read, len(slot.tokens))
        if not self.exact:  # make room by forgetting idle slots, least recently used first
            idle = sorted((s for s in free if s is not slot and s.tokens), key=lambda s: s.last_used)
            need = len(call.tokens) + call.max_tokens - len(slot.tokens)
            while self._cells_needed(pool) + need > pool.cells and idle:
                victim = idle.pop(0)
                lib.llama_memory_seq_rm(memory, victim.seq, -1, -1)
                victim.tokens = []
            if self._cells_needed(pool) + need > pool.cells and pool.busy():
                return False
        call.slot, slot.call = slot, call  # active from here: a fault fails it with the others
        return True
