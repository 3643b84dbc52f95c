"""Each llama.cpp call's sampler: its grammar, penalty, top-k 40, nucleus, min-p, temperature and
seed, as one llama.cpp sampler chain would apply them, the grammar first.

A constrained call (a GBNF grammar: the persona sets) does not check the grammar over the whole
vocabulary at every token, as the chain with the grammar first does (49,152 tokens for SmolLM2,
x1.4-1.5 the time of a free token). It checks the best candidates by logit only: the chain's next
step keeps the 40 best tokens the grammar allows, and when the best `SUBSET` candidates hold 40
allowed ones whose last still beats every token outside them, those 40 are exactly the chain's.
Otherwise, it checks the whole vocabulary, as the chain does. The candidates then go through the
same samplers, in the same order and with the same random stream, so every draw is the chain's:
the same seed gives the same reply as before, token for token (tests/integration/test_llama_batch.py).
"""

from __future__ import annotations

import ctypes

import numpy as np

from ethos.errors import RunFailure

SUBSET = 256  # candidates checked against the grammar first (bench/bench_constrained.py counts how often they suffice: 89%)

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])  # llama_token_data


class Sampler:
    """A free call's chain: llama.cpp samples over the whole vocabulary."""

    def __init__(self, lib, chain):
        self._lib, self.chain = lib, chain

    def sample(self, ctx, index: int) -> int:
        return self._lib.llama_sampler_sample(self.chain, ctx, index)

    def free(self) -> None:
        self._lib.llama_sampler_free(self.chain)


class ConstrainedSampler:
    """A constrained call's samplers, the grammar checked over the best candidates first (see the module's docstring)."""

    def __init__(self, lib, n_vocab: int, call, grammar):
        self._lib, self._n_vocab, self.grammar = lib, n_vocab, grammar
        self.greedy, self.top_k = call.temperature <= 0, call.top_k
        self.penalties = (
            lib.llama_sampler_init_penalties(n_vocab, 64, call.repeat_penalty, 0.0, 0.0)
            if not self.greedy and call.repeat_penalty != 1.0
            else None
        )
        self.rest = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        for sampler in (lib.llama_sampler_init_greedy(),) if self.greedy else _after_penalties(lib, call):
            lib.llama_sampler_chain_add(self.rest, sampler)
        self.checked = {"subset": 0, "whole": 0}  # how often the best candidates sufficed

    def _apply(self, sampler, data: np.ndarray, *, ranked: bool = False) -> np.ndarray:
        array = self._lib.llama_token_data_array(data.ctypes.data_as(ctypes.POINTER(self._lib.llama_token_data)), len(data), -1, ranked)
        self._lib.llama_sampler_apply(sampler, ctypes.byref(array))
        return data[: array.size] if array.selected < 0 else data[array.selected : array.selected + 1]

    def _allowed(self, logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The candidates `ids` with their logits after the penalty and the grammar, the disallowed
        ones dropped, best first (ties by token id, as the chain's scan over the vocabulary finds them)."""
        data = np.empty(len(ids), dtype=_TOKEN_DATA)
        data["id"], data["logit"], data["p"] = ids, logits[ids], 0.0
        for sampler in (self.penalties, self.grammar):
            if sampler:
                self._apply(sampler, data)  # each rewrites logits in place (the grammar: -inf where disallowed)
        data = data[np.isfinite(data["logit"])]
        return data[np.lexsort((data["id"], -data["logit"]))]

    def sample(self, ctx, index: int) -> int:
        logits = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(ctx, index), shape=(self._n_vocab,))
        wanted = 1 if self.greedy else self.top_k
        order = np.argpartition(-logits, SUBSET)
        allowed = self._allowed(logits, order[:SUBSET])
        # A token outside the subset scores at most its raw logit (a repeat penalty only lowers a logit).
        if len(allowed) >= wanted and allowed["logit"][wanted - 1] > logits[order[SUBSET]]:
            self.checked["subset"] += 1
        else:
            self.checked["whole"] += 1
            allowed = self._allowed(logits, np.arange(self._n_vocab, dtype=np.int32))
            if not len(allowed):
                raise RunFailure("the grammar allows no token here")
        best = np.ascontiguousarray(allowed[:wanted])
        token = int(self._apply(self.rest, best, ranked=True)["id"][0])  # ranked, as the chain's top-k leaves them
        for sampler in (self.grammar, self.penalties, self.rest):
            if sampler:
                self._lib.llama_sampler_accept(sampler, token)
        return token

    def free(self) -> None:
        for sampler in (self.grammar, self.penalties, self.rest):
            if sampler:
                self._lib.llama_sampler_free(sampler)


def _after_penalties(lib, call) -> tuple:
    """The chain after the penalty: the call's top-k, nucleus and min-p (llama.cpp's usual 40, 0.95
    and 0.05 unless it asks for others) around its temperature and seed."""
    return (
        lib.llama_sampler_init_top_k(call.top_k),
        lib.llama_sampler_init_top_p(call.top_p, 1),
        *((lib.llama_sampler_init_min_p(call.min_p, 1),) if call.min_p > 0 else ()),
        lib.llama_sampler_init_temp(call.temperature),
        lib.llama_sampler_init_dist(call.seed),  # below SEED_SPACE: never llama.cpp's "random"
    )


def sampler_chain(lib, vocab, n_vocab: int, call, *, grammar_first: bool = False) -> Sampler | ConstrainedSampler:
    """The call's own sampler. `grammar_first`: a constrained call's grammar over the whole
    vocabulary at every token, as one chain (the measured baseline of the subset check)."""
    grammar = None
    if call.grammar:
        grammar = lib.llama_sampler_init_grammar(vocab, call.grammar.encode("utf-8"), b"root")
        if not grammar:
            raise RunFailure("llama.cpp could not parse the grammar")
        if not grammar_first:
            return ConstrainedSampler(lib, n_vocab, call, grammar)
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    if grammar:
        lib.llama_sampler_chain_add(chain, grammar)
    if call.temperature <= 0:
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
    else:
        if call.repeat_penalty != 1.0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_penalties(n_vocab, 64, call.repeat_penalty, 0.0, 0.0))
        for sampler in _after_penalties(lib, call):
            lib.llama_sampler_chain_add(chain, sampler)
    return Sampler(lib, chain)
