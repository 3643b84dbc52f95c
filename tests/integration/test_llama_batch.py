"""Batched decoding on the real embedded model. Exact mode (the default): a call's logits, and so its
reply, are those of the same call run alone on a fresh context, whatever it is batched with and
whatever was cached. Fast mode: measured, and bounded."""

import threading

import pytest

from ethos.agents.models import load_backend
from ethos.agents.models.llama_batch import LlamaBatchEngine
from ethos.agents.models.llama_calls import CHUNK
from ethos.errors import EthosError

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."
VOICES = ["a nurse", "a lawyer", "a hospital chaplain", "the patient's daughter"]


@pytest.fixture(scope="module")
def chat():
    return load_backend("embedded").chat


def prompt(chat, voice: str, prefix: str = "") -> list[int]:
    return chat._tokens(
        [
            {"role": "system", "content": "You comment on health-care ethics."},
            {"role": "user", "content": f"{SITUATION} Comment as {voice}."},
        ],
        prefix,
    )


def together(engine, calls: list[dict]) -> list:
    """Submit every call at the same moment from its own thread; a failure is returned, not raised."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def submit(i: int) -> None:
        start.wait()
        try:
            results[i] = engine.submit(**calls[i])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_call_gives_the_same_text_alone_and_batched(chat):
    engine = chat.engine
    greedy = {"tokens": prompt(chat, VOICES[0]), "max_tokens": 24, "temperature": 0.0}
    seeded = {"tokens": prompt(chat, VOICES[1]), "max_tokens": 24, "temperature": 0.9, "seed": 7}
    alone = [engine.submit(**greedy).text, engine.submit(**seeded).text]
    steps_before = engine.stats["steps"]
    others = [{"tokens": prompt(chat, v), "max_tokens": 24, "temperature": 0.8, "seed": i} for i, v in enumerate(VOICES[2:])]
    batched = together(engine, [greedy, *others, seeded])
    assert engine.stats["most_sequences"] >= 3  # the four calls did share batches
    assert engine.stats["steps"] - steps_before < 4 * 24  # fewer decode steps than one call after another
    assert [batched[0].text, batched[-1].text] == alone
    assert all(r.completion_tokens == 24 or r.text for r in batched)


def fresh(chat, exact=True) -> LlamaBatchEngine:
    return LlamaBatchEngine(chat._llm, n_ctx=2048, n_slots=8, n_threads=chat.n_threads, exact=exact)


def long_prompt(chat, voice: str, tail: str = "") -> list[int]:
    """A prompt of a few chunks: the situation told at length, then the question for one voice."""
    return prompt(chat, f"{voice}. " + " ".join([SITUATION] * 8) + tail)


def logprobs(completion) -> list[tuple[str, float]]:
    return [(t["token"], t["logprob"]) for t in completion.top]


def test_a_cached_prefix_gives_the_logprobs_of_a_fresh_reading(chat):
    whole = long_prompt(chat, VOICES[0], " Answer A or B.")
    sibling = long_prompt(chat, VOICES[0], " Say which option you prefer and why, briefly.")
    assert len(whole) > 2 * CHUNK + 10 and whole[: CHUNK * 2] == sibling[: CHUNK * 2]
    engine = fresh(chat)
    alone = logprobs(engine.submit(whole, max_tokens=0))
    engine.close()
    engine = fresh(chat)
    engine.submit(sibling, max_tokens=8, temperature=0.7, seed=3)  # caches the shared prefix
    before = engine.stats["prompt_evaluated"]
    cached = logprobs(engine.submit(whole, max_tokens=0))
    assert engine.stats["prompt_evaluated"] - before < len(whole) - CHUNK  # the prefix was reused
    engine.close()
    assert cached == alone  # identical to the last bit, not close


def test_batched_calls_give_the_replies_and_logprobs_of_calls_alone(chat):
    calls = [{"tokens": long_prompt(chat, v), "max_tokens": 0, "top_logprobs": 10} for v in VOICES[:2]]
    calls += [{"tokens": prompt(chat, v), "max_tokens": 24, "temperature": 0.9, "seed": 11 + i} for i, v in enumerate(VOICES)]
    alone = []
    for call in calls:
        engine = fresh(chat)
        alone.append(engine.submit(**call))
        engine.close()
    engine = fresh(chat)
    for _ in range(2):  # the second round also starts from what the first cached
        batched = together(engine, calls)
        assert [logprobs(r) for r in batched[:2]] == [logprobs(r) for r in alone[:2]]
        assert [r.text for r in batched[2:]] == [r.text for r in alone[2:]]
    assert engine.stats["most_sequences"] >= 3  # they did share batches
    engine.close()


def test_fast_mode_moves_logprobs_with_the_cache_and_the_batch(chat):
    """The fast mode's documented bound: how far a cached prefix or a batch moves log-probabilities."""
    whole = long_prompt(chat, VOICES[1], " Answer A or B.")
    sibling = long_prompt(chat, VOICES[1], " Say which option you prefer and why, briefly.")
    engine = fresh(chat, exact=False)
    alone = dict(logprobs(engine.submit(whole, max_tokens=0)))
    engine.close()
    engine = fresh(chat, exact=False)
    engine.submit(sibling, max_tokens=8, temperature=0.7, seed=3)
    cached = dict(logprobs(engine.submit(whole, max_tokens=0)))
    engine.close()
    shared = set(alone) & set(cached)
    assert len(shared) >= 10 and max(abs(alone[t] - cached[t]) for t in shared) < 0.5


def test_a_failing_call_fails_alone(chat):
    engine = chat.engine
    good = [{"tokens": prompt(chat, v), "max_tokens": 12, "temperature": 0.5, "seed": 2} for v in VOICES[:2]]
    bad_grammar = {"tokens": prompt(chat, VOICES[2]), "max_tokens": 12, "grammar": 'root ::= "yes" ('}
    too_long = {"tokens": prompt(chat, VOICES[3]) * 200, "max_tokens": 12}
    results = together(engine, [good[0], bad_grammar, too_long, good[1]])
    assert isinstance(results[1], EthosError) and "grammar" in str(results[1])
    assert isinstance(results[2], EthosError) and "exceed the model context" in str(results[2])
    assert all(r.text and r.completion_tokens > 0 for r in (results[0], results[3]))


def test_a_shared_prefix_and_a_continuation_are_not_evaluated_twice(chat):
    engine = chat.engine
    before = dict(engine.stats)
    first = long_prompt(chat, VOICES[0])
    choice = engine.submit(first, max_tokens=0)
    continued = long_prompt(chat, VOICES[0]) + chat._llm.tokenize(choice.top[0]["token"].encode(), add_bos=False)
    engine.submit(continued, max_tokens=8, temperature=0.0)
    evaluated = engine.stats["prompt_evaluated"] - before["prompt_evaluated"]
    # Exact mode reuses whole chunks that were read as a prompt: the continuation reads the choice
    # call's last, partial chunk again and what follows it, nothing before.
    reused = (len(first) // CHUNK) * CHUNK
    assert reused >= 2 * CHUNK and evaluated == len(first) + len(continued) - reused


def test_fast_mode_reads_a_prefix_shared_across_sequences_once(chat):
    engine = fresh(chat, exact=False)
    prompts = [prompt(chat, v) for v in VOICES]
    engine.submit(prompts[0], max_tokens=0)
    before = engine.stats["prompt_evaluated"]
    siblings = together(engine, [{"tokens": p, "max_tokens": 0} for p in prompts])
    assert all(s.top for s in siblings)
    common = next(i for i, column in enumerate(zip(*prompts)) if len(set(column)) > 1)
    assert common > 30  # instructions and situation
    # Each prompt's shared part is read once at most: the first voice's is cached whole already.
    read = engine.stats["prompt_evaluated"] - before
    assert read <= sum(len(p) for p in prompts) - len(VOICES) * common + len(VOICES)
    engine.close()


def test_an_internal_failure_fails_the_waiting_calls_and_the_engine_goes_on(chat, monkeypatch):
    engine = chat.engine
    original = engine._step

    def broken_step():
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(engine, "_step", broken_step)
    with pytest.raises(EthosError, match="simulated fault"):
        engine.submit(prompt(chat, VOICES[0]), max_tokens=4)
    monkeypatch.setattr(engine, "_step", original)
    assert engine.submit(prompt(chat, VOICES[0]), max_tokens=4).completion_tokens > 0


def test_a_fault_while_a_call_is_admitted_fails_that_call(chat, monkeypatch):
    engine = chat.engine

    def broken_sampler(*args):
        raise RuntimeError("sampler fault")

    import ethos.agents.models.llama_pools as llama_pools  # where calls are admitted

    monkeypatch.setattr(llama_pools, "sampler_chain", broken_sampler)
    with pytest.raises(EthosError, match="sampler fault"):
        engine.submit(prompt(chat, VOICES[1]), max_tokens=4, temperature=0.5)
    monkeypatch.undo()
    assert engine.submit(prompt(chat, VOICES[1]), max_tokens=4).completion_tokens > 0


def test_a_streamed_reply_is_the_reply():
    chat = load_backend("embedded").chat
    messages = [("system", "You comment on health-care ethics."), ("user", f"{SITUATION} Comment as a nurse.")]
    chunks = [c.content for c in chat.stream(messages, max_tokens=32, temperature=0.0)]
    assert len([c for c in chunks if c]) > 10  # piece by piece as decoded
    assert "".join(chunks) == chat.invoke(messages, max_tokens=32, temperature=0.0).content
    probe = [c for c in chat.stream(messages, logprobs=True, top_logprobs=5) if c.content]
    assert len(probe) == 1 and probe[0].response_metadata["logprobs"]["content"][0]["top_logprobs"]  # option probabilities come whole


def test_short_and_long_calls_give_in_their_pools_what_one_wide_pool_gives(chat):
    """Exact mode's pools (many short streams, two long ones) change where a call's cache lives, not
    its logits or its reply; and a phase's pool is closed when the next phase's opens."""
    very_long = prompt(chat, VOICES[1] + ". " + " ".join([SITUATION] * 40))
    assert len(very_long) > 600  # beyond the short streams (512 tokens)
    calls = [
        {"tokens": very_long, "max_tokens": 0, "top_logprobs": 10},
        {"tokens": very_long, "max_tokens": 16, "temperature": 0.9, "seed": 5},
        *({"tokens": prompt(chat, v), "max_tokens": 24, "temperature": 0.9, "seed": 11 + i} for i, v in enumerate(VOICES)),
    ]
    wide = LlamaBatchEngine(chat._llm, n_ctx=2048, n_slots=8, n_threads=chat.n_threads, short=0)
    reference = together(wide, calls)
    assert wide.cells == 8 * 2048
    wide.close()
    pooled = fresh(chat)
    assert pooled.cells == 0  # nothing is allocated before a call needs it
    results = together(pooled, calls)
    assert logprobs(results[0]) == logprobs(reference[0])
    assert [r.text for r in results[1:]] == [r.text for r in reference[1:]]
    assert pooled.cells == 2 * 4 * 512 + 2 * 2048  # both pools were busy at once, so both are open
    pooled.submit(calls[0]["tokens"], max_tokens=0)  # the long pool alone: the idle short pool stays open
    assert pooled.cells == 2 * 4 * 512 + 2 * 2048
    pooled.close()
    phases = fresh(chat)
    phases.submit(**calls[2])
    assert phases.cells == 8 * 512
    long_alone = phases.submit(**calls[0])  # the next phase opens the long pool and closes the idle short one
    assert phases.cells == 2 * 2048 and phases.stats["contexts_opened"] == 2
    assert logprobs(long_alone) == logprobs(reference[0])
    phases.close()


@pytest.mark.parametrize(("temperature", "penalty"), [(0.8, 1.1), (0.0, 1.0)])
def test_the_grammar_over_the_best_candidates_first_draws_what_the_whole_vocabulary_would(chat, monkeypatch, temperature, penalty):
    """llama_sampling.py: a constrained reply, token for token, is the one the chain with the
    grammar over the whole vocabulary gives, for a sampled (with a penalty) and a greedy reply."""
    from functools import partial

    import ethos.agents.models.llama_pools as llama_pools
    from ethos.agents.models import llama_sampling
    from ethos.personas.format import persona_grammar

    engine, tokens = chat.engine, prompt(chat, VOICES[0])
    settings = {"max_tokens": 160, "temperature": temperature, "seed": 7, "grammar": persona_grammar(3), "repeat_penalty": penalty}
    fast = engine.submit(tokens, **settings)
    monkeypatch.setattr(llama_pools, "sampler_chain", partial(llama_sampling.sampler_chain, grammar_first=True))
    whole = engine.submit(tokens, **settings)
    assert fast.text == whole.text and fast.completion_tokens == whole.completion_tokens > 20


def test_a_reply_that_keeps_special_tokens_ends_with_its_end_of_turn_token(chat):
    """The reference's decoding keeps the end-of-turn token's text (transformers' decode without
    skip_special_tokens); otherwise the reply is the same, token for token and in its streamed pieces."""
    call = {"tokens": chat._tokens([{"role": "user", "content": "Say hello in three words."}]), "max_tokens": 60, "temperature": 0.0}
    plain = chat.engine.submit(**call)
    streamed: list[str] = []
    kept = chat.engine.submit(**call, special=True, on_text=streamed.append)
    assert plain.completion_tokens < 60  # it ended at the end-of-turn token, not at the budget
    assert kept.text == plain.text + "<|im_end|>" and "".join(streamed) == kept.text
    assert kept.completion_tokens == plain.completion_tokens
    cut = chat.engine.submit(**call | {"max_tokens": 5}, special=True)  # cut by the budget: no end token to keep
    assert cut.text == chat.engine.submit(**call | {"max_tokens": 5}).text
