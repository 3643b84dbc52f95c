"""Benchmark: every method under both protocols, paired on the same items, with cluster intervals.

    .venv/bin/python bench/bench_protocols.py --data ../shared/vital --out /tmp/protocols [--limit 8]
        [--tasks distributional-moralchoice,...] [--protocols reference,ethos] [--analyse-only]

Runs `ethos eval --method all` under `--protocol reference` (with the ablation rows that add each of
this project's choices to ethosagents: ethos-letters, ethos-prompts, ethos-weights) and under
`--protocol ethos`, on the same spread sample, with the embedded model at the published budgets.
The model-call cache is kept, so a call both protocols send alike runs once.

Then prints, per task, each row's primary metric with its 95% interval (bootstrap over questions),
and paired differences on the same items (evaluation/compare.py), each with its cluster interval:
ethos minus reference for every method, each ablation row minus ethosagents, and ethosagents minus
every baseline under each protocol. A difference "holds" when its interval leaves out 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ethos.evaluation.compare import item_scores, paired
from ethos.evaluation.metrics import bootstrap_ci
from ethos.evaluation.tasks import METHODS, TASKS

ABLATIONS = ("ethos-letters", "ethos-prompts", "ethos-weights")
METRICS = {
    "steerable-opinionqa": ("most_likely_correct", True),
    "overton-vk": ("embedding_coverage", True),
    "steerable-vk": ("accuracy", True),
}  # the rest: JS distance, lower is better


def show(d: dict) -> str:
    if d["n"] < 2:
        return "n/a"
    return f"{d['mean']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}] (n={d['n']}, better/worse {d['better']}/{d['worse']})" + (
        "  holds" if d["holds"] else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--tasks", default="distributional-moralchoice,distributional-globalopinionqa,steerable-opinionqa,overton-vk")
    parser.add_argument("--max-concurrency", default="4")
    parser.add_argument("--protocols", default="reference,ethos", help="the protocols to run (all that exist are analysed)")
    parser.add_argument("--analyse-only", action="store_true", help="only read the folders an earlier run wrote")
    args = parser.parse_args()
    from ethos.cli import main as ethos

    tasks = args.tasks.split(",")
    for protocol in args.protocols.split(","):
        if args.analyse_only:
            break
        argv = [
            "eval",
            "--task",
            args.tasks,
            "--data",
            str(args.data),
            "--limit",
            str(args.limit),
            "--method",
            "all",
            "--protocol",
            protocol,
            "--out",
            str(args.out / protocol),
            "--no-progress",
            "--max-concurrency",
            args.max_concurrency,
        ]
        if protocol == "reference":
            argv += [x for name in ABLATIONS for x in ("--ablation", name)]
        code = ethos(argv)
        if code not in (0, 1):  # 1: some items failed; they are reported, not fatal here
            sys.exit(code)
    for task in tasks:
        folder = {p: (args.out / p / task if (args.out / p / task).is_dir() else args.out / p) for p in ("reference", "ethos")}
        metric, higher = METRICS.get(task, ("jsd", False))
        print(f"\n{task}: {metric} ({'higher' if higher else 'lower'} is better)")
        scores = {}
        for protocol, base in folder.items():
            for run in sorted(base.iterdir()) if base.is_dir() else []:
                if (run / "predictions.json").is_file():
                    scores[(protocol, run.name)] = item_scores(TASKS[task], metric, run)
        for (protocol, name), values in scores.items():
            vals = [v for v, _ in values.values()]
            low, high = bootstrap_ci(vals, clusters=[q for _, q in values.values()])
            print(f"  {protocol:9} {name:32} {np.mean(vals):.3f} [{low:.3f}, {high:.3f}]  n={len(vals)}")
        print("  paired, ethos protocol minus reference protocol, same method:")
        for method in METHODS:
            ref, ours = scores.get(("reference", method)), scores.get(("ethos", f"{method}+protocol-ethos"))
            if ref and ours:
                print(f"    {method:12} {show(paired(ref, ours, higher))}")
        print("  paired, ablation row minus ethosagents (reference protocol):")
        for name in ABLATIONS:
            row = scores.get(("reference", f"ethosagents+{name}"))
            if row and ("reference", "ethosagents") in scores:
                print(f"    {name:14} {show(paired(scores[('reference', 'ethosagents')], row, higher))}")
        for protocol, suffix in (("reference", ""), ("ethos", "+protocol-ethos")):
            ours = scores.get((protocol, f"ethosagents{suffix}"))
            if not ours:
                continue
            print(f"  paired, ethosagents minus each baseline ({protocol} protocol):")
            for method in METHODS[:-1]:
                base = scores.get((protocol, f"{method}{suffix}"))
                if base:
                    print(f"    {method:12} {show(paired(base, ours, higher))}")


if __name__ == "__main__":
    main()
