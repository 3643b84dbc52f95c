"""Benchmark: a constrained token against a free one on the embedded model, and the persona set
with the grammar checked over the best candidates first (llama_sampling.py) against the grammar
over the whole vocabulary at every token (the chain's way, the earlier default). Each leg generates
the README run's persona requests (6 personas, 480 new tokens, temperature 0.8, penalty 1.1) for
`--seeds` seeds, in this process, alternating; it prints seconds per token of each leg, their ratio
to free text, how often the best candidates sufficed, and whether both ways give the same replies.

    .venv/bin/python bench/bench_constrained.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

from ethos.agents.models import llama_pools, llama_sampling, load_backend
from ethos.personas.format import persona_grammar, persona_json_schema
from ethos.personas.seed_prompt import persona_messages

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=480)
    args = parser.parse_args()
    backend = load_backend("embedded")
    messages = persona_messages(SITUATION, 6)
    made = []
    real = llama_sampling.sampler_chain

    def leg(name: str, seed: int) -> tuple[float, int, str]:
        llama_pools.sampler_chain = partial(real, grammar_first=name == "grammar first") if name != "free" else real
        stats = backend.chat._engine.stats if hasattr(backend.chat, "_engine") else None
        before = stats["generated"] if stats else 0
        started = time.perf_counter()
        if name == "free":
            text = backend.complete(messages, role="persona_generator", max_tokens=args.tokens, temperature=0.8, seed=seed)
        else:
            made.append(sampler := [])
            original = llama_sampling.ConstrainedSampler.free

            def counted(self, original=original, sampler=sampler):
                sampler.append(dict(self.checked))
                original(self)

            llama_sampling.ConstrainedSampler.free = counted
            text, _ = backend.complete_constrained(
                messages, grammar=persona_grammar(6), json_schema=persona_json_schema(6), role="persona_generator",
                max_tokens=args.tokens, temperature=0.8, seed=seed, repeat_penalty=1.1,
            )  # fmt: skip
            llama_sampling.ConstrainedSampler.free = original
        seconds = time.perf_counter() - started
        tokens = (stats["generated"] - before) if stats else len(text.split())
        return seconds, tokens, text

    legs = ("free", "grammar first", "best candidates first")
    per_token = {name: [] for name in legs}
    texts = {name: [] for name in legs}
    leg("free", 999)  # warm: the model loaded, its pools open
    for seed in range(args.seeds):
        for name in legs:
            seconds, tokens, text = leg(name, seed)
            per_token[name].append(seconds / max(tokens, 1))
            texts[name].append(text)
            print(f"seed {seed} {name:<22}{tokens:>6} tokens {seconds:7.2f} s {1000 * seconds / max(tokens, 1):7.2f} ms/token", flush=True)
    free = statistics.median(per_token["free"])
    print(f"\n{'leg':<24}{'ms/token':>10}{'x free':>8}")
    for name in legs:
        value = statistics.median(per_token[name])
        print(f"{name:<24}{1000 * value:>10.2f}{value / free:>8.2f}")
    subset = sum(c["subset"] for calls in made for c in calls)
    whole = sum(c["whole"] for calls in made for c in calls)
    print(f"\nbest candidates sufficed for {subset} of {subset + whole} constrained tokens")
    print(f"the same replies both ways: {texts['grammar first'] == texts['best candidates first']}")


if __name__ == "__main__":
    main()
