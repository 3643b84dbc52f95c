"""Benchmark: how many persona slots the generator fills, and with how many calls (embedded model).

    .venv/bin/python bench/bench_persona_yield.py --data ../shared/vital [--items 10]
        [--task distributional-moralchoice] [--attempts 2,4] [--followup full,missing] [--persona-tokens 480]

Runs only the seed-persona step of the graph (the published budgets by default), no cache, on a
spread sample of the task's items, once per follow-up strategy and `--attempts` bound. Prints the share of slots that
were generated (the rest are library top-ups), the generator calls per item, and the seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from langgraph.runtime import Runtime

from ethos.evaluation.tasks import TASKS, load_task, sample_items, task_file
from ethos.graph.context import Context
from ethos.graph.nodes import seed_personas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--task", default="distributional-moralchoice")
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--attempts", default="2,4", help="the --persona-attempts bounds to compare")
    parser.add_argument("--persona-tokens", type=int, default=Context().persona_tokens)
    parser.add_argument("--followup", default="full,missing", help="the --persona-followup strategies to compare")
    args = parser.parse_args()
    task = TASKS[args.task]
    items = sample_items(load_task(task, task_file(task, args.data)), args.items)
    base = Context(persona_tokens=args.persona_tokens)
    base.load_models(None)  # no call cache: every call runs
    print(f"{args.task}, {len(items)} items, embedded model, {base.n_personas} personas of {args.persona_tokens} tokens, no cache")
    for followup, attempts in ((f, int(a)) for f in args.followup.split(",") for a in args.attempts.split(",")):
        ctx = base.replace(persona_attempts=attempts, persona_followup=followup)
        generated = calls = 0
        seconds = []
        for _, request in items:
            started = time.perf_counter()
            report = seed_personas(request, Runtime(context=ctx))["persona_report"]
            seconds.append(time.perf_counter() - started)
            generated += report["generated"]
            calls += report["attempts"]
        slots = ctx.n_personas * len(items)
        print(
            f"  --persona-followup {followup:7} --persona-attempts {attempts}: {generated} of {slots} slots generated ({generated / slots:.0%}), "
            f"{calls / len(items):.2f} generator calls per item, {statistics.mean(seconds):.1f} s per item"
        )


if __name__ == "__main__":
    main()
