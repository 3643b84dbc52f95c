"""Batched decoding on the real embedded model: a call's result does not depend on what it was batched with."""

import threading

import pytest

from ethos.agents.models import load_backend
from ethos.errors import EthosError

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."
VOICES = ["a nurse", "a lawyer", "a hospital chaplain", "the patient's daughter"]


@pytest.fixture(scope="module")
def chat():
    return load_backend("embedded").chat


def prompt(chat, voice: str, prefix: str = "") -> list[int]:
    return chat._tokens([{"role": "system", "content": "You comment on health-care ethics."},
                         {"role": "user", "content": f"{SITUATION} Comment as {voice}."}], prefix)


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


def test_option_probabilities_match_alone_and_batched(chat):
    engine = chat.engine
    probe = {"tokens": prompt(chat, VOICES[3]), "max_tokens": 0, "top_logprobs": 10}
    alone = engine.submit(**probe).top
    others = [{"tokens": prompt(chat, v), "max_tokens": 16, "temperature": 0.7, "seed": 1} for v in VOICES[:3]]
    batched = together(engine, [*others, probe])[-1].top
    assert [t["token"] for t in batched] == [t["token"] for t in alone]
    # llama.cpp's CPU kernels are not batch-invariant: a step that also reads other prompts (a larger
    # ubatch), or a cached prefix computed in such a step, moved these logprobs by up to 0.15 nats
    # (the same for any prompt content); with only generating calls or cached prompts, they are equal.
    assert max(abs(a["logprob"] - b["logprob"]) for a, b in zip(alone, batched)) < 0.3


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
    choice = engine.submit(prompt(chat, VOICES[0]), max_tokens=0)
    label = choice.top[0]["token"]
    continued = prompt(chat, VOICES[0], prefix=label)
    engine.submit(continued, max_tokens=8, temperature=0.0)
    evaluated = engine.stats["prompt_evaluated"] - before["prompt_evaluated"]
    # The continuation reads only what follows the choice call's prompt (plus the re-read last token).
    assert evaluated <= len(prompt(chat, VOICES[0])) + (len(continued) - len(prompt(chat, VOICES[0]))) + 1
    siblings = together(engine, [{"tokens": prompt(chat, v), "max_tokens": 0} for v in VOICES])
    assert all(s.top for s in siblings)
    prompts = [prompt(chat, v) for v in VOICES]
    common = next(i for i, column in enumerate(zip(*prompts)) if len(set(column)) > 1)
    assert common > 30  # instructions and situation
    # Each prompt's shared part is read once at most: the first voice's is cached whole already.
    read = engine.stats["prompt_evaluated"] - before["prompt_evaluated"] - evaluated
    assert read <= sum(len(p) for p in prompts) - len(VOICES) * common + len(VOICES)


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

    monkeypatch.setattr(engine, "_sampler", broken_sampler)
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
