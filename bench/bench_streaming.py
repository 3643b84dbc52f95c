"""How soon a user sees something: one Overton run on the embedded model, streamed as `ethos run` on
a terminal streams it (LangGraph's `messages` mode). Prints, in seconds from the start: the first
streamed piece (the persona generator writing), the end of persona generation (the first output
before streaming), the first persona agent's first piece, the first finished comment, and the end.

    python bench/bench_streaming.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from ethos.agents.models import use_cache
from ethos.graph.builder import graph
from ethos.graph.context import Context

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def one_run(seed: int) -> dict[str, float]:
    ctx = Context(seed=seed)
    started, seen = time.perf_counter(), {}

    def mark(name: str) -> None:
        seen.setdefault(name, time.perf_counter() - started)

    for mode, data in graph.stream({"situation": SITUATION}, context=ctx, stream_mode=["messages", "updates"]):
        if mode == "messages":
            chunk, metadata = data
            if chunk.content:
                mark("first piece")
                if metadata.get("ethos_role") == "persona_agent":
                    mark("first agent piece")
        elif "seed_personas" in data:
            mark("personas done (first output without streaming)")
        elif "persona_agent" in data:
            mark("first comment done")
    mark("run done")
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    use_cache(Context().model("embedded"), None)  # every call runs
    runs = [one_run(seed) for seed in range(args.runs)]
    print(f"embedded model, Overton, 6 personas, {args.runs} runs (seeds 0..{args.runs - 1}); seconds from the start, median [min, max]:")
    for name in runs[0]:
        values = [r[name] for r in runs]
        print(f"  {name:48} {statistics.median(values):6.2f} [{min(values):.2f}, {max(values):.2f}]")


if __name__ == "__main__":
    main()
